"""SIRA's steps made into the steps a plan runs (DESIGN §8).

SIRA may name banks as the seed does — ``{"action": "reroute_payouts",
"from_bank": "bank-a", "to_bank": "bank-b", "count": 567,
"estimated_savings": 234.50}`` — or by id as the local planner writes them
(``from_bank_id``, ``to_bank_id``, ``currency``, ``amount``). Either way each
bank (and treasury account) must be one of the plan's input snapshot: a
reference is a bank's id or its name, the name matched case-insensitively
and only when exactly one bank bears it. Every step that moves payouts or
funds into a bank is held to the planner's safety rule
(:func:`plans.planner.safety.refusal`): nothing into a paused, frozen, red or
open/half-open-breaker bank, nor into a currency it does not serve.

One refused step refuses the whole answer (:class:`StepRefused`): a plan
that is partly SIRA's and partly dropped would not be the plan SIRA costed,
so the local planner takes over instead.

A seed-shaped reroute may leave ``currency`` out; it then runs on the
oldest pending payouts of the source in any currency the destination serves
(``controls.services.rails.reroute``), and its ``amount``, if any, is kept
as ``quoted_amount`` rather than used as a cap: a cap needs a currency.

A plan limited to some currencies (``plan_params.currencies``) holds SIRA's
reroutes to them (``out_of_scope`` otherwise): the scoped snapshot already
keeps other banks and accounts out of reach, but not a step's own
``currency``. A reroute without one would move any currency: under a
one-currency scope it gets that currency (its ``amount`` still only quoted:
SIRA did not say in which currency it counted), under a wider scope it is
refused.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from typing import Any

from plans.planner.safety import refusal
from plans.planner.types import BankSnapshot, Snapshot

# step fields carried over as they are (the action ignores what it does not use)
_REROUTE_KEPT = ("count", "amount_min", "amount_max", "estimated_savings", "reason")
_RECORDED = (
    "action",
    "from_bank",
    "to_bank",
    "from_bank_id",
    "to_bank_id",
    "from_account_id",
    "to_account_id",
    "bank_profile_id",
    "currency",
    "count",
    "amount",
    "estimated_savings",
)


class StepRefused(ValueError):
    """Step ``index`` of SIRA's answer cannot be planned; ``reason`` is a code
    (``unknown_bank``, ``ambiguous_bank``, ``same_bank``, ``unknown_account``,
    ``out_of_scope``, or the safety rule's: ``paused``, ``frozen``, ``red``,
    ``breaker_open``, ``breaker_half_open``, ``currency_not_served``) and
    ``detail`` says it in words."""

    def __init__(self, index: int, step: Any, reason: str, detail: str) -> None:
        super().__init__(f"steps/{index}: {reason}: {detail}")
        self.index = index
        self.step = step
        self.reason = reason
        self.detail = detail

    def as_dict(self) -> dict[str, Any]:
        """What the plan's details record: the step's known fields only (an
        answer may carry anything else, at any length)."""
        step = self.step if isinstance(self.step, Mapping) else {}
        return {
            "index": self.index,
            "step": {k: step[k] for k in _RECORDED if k in step},
            "reason": self.reason,
            "detail": self.detail,
        }


class _Refusal(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


class _Banks:
    """The snapshot's banks, looked up by id or by (unique) name."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.by_id = {b.id.lower(): b for b in snapshot.banks}
        self.by_name: dict[str, list[BankSnapshot]] = defaultdict(list)
        for bank in snapshot.banks:
            self.by_name[_name_key(bank.name)].append(bank)

    def find(self, ref: Any) -> BankSnapshot:
        text = str(ref).strip()
        bank = self.by_id.get(text.lower())
        if bank is not None:
            return bank
        named = self.by_name.get(_name_key(text), [])
        if len(named) == 1:
            return named[0]
        if named:
            raise _Refusal("ambiguous_bank", f"{len(named)} banks are named {text!r}")
        raise _Refusal("unknown_bank", f"no bank has the id or name {text!r}")


class _Check:
    """The snapshot's banks and accounts, the override's banks, and the
    plan's currency scope (None: every currency)."""

    def __init__(
        self,
        snapshot: Snapshot,
        allow: Collection[str],
        currencies: Collection[str] | None,
    ) -> None:
        self.snapshot = snapshot
        self.banks = _Banks(snapshot)
        self.accounts = {a.id.lower(): a for a in snapshot.accounts}
        self.allow = frozenset(str(b) for b in allow)
        self.currencies = None if currencies is None else frozenset(currencies)

    def scoped_currency(self, currency: str | None) -> str | None:
        """A reroute's currency under the plan's scope (see the module)."""
        if self.currencies is None:
            return currency
        scope = ", ".join(sorted(self.currencies))
        if currency:
            if currency not in self.currencies:
                raise _Refusal(
                    "out_of_scope",
                    f"{currency} is outside the plan's currencies ({scope})",
                )
            return currency
        if len(self.currencies) == 1:
            (only,) = self.currencies
            return only
        raise _Refusal(
            "out_of_scope",
            "no currency: it would move any currency the destination serves,"
            f" and the plan is limited to {scope}",
        )

    def safe(self, bank: BankSnapshot, currency: str | None) -> None:
        why = refusal(self.snapshot, bank.id, currency, allow=self.allow)
        if why is not None:
            where = f" ({currency})" if currency else ""
            raise _Refusal(why, f"{bank.name}{where} may not receive: {why}")


def _reroute(step: Mapping[str, Any], check: _Check) -> dict[str, Any]:
    banks = check.banks
    source = banks.find(step.get("from_bank_id", step.get("from_bank")))
    destination = banks.find(step.get("to_bank_id", step.get("to_bank")))
    if source.id == destination.id:
        raise _Refusal("same_bank", f"{source.name} to itself")
    said = step.get("currency")
    currency = check.scoped_currency(said)
    check.safe(destination, currency)
    out: dict[str, Any] = {
        "action": "reroute_payouts",
        "from_bank_id": source.id,
        "to_bank_id": destination.id,
    }
    if currency:
        out["currency"] = currency
    for key in _REROUTE_KEPT:
        if step.get(key) is not None:
            out[key] = step[key]
    if step.get("amount") is not None:
        out["amount" if said else "quoted_amount"] = step["amount"]
    # what SIRA called the banks, for whoever reads the plan
    for key in ("from_bank", "to_bank"):
        if key in step:
            out[f"sira_{key}"] = step[key]
    return out


def _transfer(step: Mapping[str, Any], check: _Check) -> dict[str, Any]:
    for key in ("from_account_id", "to_account_id"):
        if str(step[key]).lower() not in check.accounts:
            raise _Refusal("unknown_account", f"no treasury account {step[key]!r}")
    receiving = check.accounts[str(step["to_account_id"]).lower()]
    check.safe(check.banks.find(receiving.bank_id), receiving.currency)
    return dict(step)


def _pause(step: Mapping[str, Any], check: _Check) -> dict[str, Any]:
    # a pause only protects: the bank must exist, nothing more
    check.banks.find(step["bank_profile_id"])
    return dict(step)


def resolve_steps(
    steps: list[dict[str, Any]],
    snapshot: Snapshot | Mapping[str, Any],
    *,
    allow: Collection[str] = (),
    currencies: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """SIRA's schema-valid steps as the plan will store and run them: banks
    as ids of ``snapshot``; :class:`StepRefused` for the first step that names
    what the snapshot does not hold, breaks the safety rule (``allow``: the
    bank ids an operator's override lets receive despite their state) or
    reroutes outside the plan's ``currencies`` (None: no currency scope)."""
    if not isinstance(snapshot, Snapshot):
        snapshot = Snapshot.from_dict(snapshot)
    check = _Check(snapshot, allow, currencies)
    out = []
    for index, step in enumerate(steps):
        try:
            if step["action"] == "reroute_payouts":
                out.append(_reroute(step, check))
            elif step["action"] == "transfer_funds":
                out.append(_transfer(step, check))
            else:
                out.append(_pause(step, check))
        except _Refusal as exc:
            raise StepRefused(index, step, exc.reason, exc.detail) from None
    return out
