"""What a plan changes, computed when it is built, before anyone signs.

:func:`build` is called once by the generation worker with the plan's
snapshot and answer. It

* chooses and stores the payouts each ``reroute_payouts`` step will move
  (plans/services/plan_payouts.py);
* adds up, per bank and currency the plan touches, the pending payouts,
  their amount and their fees before and after, and the treasury balances a
  transfer moves (``details.preview``; totals in USD at the snapshot's rates);
* records the facts a plan's summary is rendered from, in each reader's
  language (``details.summary_facts``; plans/services/plan_summary.py).

Fees of a payout are the bank's ``fee_percent`` of its amount plus its
``fee_fixed`` (USD) converted at the snapshot's rate, as the planner prices
them (plans/planner/types.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum

from molam_ops.lib.coerce import decimal_or_none, uuid_or_none
from payouts.choices import PayoutStatus
from payouts.models import BankProfile, Payout, TreasuryAccount
from plans.models import Plan
from plans.services import plan_summary
from plans.services.plan_payouts import Chosen, payouts_url, select

CENT = Decimal("0.01")
REROUTE = "reroute_payouts"
TRANSFER = "transfer_funds"
PAUSE = "pause_bank"
FAILED_OUTCOMES = frozenset({"infeasible", "error"})

Pair = tuple[str, str]  # (bank id, currency)


# --- before and after ------------------------------------------------------------


@dataclass
class _Row:
    bank_id: str
    currency: str
    payouts: int = 0
    amount: Decimal = Decimal(0)
    delta_payouts: int = 0
    delta_amount: Decimal = Decimal(0)
    balance: Decimal | None = None
    delta_balance: Decimal = Decimal(0)
    touched_by: set[str] = field(default_factory=set)


def _rates(snapshot: dict[str, Any]) -> dict[str, Decimal]:
    rates = {"USD": Decimal(1)}
    for code, rate in (snapshot.get("usd_rates") or {}).items():
        value = decimal_or_none(rate)
        if value is not None and value > 0:
            rates[str(code)] = value
    return rates


def _rate(rates: dict[str, Decimal], currency: str) -> Decimal:
    # a currency without a rate counts as nothing in USD totals rather than
    # sinking the preview: the planner refuses such a snapshot anyway
    return rates.get(currency, Decimal(0))


def _accounts(
    snapshot: dict[str, Any], ids: Iterable[str]
) -> dict[str, dict[str, Any]]:
    known = {str(a["id"]): a for a in snapshot.get("accounts") or ()}
    missing = [i for i in ids if i not in known and uuid_or_none(i) is not None]
    for account in TreasuryAccount.objects.filter(pk__in=missing):
        known[str(account.id)] = {
            "id": str(account.id),
            "bank_id": str(account.bank_profile_id),
            "currency": account.currency,
            "balance": account.balance,
        }
    return known


def _pending(pairs: Iterable[Pair]) -> dict[Pair, tuple[int, Decimal]]:
    wanted = set(pairs)
    if not wanted:
        return {}
    rows = (
        Payout.objects.filter(
            status=PayoutStatus.PENDING,
            disputed=False,
            bank_profile_id__in={b for b, _c in wanted},
            currency__in={c for _b, c in wanted},
        )
        .values("bank_profile_id", "currency")
        .annotate(n=Count("id"), total=Sum("amount"))
    )
    out = {}
    for r in rows:
        pair = (str(r["bank_profile_id"]), r["currency"])
        if pair in wanted:
            out[pair] = (int(r["n"]), Decimal(r["total"] or 0))
    return out


def _banks(snapshot: dict[str, Any], ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    known = {str(b["id"]): b for b in snapshot.get("banks") or ()}
    missing = [i for i in ids if i not in known and uuid_or_none(i) is not None]
    for bank in BankProfile.objects.filter(pk__in=missing):
        known[str(bank.id)] = {
            "id": str(bank.id),
            "name": bank.name,
            "fee_percent": bank.fee_percent,
            "fee_fixed": bank.fee_fixed,
        }
    return known


def _balances(rows: dict[Pair, _Row], accounts: dict[str, dict[str, Any]]) -> None:
    """The treasury balance of each pair a transfer touches (one account per
    bank and currency)."""
    for known in accounts.values():
        held = rows.get((str(known["bank_id"]), str(known["currency"])))
        if held is not None and TRANSFER in held.touched_by:
            held.balance = decimal_or_none(known.get("balance")) or Decimal(0)


def _fee(bank: dict[str, Any], count: int, amount: Decimal, rate: Decimal) -> Decimal:
    """Fees of ``count`` payouts worth ``amount``, in their currency."""
    percent = decimal_or_none(bank.get("fee_percent")) or Decimal(0)
    fixed = decimal_or_none(bank.get("fee_fixed")) or Decimal(0)
    per_payout = fixed / rate if rate else Decimal(0)
    return percent * amount + per_payout * count


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def compute(
    plan_id: uuid.UUID | str,
    snapshot: dict[str, Any],
    steps: list[dict[str, Any]],
    chosen: dict[int, Chosen],
) -> dict[str, Any]:
    """``details.preview`` (see the module docstring)."""
    rows: dict[Pair, _Row] = {}

    def row(bank_id: str, currency: str) -> _Row:
        return rows.setdefault((bank_id, currency), _Row(bank_id, currency))

    rates = _rates(snapshot)
    moved_count, moved_usd, funds_usd, paused = 0, Decimal(0), Decimal(0), set()
    transfers = [s for s in steps if s.get("action") == TRANSFER]
    account_ids = [
        str(s.get(k)) for s in transfers for k in ("from_account_id", "to_account_id")
    ]
    accounts = _accounts(snapshot, account_ids)
    for index, step in enumerate(steps):
        action = step.get("action")
        if action == PAUSE:
            paused.add(str(step.get("bank_profile_id")))
        elif action == REROUTE and index in chosen:
            moves = chosen[index]
            currency = str(step["currency"])
            for bank, sign in ((step["from_bank_id"], -1), (step["to_bank_id"], 1)):
                r = row(str(bank), currency)
                r.delta_payouts += sign * moves.payouts
                r.delta_amount += sign * moves.amount
                r.touched_by.add(REROUTE)
            moved_count += moves.payouts
            moved_usd += moves.amount * _rate(rates, currency)
        elif action == TRANSFER:
            amount = decimal_or_none(step.get("amount")) or Decimal(0)
            ends = (
                (accounts.get(str(step.get("from_account_id"))), -1),
                (accounts.get(str(step.get("to_account_id"))), 1),
            )
            for account, sign in ends:
                if account is None:
                    continue
                r = row(str(account["bank_id"]), str(account["currency"]))
                r.delta_balance += sign * amount
                r.touched_by.add(TRANSFER)
            funds_usd += amount * _rate(rates, str(step.get("currency") or ""))
    _balances(rows, accounts)
    pending = _pending(rows)
    banks = _banks(snapshot, {r.bank_id for r in rows.values()} | paused)
    out, fees_before_usd, fees_after_usd = [], Decimal(0), Decimal(0)
    for (bank_id, currency), r in sorted(
        rows.items(), key=lambda kv: (kv[0][1], _name(banks, kv[0][0]), kv[0][0])
    ):
        count, amount = pending.get((bank_id, currency), (0, Decimal(0)))
        after_count, after_amount = count + r.delta_payouts, amount + r.delta_amount
        bank = banks.get(bank_id, {})
        rate = _rate(rates, currency)
        before_fee = _fee(bank, count, amount, rate)
        after_fee = _fee(bank, after_count, after_amount, rate)
        fees_before_usd += before_fee * rate
        fees_after_usd += after_fee * rate
        out.append(
            {
                "bank_id": bank_id,
                "bank_name": _name(banks, bank_id),
                "currency": currency,
                "payouts_before": count,
                "payouts_after": after_count,
                "amount_before": _money(amount),
                "amount_after": _money(after_amount),
                "fees_before": _money(before_fee),
                "fees_after": _money(after_fee),
                "balance_before": None if r.balance is None else _money(r.balance),
                "balance_after": (
                    None if r.balance is None else _money(r.balance + r.delta_balance)
                ),
            }
        )
    return {
        "rows": out,
        "totals": {
            "payouts_moved": moved_count,
            "amount_moved_usd": _money(moved_usd),
            "fees_before_usd": _money(fees_before_usd),
            "fees_after_usd": _money(fees_after_usd),
            "funds_moved_usd": _money(funds_usd),
            "banks_paused": len(paused),
        },
        "payouts_url": payouts_url(plan_id),
    }


def _name(banks: dict[str, dict[str, Any]], bank_id: str) -> str:
    return str((banks.get(bank_id) or {}).get("name") or bank_id)


def build(
    plan: Plan, snapshot: dict[str, Any] | None, outcome: dict[str, Any] | None
) -> dict[str, Any]:
    """The keys a built plan adds to its ``details``: ``preview``,
    ``selection`` (payouts chosen per step index) and ``summary_facts``;
    nothing for a plan that failed."""
    if not snapshot or not outcome or outcome.get("status") in FAILED_OUTCOMES:
        return {}
    steps = [dict(s) for s in outcome.get("steps") or () if isinstance(s, dict)]
    chosen = select(plan.id, steps)
    preview = compute(plan.id, snapshot, steps, chosen)
    moved: dict[str, Chosen] = {}
    for index, moves in chosen.items():
        currency = str(steps[index]["currency"])
        before = moved.get(currency, Chosen(0, Decimal(0)))
        moved[currency] = Chosen(
            before.payouts + moves.payouts, before.amount + moves.amount
        )
    return {
        "preview": preview,
        "selection": {str(i): m.payouts for i, m in sorted(chosen.items())},
        "summary_facts": plan_summary.facts(plan.plan_type, steps, preview, moved),
    }
