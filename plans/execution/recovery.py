"""The seed's runbook, as code: "resume a stuck plan" and "roll back a plan".

Both are reads here (what would be done, and its summary per bank and
currency); the writes are the ops actions in ``plans.services.recovery``
(``resume_plan``, ``rollback_plan``), run through the runner by the API, the
admin and the management commands alike, so a dry run and the real run decide
alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from molam_ops.actions import idempotency
from payouts.models import BankProfile, Payout, TreasuryAccount
from plans.choices import StepStatus
from plans.execution import locks, progress
from plans.models import Plan, PlanStep

# --- execute_stuck_plan ---------------------------------------------------------

MARK_DONE = "mark_done"  # the effect committed: its stored response says so
RESET = "reset"  # the effect did not commit: run the step again
WAIT = "wait"  # its worker may be alive (lock held, or lease live): leave it
REQUEUE = "requeue"  # pending or blocked: the executor takes it


@dataclass(frozen=True)
class StuckStep:
    index: int
    action: str
    status: str
    decision: str
    attempts: int
    response: dict[str, Any] | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("response")
        return data


def _committed_response(plan_id: uuid.UUID, index: int) -> dict[str, Any] | None:
    """The stored 2xx response of the step's effect, if it committed."""
    return idempotency.committed_response(
        scope=progress.EXECUTOR.id, key=progress.step_key(plan_id, index)
    )


def review_stuck(plan: Plan, *, lock_free: bool) -> list[StuckStep]:
    """What ``execute_stuck_plan`` does with each unfinished step. A running
    step is judged only once its worker is gone (``locks.orphaned``): then its
    idempotency record tells whether its effect committed."""
    review = []
    unfinished = (
        PlanStep.objects.filter(plan=plan)
        .exclude(status__in=(StepStatus.DONE, StepStatus.CANCELLED))
        .order_by("index")
    )
    for step in unfinished:
        decision, response = REQUEUE, None
        if step.status == StepStatus.RUNNING:
            if not locks.orphaned(step, lock_held=lock_free):
                decision = WAIT
            else:
                response = _committed_response(plan.id, step.index)
                decision = MARK_DONE if response is not None else RESET
        elif step.status == StepStatus.FAILED:
            continue
        review.append(
            StuckStep(
                step.index, step.action, step.status, decision, step.attempts, response
            )
        )
    return review


def settles(review: list[StuckStep]) -> bool:
    """Does the review settle a running step (its worker gone)?"""
    return any(item.decision in (MARK_DONE, RESET) for item in review)


# --- rollback_failed_plan -------------------------------------------------------


@dataclass(frozen=True)
class Inverse:
    of_index: int
    action: str
    fields: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def inverse_steps(plan: Plan, *, undone: Iterable[int] = ()) -> list[Inverse]:
    """The inverse of each done step, latest first: payouts moved back, funds
    transferred back, and a bank resumed only if this plan paused it (a
    ``noop`` pause found it paused already).

    Resumes come first, against the strict reverse order: a risk plan pauses a
    bank then moves its payouts away, and moving them back to a bank still
    paused is refused (a pause forbids payouts to it).
    """
    reason = f"rollback of plan {plan.id}"
    skip = set(undone)
    resumes: list[Inverse] = []
    others: list[Inverse] = []
    done = PlanStep.objects.filter(plan=plan, status=StepStatus.DONE).order_by("-index")
    for step in done:
        result = step.result or {}
        if result.get("noop") or step.index in skip:
            continue
        if step.action == "pause_bank":
            fields = {"bank_profile_id": step.fields.get("bank_profile_id")}
            resumes.append(
                Inverse(step.index, "resume_bank", {**fields, "reason": reason})
            )
        elif step.action == "reroute_payouts":
            moved = result.get("reroute") or {}
            if moved.get("payout_ids"):
                fields = {
                    "from_bank_id": moved["to_bank_id"],
                    "to_bank_id": moved["from_bank_id"],
                    "count": len(moved["payout_ids"]),
                    "payout_ids": moved["payout_ids"],
                }
                if moved.get("currency"):  # a seed-shaped step may move several
                    fields["currency"] = moved["currency"]
                others.append(
                    Inverse(step.index, "reroute_payouts", {**fields, "reason": reason})
                )
        elif step.action == "transfer_funds":
            sent = result.get("transfer") or {}
            fields = {
                "from_account_id": sent.get("to_account_id"),
                "to_account_id": sent.get("from_account_id"),
                "amount": sent.get("amount"),
            }
            others.append(
                Inverse(step.index, "transfer_funds", {**fields, "reason": reason})
            )
    return resumes + others


def undone_indexes(plan: Plan) -> list[int]:
    """The steps an earlier, incomplete rollback already undid: a rerun goes
    on from there instead of moving them twice."""
    entries = ((plan.details or {}).get("rollback") or {}).get("steps") or []
    return [e["of_index"] for e in entries if e.get("status") in ("done", "noop")]


# --- summaries: counts per bank and currency ---------------------------------


@dataclass
class Line:
    """What a recovery does at one bank, in one currency."""

    bank: str
    currency: str
    payouts: int = 0
    amount: Decimal = Decimal("0")
    transferred: Decimal = Decimal("0")
    steps: int = 0
    resumed: bool = False
    payout_ids: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Line:
        return cls(
            bank=data["bank"],
            currency=data["currency"],
            payouts=int(data["payouts"]),
            amount=Decimal(data["amount"]),
            transferred=Decimal(data["transferred"]),
            steps=int(data["steps"]),
            resumed=bool(data["resumed"]),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "bank": self.bank,
            "currency": self.currency,
            "payouts": self.payouts,
            "amount": f"{self.amount:.2f}",
            "transferred": f"{self.transferred:.2f}",
            "steps": self.steps,
            "resumed": self.resumed,
        }


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def describe(line: Line, *, back: bool) -> str:
    """ "GTBank Ghana GHS: 12 payouts back, 3,400.00 GHS" (``back``: a
    rollback; else the steps a resume runs again)."""
    head = f"{line.bank} {line.currency}".strip() + ":"
    parts = []
    if line.steps:
        parts.append(f"{line.steps} step{'s' if line.steps != 1 else ''} to run")
    if line.payouts:
        moved = "back" if back else "to move"
        amount = f", {_money(line.amount, line.currency)}" if line.amount else ""
        parts.append(f"{line.payouts} payouts {moved}{amount}")
    if line.transferred:
        verb = "transferred back" if back else "to transfer"
        parts.append(f"{_money(line.transferred, line.currency)} {verb}")
    if line.resumed:
        parts.append("resumed")
    return f"{head} {', '.join(parts) or 'nothing'}"


class _Lines:
    """Lines keyed by (bank, currency), banks and accounts read once."""

    def __init__(self) -> None:
        self.lines: dict[tuple[str, str], Line] = {}
        self._banks: dict[str, str] = {}

    def bank_name(self, bank_id: Any) -> str:
        key = str(bank_id)
        if key not in self._banks:
            bank = BankProfile.objects.filter(pk=bank_id).only("name").first()
            self._banks[key] = bank.name if bank else key
        return self._banks[key]

    def at(self, bank: str, currency: str) -> Line:
        return self.lines.setdefault((bank, currency), Line(bank, currency))

    def payouts(self, bank_id: Any, currency: str, ids: list[str]) -> Line:
        line = self.at(self.bank_name(bank_id), currency)
        amounts = Payout.objects.filter(pk__in=ids).values_list("amount", flat=True)
        line.payouts += len(ids)
        line.amount += sum(amounts, Decimal("0"))
        line.payout_ids.extend(str(i) for i in ids)
        return line

    def account(self, account_id: Any) -> Line:
        account = (
            TreasuryAccount.objects.select_related("bank_profile")
            .filter(pk=account_id)
            .first()
        )
        if account is None:
            return self.at(str(account_id), "")
        return self.at(account.bank_profile.name, account.currency)

    def sorted(self) -> list[Line]:
        return [self.lines[k] for k in sorted(self.lines)]


def rollback_lines(inverses: Iterable[Inverse]) -> list[Line]:
    """Per bank and currency: payouts moved back into it (count, amount),
    funds transferred back to its accounts, and whether it is resumed."""
    lines = _Lines()
    for inverse in inverses:
        fields = inverse.fields
        if inverse.action == "reroute_payouts":
            ids = [str(i) for i in fields.get("payout_ids") or []]
            lines.payouts(fields["to_bank_id"], fields["currency"], ids)
        elif inverse.action == "transfer_funds":
            line = lines.account(fields.get("to_account_id"))
            line.transferred += Decimal(str(fields.get("amount") or "0"))
        elif inverse.action == "resume_bank":
            bank = lines.bank_name(fields.get("bank_profile_id"))
            lines.at(bank, "").resumed = True
    return lines.sorted()


def resume_lines(plan: Plan, review: Iterable[StuckStep]) -> list[Line]:
    """Per bank and currency: the unfinished steps a resume runs again, with
    the payouts and funds they move (as planned)."""
    lines = _Lines()
    rows = {s.index: s for s in PlanStep.objects.filter(plan=plan)}
    for item in review:
        if item.decision == MARK_DONE:
            continue
        fields = rows[item.index].fields or {}
        if item.action == "reroute_payouts":
            line = lines.at(
                lines.bank_name(fields.get("to_bank_id")), str(fields.get("currency"))
            )
            line.payouts += int(fields.get("count") or 0)
            line.amount += Decimal(str(fields.get("amount") or "0"))
        elif item.action == "transfer_funds":
            line = lines.account(fields.get("to_account_id"))
            line.transferred += Decimal(str(fields.get("amount") or "0"))
        else:
            line = lines.at(lines.bank_name(fields.get("bank_profile_id")), "")
        line.steps += 1
    return lines.sorted()


def render(lines: Iterable[Line], *, back: bool, verbose: bool = False) -> list[str]:
    """The summary lines a person reads; ``verbose`` lists the payout ids
    under their line, one per line."""
    out = []
    for line in lines:
        out.append(describe(line, back=back))
        if verbose:
            out.extend(f"    payout {pid}" for pid in sorted(line.payout_ids))
    return out


def rolled_back_lines(plan: Plan) -> list[Line]:
    """What the plan's rollback has moved back so far, from its details."""
    entries = ((plan.details or {}).get("rollback") or {}).get("steps") or []
    return rollback_lines(
        Inverse(e["of_index"], e["action"], e.get("fields") or {})
        for e in entries
        if e.get("status") == "done"
    )
