"""Feature-flag evaluation (DESIGN §9): a pure function of the flag's state,
the subject and the time, so the API, workers and tests agree on every answer.

Order of the rules, first match wins:

1. ``expired``  the control is past ``expires_at``: the flag is off for everyone,
   allow list included (an expired control is inactive on every read);
2. ``deny``     the subject is on the deny list: off;
3. ``allow``    the subject is on the allow list: on, even while the rollout is
   disabled (so a team can try a feature before anyone else);
4. ``disabled`` the flag is switched off: off;
5. ``rollout``  deterministic bucketing: the first 8 bytes of
   ``sha256("<name>:<subject>")`` as an unsigned big-endian integer, mod 10,000,
   is the subject's bucket; it is in when ``bucket < percentage * 100``. A
   subject's bucket never changes, so raising the percentage only adds
   subjects, and each flag has its own independent buckets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

BUCKETS = 10_000


@dataclass(frozen=True)
class FlagState:
    """What a ``feature:<name>`` control says, independent of the database."""

    name: str
    enabled: bool
    percentage: Decimal = Decimal(0)
    allow: frozenset[str] = frozenset()
    deny: frozenset[str] = frozenset()
    expires_at: datetime | None = None

    @classmethod
    def from_value(
        cls,
        name: str,
        *,
        enabled: bool,
        value: Mapping[str, Any],
        expires_at: datetime | None,
    ) -> FlagState:
        """Build it from a control's columns (``value`` holds the rollout)."""
        return cls(
            name=name,
            enabled=enabled,
            percentage=_percentage(value.get("percentage")),
            allow=_subjects(value.get("allow")),
            deny=_subjects(value.get("deny")),
            expires_at=expires_at,
        )


@dataclass(frozen=True)
class FlagDecision:
    enabled: bool
    reason: str  # expired | deny | allow | disabled | rollout


def bucket(name: str, subject: str) -> int:
    """The subject's bucket for this flag, in [0, 10000)."""
    digest = hashlib.sha256(f"{name}:{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def evaluate(flag: FlagState, subject: str, *, now: datetime) -> FlagDecision:
    """Is ``flag`` on for ``subject`` at ``now``? See the module docstring."""
    if flag.expires_at is not None and flag.expires_at <= now:
        return FlagDecision(False, "expired")
    if subject in flag.deny:
        return FlagDecision(False, "deny")
    if subject in flag.allow:
        return FlagDecision(True, "allow")
    if not flag.enabled:
        return FlagDecision(False, "disabled")
    threshold = int(flag.percentage * 100)  # percentages carry ≤ 2 decimals
    return FlagDecision(bucket(flag.name, subject) < threshold, "rollout")


def _percentage(raw: Any) -> Decimal:
    try:
        value = Decimal(str(raw)) if raw is not None else Decimal(0)
    except InvalidOperation:
        return Decimal(0)
    if not value.is_finite():
        return Decimal(0)
    return min(max(value, Decimal(0)), Decimal(100))


def _subjects(raw: Any) -> frozenset[str]:
    if not isinstance(raw, Iterable) or isinstance(raw, str | bytes):
        return frozenset()
    return frozenset(str(s) for s in raw)


def flag_state(control: Any) -> FlagState:
    """The state of a ``feature:<name>`` control (any object with its columns)."""
    return FlagState.from_value(
        control.key.removeprefix("feature:"),
        enabled=control.enabled,
        value=control.value if isinstance(control.value, Mapping) else {},
        expires_at=control.expires_at,
    )
