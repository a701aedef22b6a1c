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
from decimal import Decimal

from plans.planner.types import BankSnapshot, Snapshot

UNKNOWN_BANK = "unknown_bank"
PAUSED = "paused"
FROZEN = "frozen"
RED = "red"
BREAKER_OPEN = "breaker_open"
BREAKER_HALF_OPEN = "breaker_half_open"
CURRENCY_NOT_SERVED = "currency_not_served"

# what an override may lift: the bank's state, not what it physically serves
OVERRIDABLE = frozenset({PAUSED, FROZEN, RED, BREAKER_OPEN, BREAKER_HALF_OPEN})

# payouts/health.py: below YELLOW_MIN_SUCCESS a bank is red. The planner stays
# Django-free, so the figure is repeated here; tests/plans/test_planner_safety.py
# holds the two equal.
DEFAULT_MIN_SUCCESS_RATE = Decimal("0.90")


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
