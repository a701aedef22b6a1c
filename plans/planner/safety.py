"""The safety rule every plan obeys, whatever its constraints omit.

No step moves payouts or funds *into* a bank that is paused, frozen (a freeze
of the bank or a global freeze), red (``payouts/health.py``), whose circuit
breaker is open or half-open (still being probed), nor into a currency the
bank does not serve. ``refusal`` says why a bank may not receive, as a short
machine-readable code; planners, the SIRA client and the plan's ``unmet``
list all speak these codes.

An operator's override (``plan_params.override.allow_banks``) lifts the rule
for the banks it names: they may receive despite a pause, a freeze, a red
health or a breaker. It never makes a bank serve a currency it does not, and
an unknown bank stays unknown.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from plans.planner.types import (  # noqa: F401  (re-exported: the rule's default)
    DEFAULT_MIN_SUCCESS_RATE,
    BankSnapshot,
    Snapshot,
)

UNKNOWN_BANK = "unknown_bank"
PAUSED = "paused"
FROZEN = "frozen"
RED = "red"
BREAKER_OPEN = "breaker_open"
BREAKER_HALF_OPEN = "breaker_half_open"
CURRENCY_NOT_SERVED = "currency_not_served"

# what an override may lift: the bank's state, not what it physically serves
OVERRIDABLE = frozenset({PAUSED, FROZEN, RED, BREAKER_OPEN, BREAKER_HALF_OPEN})


def refusal(
    snapshot: Snapshot,
    bank_id: str,
    currency: str | None,
    *,
    allow: Collection[str] = (),
) -> str | None:
    """None when ``bank_id`` may receive ``currency`` (any currency when
    None); else why not. ``allow``: bank ids an operator's override names."""
    bank = snapshot.bank(str(bank_id))
    if bank is None:
        return UNKNOWN_BANK
    return bank_refusal(bank, currency, allowed=bank.id in allow)


def bank_refusal(
    bank: BankSnapshot, currency: str | None, *, allowed: bool = False
) -> str | None:
    """``refusal`` for a bank in hand; the order names the strongest reason."""
    if currency is not None and currency not in bank.currencies:
        return CURRENCY_NOT_SERVED
    reason = _state_refusal(bank)
    if reason is not None and allowed and reason in OVERRIDABLE:
        return None
    return reason


def _state_refusal(bank: BankSnapshot) -> str | None:
    if bank.frozen:
        return FROZEN
    if bank.paused:
        return PAUSED
    if bank.circuit_state == "open":
        return BREAKER_OPEN
    if bank.circuit_state == "half_open":
        return BREAKER_HALF_OPEN
    if bank.health == "red":
        return RED
    return None


def scoped(
    snapshot: Snapshot,
    currencies: Collection[str] | None = None,
    banks: Collection[str] | None = None,
) -> Snapshot:
    """The part of ``snapshot`` a plan may touch (``plan_params.currencies``
    and ``plan_params.banks``): other banks neither send nor receive, other
    currencies' payouts and accounts are left out. A share (``max_bank_share``)
    is then a share of what the scope holds."""
    if currencies is None and banks is None:
        return snapshot
    cur = None if currencies is None else frozenset(currencies)
    ids = None if banks is None else frozenset(str(b) for b in banks)

    def keep(bank_id: str, currency: str | None) -> bool:
        in_banks = ids is None or bank_id in ids
        return in_banks and (cur is None or currency is None or currency in cur)

    return replace(
        snapshot,
        banks=tuple(b for b in snapshot.banks if keep(b.id, None)),
        payout_classes=tuple(
            c for c in snapshot.payout_classes if keep(c.bank_id, c.currency)
        ),
        accounts=tuple(a for a in snapshot.accounts if keep(a.bank_id, a.currency)),
    )


def unmet(
    constraint: str,
    reason: str,
    message: str,
    *,
    bank_id: str | None = None,
    currency: str | None = None,
) -> dict[str, str]:
    """One entry of ``details.unmet``: what a plan could not do, and why."""
    entry = {"constraint": constraint, "reason": reason, "message": message}
    if bank_id is not None:
        entry["bank_id"] = bank_id
    if currency is not None:
        entry["currency"] = currency
    return entry
