"""routing_optimization: optimal, and every constraint holds (pure, no DB)."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from decimal import Decimal as D

import pytest

from plans.planner.planning import PLANNER_VERSION, plan
from plans.planner.types import (
    BankSnapshot,
    ConstraintError,
    Constraints,
    PayoutClass,
    PlanResult,
    Snapshot,
)

RATES = {"XOF": D("0.00165"), "EUR": D("1.08")}


def bank(
    bank_id: str,
    *,
    currencies: tuple[str, ...] = ("USD",),
    pct: str = "0.01",
    fixed: str = "0.10",
    capacity: int = 1000,
    success: str = "0.99",
    circuit: str = "closed",
    paused: bool = False,
) -> BankSnapshot:
    return BankSnapshot(
        id=bank_id,
        name=f"Bank {bank_id}",
        currencies=currencies,
        success_rate=D(success),
        failure_rate=D(1) - D(success),
        circuit_state=circuit,
        fee_percent=D(pct),
        fee_fixed=D(fixed),
        capacity=capacity,
        paused=paused,
    )


def payouts(bank_id: str, currency: str, *amounts: str) -> list[PayoutClass]:
    """One class per payout (amounts far enough apart to sit in their own
    bucket, so the planner's groups are exactly the payouts)."""
    return [PayoutClass(bank_id, currency, 1, D(a), D(a), D(a)) for a in amounts]


def route(banks, classes, **constraints) -> PlanResult:
    snapshot = Snapshot(
        banks=tuple(banks), payout_classes=tuple(classes), usd_rates=RATES
    )
    return plan("routing_optimization", snapshot, constraints)


def fee(b: BankSnapshot, amount: D, currency: str) -> D:
    rate = D(1) if currency == "USD" else RATES[currency]
    return b.fee_percent * amount * rate + b.fee_fixed


def brute_force(banks, classes, min_success_rate=None) -> D | None:
    """The cheapest total fee over every assignment of every payout."""
    options = []
    for c in classes:
        here = [b for b in banks if b.id == c.bank_id and b.operable]
        allowed = {
            b.id: b for b in banks if b.can_receive(c.currency, min_success_rate)
        }
        allowed.update({b.id: b for b in here})
        options.append(list(allowed.values()))
    best = None
    for choice in itertools.product(*options):
        load = Counter(b.id for b in choice)
        if any(load[b.id] > b.capacity for b in banks):
            continue
        total = sum(
            (
                fee(b, c.amount, c.currency)
                for b, c in zip(choice, classes, strict=True)
            ),
            D(0),
        )
        best = total if best is None or total < best else best
    return best


def after_plan(result: PlanResult, classes) -> Counter:
    """Payouts per (bank, currency) once the steps have run."""
    held = Counter()
    for c in classes:
        held[(c.bank_id, c.currency)] += c.count
    for step in result.steps:
        f = step.fields
        held[(f["from_bank_id"], f["currency"])] -= f["count"]
        held[(f["to_bank_id"], f["currency"])] += f["count"]
    return held


@pytest.mark.parametrize("seed", range(12))
def test_matches_brute_force_on_small_random_problems(seed):
    rng = random.Random(seed)
    banks = [
        bank(
            name,
            currencies=tuple(rng.sample(["USD", "EUR", "XOF"], rng.randint(1, 3))),
            pct=f"{rng.uniform(0.002, 0.02):.4f}",
            fixed=f"{rng.uniform(0.05, 2):.2f}",
            capacity=rng.randint(1, 4),
            success=rng.choice(["0.99", "0.95", "0.90"]),
        )
        for name in "abc"
    ]
    classes = []
    amount = rng.uniform(5, 50)
    for _ in range(6):
        holder = rng.choice(banks)
        currency = rng.choice(holder.currencies)
        amount *= 1.6  # one bucket each
        scale = 600 if currency == "XOF" else 1
        classes += payouts(holder.id, currency, f"{amount * scale:.2f}")
    min_rate = rng.choice([None, D("0.95")])
    optimum = brute_force(banks, classes, min_rate)
    result = route(banks, classes, min_success_rate=min_rate)
    if optimum is None:
        assert result.status == "infeasible"
        assert result.steps == ()
        return
    assert result.status in ("ok", "nothing_to_improve")
    assert abs(result.estimated_cost_after - optimum) <= D("0.01")
    held = after_plan(result, classes)
    for b in banks:
        assert sum(n for (bid, _c), n in held.items() if bid == b.id) <= max(
            b.capacity, sum(c.count for c in classes if c.bank_id == b.id)
        )
    assert all(n >= 0 for n in held.values())


def test_hand_computed_optimum_with_a_binding_capacity():
    # 10 payouts of 100 USD at "dear" (2 % + 1.00 = 3.00 each). "cheap" charges
    # 0.5 % + 0.10 = 0.60 but takes 6 more; "mid" 1 % + 0.20 = 1.20 takes all.
    banks = [
        bank("dear", pct="0.02", fixed="1.00"),
        bank("cheap", pct="0.005", fixed="0.10", capacity=6),
        bank("mid", pct="0.01", fixed="0.20"),
    ]
    classes = [PayoutClass("dear", "USD", 10, D("1000.00"), D(100), D(100))]
    result = route(banks, classes)
    assert result.status == "ok"
    moves = {s.fields["to_bank_id"]: s.fields for s in result.steps}
    assert moves["cheap"]["count"] == 6
    assert moves["mid"]["count"] == 4
    assert moves["cheap"]["estimated_savings"] == D("14.40")  # 6 x 2.40
    assert moves["mid"]["estimated_savings"] == D("7.20")  # 4 x 1.80
    assert result.estimated_cost_before == D("30.00")
    assert result.estimated_cost_after == D("8.40")
    assert result.payout_count == 10
    assert result.total_amount == D("1000.00")
    assert "HiGHS" in result.solver
    assert PLANNER_VERSION == "local-1.0.0"


def test_counts_are_integers_and_split_classes_stay_whole_payouts():
    banks = [
        bank("a", pct="0.02", capacity=1000),
        bank("b", pct="0.001", capacity=7),
        bank("c", pct="0.002", capacity=5),
    ]
    classes = [PayoutClass("a", "USD", 23, D("2300.00"), D(90), D(110))]
    result = route(banks, classes)
    counts = {s.fields["to_bank_id"]: s.fields["count"] for s in result.steps}
    assert counts == {"b": 7, "c": 5}
    assert all(isinstance(n, int) for n in counts.values())
    amounts = [s.fields["amount"] for s in result.steps]
    assert all(a == a.quantize(D("0.01")) for a in amounts)
    assert sum(amounts) == D("1200.00")


def test_currency_support_is_respected():
    banks = [
        bank("a", currencies=("USD", "XOF"), pct="0.02"),
        bank("usd_only", currencies=("USD",), pct="0.001"),
    ]
    classes = payouts("a", "XOF", "50000") + payouts("a", "USD", "100")
    result = route(banks, classes)
    assert [(s.fields["to_bank_id"], s.fields["currency"]) for s in result.steps] == [
        ("usd_only", "USD")
    ]


def test_min_success_rate_bank_keeps_its_own_but_receives_nothing_new():
    banks = [
        bank("dear", pct="0.03"),
        bank("flaky", pct="0.001", success="0.80"),
        bank("ok", pct="0.01"),
    ]
    classes = payouts("dear", "USD", "100") + payouts("flaky", "USD", "300")
    result = route(banks, classes, min_success_rate="0.95")
    assert [
        (s.fields["from_bank_id"], s.fields["to_bank_id"]) for s in result.steps
    ] == [("dear", "ok")]
    # omitted, the default (0.90, red below it) still keeps the flaky bank out
    default = route(banks, classes)
    assert [s.fields["to_bank_id"] for s in default.steps] == ["ok"]
    assert default.details["constraints_used"]["min_success_rate"] == {
        "value": "0.90",
        "default": True,
    }
    # only an explicit 0 lets the cheap flaky bank take it
    free = route(banks, classes, min_success_rate="0")
    assert [s.fields["to_bank_id"] for s in free.steps] == ["flaky"]
    assert free.details["constraints_used"]["min_success_rate"] == {
        "value": "0",
        "default": False,
    }


@pytest.mark.parametrize(
    "blocked", [{"paused": True}, {"circuit": "open"}], ids=["paused", "open"]
)
def test_paused_or_open_bank_takes_nothing_and_its_payouts_leave(blocked):
    banks = [
        bank("cheapest", pct="0.0001", fixed="0.01", **blocked),
        bank("dear", pct="0.03"),
        bank("mid", pct="0.01"),
    ]
    classes = payouts("dear", "USD", "100") + payouts("cheapest", "USD", "500")
    result = route(banks, classes)
    held = after_plan(result, classes)
    assert held[("cheapest", "USD")] == 0
    assert held[("mid", "USD")] == 2
    # the forced move costs more than staying would: negative savings, said so
    forced = next(s for s in result.steps if s.fields["from_bank_id"] == "cheapest")
    assert forced.fields["estimated_savings"] < 0


def test_payouts_with_nowhere_to_go_stay_and_are_counted():
    banks = [bank("gone", currencies=("EUR",), paused=True), bank("a", pct="0.02")]
    classes = payouts("gone", "EUR", "100") + payouts("a", "USD", "100")
    result = route(banks, classes)
    # nothing else to do and something that cannot be done: the plan fails, saying why
    assert result.status == "infeasible"
    assert result.details["stranded_payouts"] == 1
    assert result.details["unmet"] == [
        {
            "constraint": "safety",
            "reason": "no_safe_bank",
            "currency": "EUR",
            "message": "1 pending EUR payouts wait at Bank gone and no bank "
            "may safely take EUR",
        }
    ]
    assert "no bank may safely take EUR" in result.reason


def test_max_cost_too_low_is_infeasible_with_both_figures():
    banks = [bank("a", pct="0.02", fixed="1.00"), bank("b", pct="0.01", fixed="0.50")]
    classes = [PayoutClass("a", "USD", 10, D("1000.00"))]
    result = route(banks, classes, max_cost="14.99")
    assert result.status == "infeasible"
    assert result.steps == ()
    assert "15.00 USD" in result.reason
    assert "max_cost 14.99" in result.reason
    assert route(banks, classes, max_cost="15.00").status == "ok"


def test_capacity_shortfall_is_infeasible_and_names_the_currency():
    banks = [
        bank("a", currencies=("XOF", "USD"), capacity=3),
        bank("b", currencies=("XOF",), capacity=2, paused=True),
    ]
    classes = [PayoutClass("a", "XOF", 5, D("500000.00"))]
    result = route(banks, classes)
    assert result.status == "infeasible"
    assert "5 pending XOF payouts" in result.reason
    assert "(3)" in result.reason


def test_nothing_to_improve_is_an_empty_plan_not_an_error():
    banks = [bank("a", pct="0.001"), bank("b", pct="0.02")]
    result = route(banks, payouts("a", "USD", "100", "1000"))
    assert result.status == "nothing_to_improve"
    assert result.steps == ()
    assert result.payout_count == 0
    assert result.estimated_cost_before == result.estimated_cost_after
    assert route(banks, []).status == "nothing_to_improve"


def test_ties_do_not_shuffle_payouts():
    banks = [bank("a"), bank("b")]  # identical prices
    assert route(banks, payouts("a", "USD", "100")).status == "nothing_to_improve"


def test_decimal_in_and_out_and_the_dict_form_plans_the_same():
    banks = [
        bank("a", currencies=("XOF",), pct="0.02"),
        bank("b", currencies=("XOF",), pct="0.005"),
    ]
    classes = [PayoutClass("a", "XOF", 3, D("30000.00"), D(9000), D(11000))]
    snapshot = Snapshot(
        banks=tuple(banks), payout_classes=tuple(classes), usd_rates=RATES
    )
    result = plan("routing_optimization", snapshot)
    data = snapshot.as_dict()
    again = plan("routing_optimization", data, {})
    assert again.as_dict()["steps"] == result.as_dict()["steps"]
    assert Snapshot.from_dict(data).digest() == snapshot.digest()
    step = result.steps[0].fields
    assert isinstance(step["amount"], D) and step["amount"] == D("30000.00")
    assert isinstance(result.total_amount, D)
    assert result.total_amount == D("49.50")  # 30,000 XOF in USD
    assert result.as_dict()["steps"][0]["amount"] == "30000.00"


def test_unknown_type_and_bad_constraints_are_refused():
    snapshot = Snapshot()
    with pytest.raises(ValueError, match="unknown plan type"):
        plan("world_domination", snapshot)
    with pytest.raises(ConstraintError) as caught:
        plan(
            "routing_optimization",
            snapshot,
            {"max_cost": -1, "min_success_rate": "2", "max_bank_share": "x", "oops": 1},
        )
    assert set(caught.value.fields) == {
        "max_cost",
        "min_success_rate",
        "max_bank_share",
        "oops",
    }
    assert Constraints.from_params({"max_cost": "10.5"}).max_cost == D("10.5")
    with pytest.raises(ConstraintError):
        Constraints.from_params({"max_cost": "NaN"})
    with pytest.raises(ConstraintError):
        Constraints.from_params({"buffer_percent": True})
