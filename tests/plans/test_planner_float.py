"""float_rebalance: every account covered, at the least transfer cost (pure)."""

from __future__ import annotations

from decimal import Decimal as D

from plans.planner.float_rebalance import need_of, transfer_price
from plans.planner.planning import plan
from plans.planner.types import (
    AccountSnapshot,
    BankSnapshot,
    Constraints,
    PlanResult,
    Snapshot,
    TransferCost,
)

RATES = {"XOF": D("0.002")}


def bank(bank_id: str, pct: str, fixed: str = "0.00") -> BankSnapshot:
    return BankSnapshot(
        id=bank_id,
        name=bank_id,
        currencies=("XOF", "USD"),
        success_rate=D("0.99"),
        failure_rate=D("0.01"),
        circuit_state="closed",
        fee_percent=D(pct),
        fee_fixed=D(fixed),
        capacity=100,
    )


def account(
    account_id: str, bank_id: str, balance: str, outflow: str = "0", min_float="0"
) -> AccountSnapshot:
    return AccountSnapshot(
        id=account_id,
        bank_id=bank_id,
        currency="XOF" if not account_id.startswith("u") else "USD",
        balance=D(balance),
        min_float=D(min_float),
        forecast_outflow=D(outflow),
    )


def rebalance(banks, accounts, costs=(), **constraints) -> PlanResult:
    snapshot = Snapshot(
        banks=tuple(banks),
        accounts=tuple(accounts),
        transfer_costs=tuple(costs),
        usd_rates=RATES,
    )
    return plan("float_rebalance", snapshot, constraints)


def balances_after(result: PlanResult, accounts, snapshot_banks) -> dict[str, D]:
    snapshot = Snapshot(
        banks=tuple(snapshot_banks), accounts=tuple(accounts), usd_rates=RATES
    )
    by_id = {a.id: a for a in accounts}
    out = {a.id: a.balance for a in accounts}
    for step in result.steps:
        f = step.fields
        out[f["to_account_id"]] += f["amount"]
        out[f["from_account_id"]] -= f["amount"] + f["estimated_fee"]
        pct, fixed = transfer_price(
            snapshot, by_id[f["from_account_id"]], by_id[f["to_account_id"]]
        )
        assert f["estimated_fee"] == (
            f["amount"] * D(str(pct)) + D(str(fixed))
        ).quantize(D("0.01"))
    return out


def test_covers_every_need_from_the_cheapest_sender():
    # x1 needs 1,100 (1,000 outflow + 10 % buffer) and has 100: short 1,000.
    # x2 (bank "dear", 2 %) and x3 (bank "cheap", 0.5 %) both have plenty.
    banks = [bank("short", "0.01"), bank("dear", "0.02"), bank("cheap", "0.005")]
    accounts = [
        account("x1", "short", "100", outflow="1000"),
        account("x2", "dear", "50000"),
        account("x3", "cheap", "50000"),
    ]
    result = rebalance(banks, accounts)
    assert result.status == "ok"
    assert [
        (s.fields["from_account_id"], s.fields["amount"]) for s in result.steps
    ] == [("x3", D("1000.00"))]
    assert result.steps[0].fields["estimated_fee"] == D("5.00")
    assert result.estimated_cost_after == D("0.01")  # 5 XOF in USD
    after = balances_after(result, accounts, banks)
    for a in accounts:
        assert after[a.id] >= need_of(a, Constraints())


def test_matches_brute_force_over_sender_choices():
    # Two short accounts, three senders with different prices and limited
    # surplus: the optimum must equal the best of every split by whole senders.
    banks = [bank("a", "0.010"), bank("b", "0.004"), bank("c", "0.007")]
    accounts = [
        account("s1", "a", "0", outflow="600", min_float="40"),  # short 700
        account("s2", "a", "0", outflow="300", min_float="70"),  # short 400
        account("p1", "a", "2000"),
        account("p2", "b", "800"),
        account("p3", "c", "900"),
    ]
    result = rebalance(banks, accounts)
    assert result.status == "ok"
    # by hand: b (0.4 %) sends all it can (800 / 1.004 = 796.81), then c
    # (0.7 %) the rest (303.19); a's own account p1 is free (same bank!) and
    # takes everything: 0 fees. That is the optimum.
    assert result.estimated_cost_after == D("0.00")
    assert {s.fields["from_account_id"] for s in result.steps} == {"p1"}
    # and without the free sender, check against brute force on a 1-XOF grid
    accounts = [a for a in accounts if a.id != "p1"]
    result = rebalance(banks, accounts)
    fees = sum((s.fields["estimated_fee"] for s in result.steps), D(0))
    best = None
    for from_b in range(0, 1101, 1):
        from_c = 1100 - from_b
        if from_b * D("1.004") > 800 or from_c * D("1.007") > 900:
            continue
        cost = from_b * D("0.004") + from_c * D("0.007")
        best = cost if best is None or cost < best else best
    assert abs(fees - best) <= D("0.05")
    after = balances_after(result, accounts, banks)
    assert all(after[a.id] >= need_of(a, Constraints()) for a in accounts)
    assert all(after[a.id] >= 0 for a in accounts)


def test_fixed_fees_prefer_one_transfer_over_two():
    banks = [bank("t", "0"), bank("a", "0.001", fixed="2.00"), bank("b", "0.002")]
    accounts = [
        account("x1", "t", "0", outflow="1000"),
        account("x2", "a", "100000"),  # 0.1 % + 2 USD (= 1,000 XOF) fixed
        account("x3", "b", "100000"),  # 0.2 %, no fixed fee
    ]
    result = rebalance(banks, accounts)
    assert [s.fields["from_account_id"] for s in result.steps] == ["x3"]
    assert result.steps[0].fields["estimated_fee"] == D("2.20")


def test_explicit_transfer_costs_override_the_default_rule():
    banks = [bank("t", "0"), bank("a", "0.001"), bank("b", "0.002")]
    accounts = [
        account("x1", "t", "0", outflow="1000"),
        account("x2", "a", "100000"),
        account("x3", "b", "100000"),
    ]
    costs = [TransferCost("x2", "x1", D("0.05"), D("0"))]
    result = rebalance(banks, accounts, costs)
    assert [s.fields["from_account_id"] for s in result.steps] == ["x3"]


def test_shortfall_beyond_surplus_is_infeasible_and_names_currency_and_amount():
    banks = [bank("a", "0.01"), bank("b", "0.01")]
    accounts = [
        account("x1", "a", "0", outflow="1000", min_float="100"),  # needs 1,200
        account("x2", "b", "700", min_float="200"),  # spares 500
        account("u1", "a", "10"),
    ]
    result = rebalance(banks, accounts)
    assert result.status == "infeasible"
    assert result.steps == ()
    assert "XOF" in result.reason
    assert "short 1200.00 XOF" in result.reason
    assert "missing 700.00 XOF" in result.reason


def test_surplus_that_cannot_also_pay_the_fees_is_infeasible():
    banks = [bank("a", "0.01"), bank("b", "0.05")]
    accounts = [account("x1", "a", "0", outflow="1000"), account("x2", "b", "1120")]
    result = rebalance(banks, accounts)  # 1,100 + 5 % = 1,155 > 1,120
    assert result.status == "infeasible"
    assert "transfer fees" in result.reason


def test_nothing_to_improve_when_every_account_is_covered():
    banks = [bank("a", "0.01")]
    accounts = [account("x1", "a", "5000", outflow="1000"), account("u1", "a", "1")]
    result = rebalance(banks, accounts, buffer_percent="0.5")
    assert result.status == "nothing_to_improve"
    assert result.steps == ()
    assert rebalance(banks, [], buffer_percent="0").status == "nothing_to_improve"


def test_buffer_percent_raises_the_need():
    banks = [bank("a", "0"), bank("b", "0")]
    accounts = [account("x1", "a", "1000", outflow="1000"), account("x2", "b", "9000")]
    assert rebalance(banks, accounts, buffer_percent="0").status == "nothing_to_improve"
    result = rebalance(banks, accounts, buffer_percent="0.25")
    assert result.steps[0].fields["amount"] == D("250.00")
    assert isinstance(result.total_amount, D)
    assert result.total_amount == D("0.50")  # 250 XOF in USD


def test_transfer_amounts_are_rounded_up_to_cents():
    banks = [bank("a", "0"), bank("b", "0.003")]
    accounts = [account("x1", "a", "0", outflow="333.333"), account("x2", "b", "9000")]
    result = rebalance(banks, accounts, buffer_percent="0")
    (step,) = result.steps
    assert step.fields["amount"] == D("333.34")
    assert step.fields["amount"].as_tuple().exponent == -2
    assert result.as_dict()["steps"][0]["action"] == "transfer_funds"
