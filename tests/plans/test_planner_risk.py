"""risk_mitigation: the right banks paused, no bank over its share (pure)."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal as D

from plans.planner.planning import plan
from plans.planner.types import BankSnapshot, PayoutClass, PlanResult, Snapshot


def bank(
    bank_id: str,
    *,
    failure: str = "0.01",
    circuit: str = "closed",
    paused: bool = False,
    pct: str = "0.01",
    capacity: int = 1000,
    currencies: tuple[str, ...] = ("USD",),
) -> BankSnapshot:
    return BankSnapshot(
        id=bank_id,
        name=f"Bank {bank_id}",
        currencies=currencies,
        success_rate=D(1) - D(failure),
        failure_rate=D(failure),
        circuit_state=circuit,
        fee_percent=D(pct),
        fee_fixed=D("0.10"),
        capacity=capacity,
        paused=paused,
    )


def usd(bank_id: str, count: int, each: str = "100") -> PayoutClass:
    return PayoutClass(bank_id, "USD", count, D(each) * count, D(each), D(each))


def mitigate(banks, classes, **constraints) -> PlanResult:
    snapshot = Snapshot(
        banks=tuple(banks),
        payout_classes=tuple(classes),
        usd_rates={"XOF": D("0.002"), "EUR": D("1.08")},
    )
    return plan("risk_mitigation", snapshot, constraints)


def value_after(result: PlanResult, classes) -> dict[str, D]:
    value: dict[str, D] = defaultdict(D)
    for c in classes:
        value[c.bank_id] += c.amount
    for step in result.steps:
        if step.action == "reroute_payouts":
            f = step.fields
            value[f["from_bank_id"]] -= f["amount"]
            value[f["to_bank_id"]] += f["amount"]
    return value


def test_pauses_failing_and_open_banks_only_with_evidence():
    banks = [
        bank("bad", failure="0.35"),
        bank("open", circuit="open"),
        bank("edge", failure="0.20"),  # at the threshold, not above it
        bank("already", failure="0.90", paused=True),
        bank("good"),
        bank("good2"),
        bank("good3"),
    ]
    result = mitigate(banks, [], failure_rate_threshold="0.2")
    pauses = [s for s in result.steps if s.action == "pause_bank"]
    assert [p.fields["bank_profile_id"] for p in pauses] == ["bad", "open"]
    assert pauses[0].fields["evidence"]["failure_rate"] == "0.35"
    assert pauses[0].fields["evidence"]["failure_rate_threshold"] == "0.2"
    assert "failure rate 0.35" in pauses[0].fields["reason"]
    assert pauses[1].fields["evidence"]["circuit_state"] == "open"
    assert result.status == "ok"
    assert result.payout_count == 0


def test_exposure_of_paused_banks_moves_and_no_bank_exceeds_its_share():
    banks = [bank("bad", failure="0.5"), bank("a", pct="0.001"), bank("b"), bank("c")]
    classes = [usd("bad", 30), usd("a", 10)]
    result = mitigate(banks, classes, max_bank_share="0.4")
    assert result.status == "ok"
    value = value_after(result, classes)
    total = sum(value.values())
    assert value["bad"] == 0
    for bank_id, held in value.items():
        assert held <= D("0.4") * total, bank_id
    assert result.payout_count == 30
    assert result.steps[0].action == "pause_bank"


def test_moves_only_the_excess_over_the_share():
    banks = [bank("big", pct="0.001"), bank("x"), bank("y")]
    classes = [usd("big", 70), usd("x", 20), usd("y", 10)]
    result = mitigate(banks, classes, max_bank_share="0.5")
    moves = [s for s in result.steps if s.action == "reroute_payouts"]
    assert sum(s.fields["count"] for s in moves) == 20  # 70 % -> 50 %
    assert all(s.fields["from_bank_id"] == "big" for s in moves)
    assert value_after(result, classes)["big"] == D("5000")


def test_share_checked_per_currency():
    banks = [
        bank("a", currencies=("USD", "EUR")),
        bank("b", currencies=("USD", "EUR")),
    ]
    classes = [
        usd("a", 5),
        usd("b", 5),
        PayoutClass("a", "EUR", 1, D("100"), D("100"), D("100")),
        PayoutClass("b", "EUR", 1, D("100"), D("100"), D("100")),
    ]
    result = mitigate(banks, classes, max_bank_share="0.5")
    assert result.status == "nothing_to_improve"
    assert result.steps == ()


def test_unreachable_share_keeps_the_plan_and_names_the_best_share():
    banks = [bank("a"), bank("b"), bank("bad", failure="0.9")]
    classes = [usd("a", 10), usd("bad", 10)]
    result = mitigate(banks, classes, max_bank_share="0.3")
    # the cap cannot hold (two banks left: the best is half each), yet the
    # failing bank is still paused and its payouts still spread
    assert result.status == "ok"
    assert result.steps[0].action == "pause_bank"
    assert result.steps[0].fields["bank_profile_id"] == "bad"
    assert sum(s.fields["count"] for s in result.steps[1:]) == 10
    unmet = result.details["unmet"]
    assert unmet and all(u["constraint"] == "max_bank_share" for u in unmet)
    assert {u["currency"] for u in unmet} == {"USD"}
    assert all(u["reason"] == "max_bank_share_unreachable" for u in unmet)
    assert any("0.5" in u["message"] for u in unmet)
    assert "see unmet" in result.summary


def test_payouts_no_one_can_take_wait_at_the_paused_bank():
    banks = [
        bank("bad", failure="0.9", currencies=("XOF",)),
        bank("a"),
        bank("b"),
    ]
    classes = [PayoutClass("bad", "XOF", 4, D("4000"))]
    result = mitigate(banks, classes, max_bank_share="0.5")
    assert [s.action for s in result.steps] == ["pause_bank"]
    assert result.details["stranded_payouts"] == 4


def test_nothing_to_improve():
    banks = [bank("a"), bank("b")]
    result = mitigate(banks, [usd("a", 5), usd("b", 5)], max_bank_share="0.5")
    assert result.status == "nothing_to_improve"
    assert result.steps == ()
    assert Counter(s.action for s in result.steps) == Counter()
