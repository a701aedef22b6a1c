"""Would a freeze or a pause forbid this step now? (DESIGN §8: it then waits as
``blocked``; it does not fail.)

The executor asks before it claims a step and beat asks again for blocked
steps (``resume_blocked_steps``), so a step that is forbidden neither runs nor
leaves a refusal in the audit log every few seconds. The answer comes from the
controls through the payouts gate (one query, the dispatcher's own view), and
follows the rule the rails actions enforce inside their transaction
(``controls.services.rails``): a global freeze stops rerouting and transfers; so
does a freeze or pause of the receiving bank, or a freeze of the source bank.
A pause only protects: ``pause_bank`` steps are never blocked.
"""

from __future__ import annotations

import uuid
from typing import Any

from molam_ops.lib.coerce import uuid_or_none
from payouts import gates
from payouts.models import TreasuryAccount


def _banks_of(action: str, fields: dict[str, Any]) -> tuple[Any, Any]:
    if action == "reroute_payouts":
        return uuid_or_none(fields.get("from_bank_id")), uuid_or_none(
            fields.get("to_bank_id")
        )
    if action == "transfer_funds":
        ids = [
            uuid_or_none(fields.get("from_account_id")),
            uuid_or_none(fields.get("to_account_id")),
        ]
        # keyed by account id; a missing (None) id finds no bank
        banks: dict[uuid.UUID | None, Any] = dict(
            TreasuryAccount.objects.filter(pk__in=[i for i in ids if i]).values_list(
                "pk", "bank_profile_id"
            )
        )
        return banks.get(ids[0]), banks.get(ids[1])
    return None, None


def step_blockers(
    action: str, fields: dict[str, Any], blocked: gates.Blocked | None = None
) -> list[str]:
    """The control keys that forbid this step now (empty: it may run)."""
    if action not in ("reroute_payouts", "transfer_funds"):
        return []
    blocked = blocked or gates.gate().blocked()
    if blocked.global_freeze:
        return [gates.GLOBAL_FREEZE]
    source, destination = _banks_of(action, fields)
    keys = []
    if source and blocked.banks.get(source) == gates.BANK_FREEZE:
        keys.append(f"freeze_bank_{source}")
    if destination and destination in blocked.banks:
        keys.append(f"{blocked.banks[destination]}_{destination}")
    return keys
