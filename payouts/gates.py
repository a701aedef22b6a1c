"""The dispatcher's port onto the controls: which banks may receive payouts now?

Freezes and pauses are the ``controls`` app's business, and dependencies point
from ``controls`` to ``payouts`` (DESIGN §1), never back. So the dispatcher
asks through this port, and ``controls/dispatch_gate.py`` plugs its answer in
from ``ControlsConfig.ready()``.

With no gate installed the dispatcher refuses to run rather than dispatching
blind: a dispatcher that cannot see a freeze must not send money.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

# why a payout may not go, as the gate reports it
GLOBAL_FREEZE = "freeze_global"
BANK_FREEZE = "freeze_bank"
BANK_PAUSE = "pause_bank"
# disputed since the claim, or moved out of "processing" (an operator's retry)
NOT_DISPATCHABLE = "disputed_or_moved"


@dataclass(frozen=True)
class Blocked:
    """A snapshot of the controls that stop payouts, read in one query."""

    global_freeze: bool = False
    # bank id → why it is blocked (BANK_FREEZE or BANK_PAUSE)
    banks: Mapping[uuid.UUID, str] = field(default_factory=dict)

    def reason_for(self, bank_profile_id: uuid.UUID) -> str | None:
        """Why a payout to this bank may not go now, or None when it may."""
        if self.global_freeze:
            return GLOBAL_FREEZE
        return self.banks.get(bank_profile_id)


class DispatchGate(Protocol):
    def blocked(self) -> Blocked:
        """The controls in force right now, for a claim; one database query."""
        ...

    def hold_reason(
        self, *, payout_id: uuid.UUID, bank_profile_id: uuid.UUID
    ) -> str | None:
        """Right before a claimed payout is sent: why it may not go now (a
        freeze, its bank's pause, a dispute since the claim, or it moved), or
        None. One database query, no cache: the dispatcher asks before every
        payout (DESIGN §9), which is what bounds freeze-to-effect."""
        ...


class GateNotInstalled(RuntimeError):
    """No app answered for the controls; dispatching would ignore freezes."""


_gate: DispatchGate | None = None


def set_gate(gate: DispatchGate | None) -> None:
    global _gate
    _gate = gate


def gate() -> DispatchGate:
    if _gate is None:
        raise GateNotInstalled(
            "no dispatch gate installed (is the controls app in INSTALLED_APPS?)"
        )
    return _gate
