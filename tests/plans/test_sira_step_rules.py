"""How SIRA's steps are resolved and held to the rules, without a server:
banks by id or name, every safety refusal named, the override, the plan's
currency scope, the schema of both shapes, and the reroute action taking a
step without a currency."""

from __future__ import annotations

from typing import Any

import pytest

from plans import sira_client
from plans.execution.recovery import inverse_steps
from plans.planner.types import BankSnapshot
from plans.sira_steps import StepRefused, resolve_steps
from tests.factories import BankProfileFactory
from tests.helpers import post_action
from tests.plans.sira_step_helpers import aged, bank_snapshot, seed_step, snapshot_dict
from tests.plans.test_execute_plan_support import execute


@pytest.mark.parametrize(
    ("extra", "to_bank", "currency", "reason"),
    [
        ((), "Orabank", "USD", "currency_not_served"),
        (
            (bank_snapshot("b3", "Coris", circuit_state="open"),),
            "coris",
            None,
            "breaker_open",
        ),
        (
            (bank_snapshot("b3", "Coris", circuit_state="half_open"),),
            "b3",
            None,
            None,
        ),
        ((bank_snapshot("b3", "Coris", frozen=True),), "CORIS", None, "frozen"),
        ((bank_snapshot("b3", "Coris", health="red"),), "Coris", "XOF", "red"),
        ((), "Ecobank", None, "same_bank"),
    ],
)
def test_each_safety_refusal_names_its_reason(
    extra: tuple[BankSnapshot, ...],
    to_bank: str,
    currency: str | None,
    reason: str | None,
) -> None:
    step = seed_step("ecobank", to_bank, 1)
    if currency:
        step["currency"] = currency
    with pytest.raises(StepRefused) as caught:
        resolve_steps([step], snapshot_dict(*extra))
    assert caught.value.reason == (reason or "breaker_half_open")
    assert caught.value.index == 0


def test_an_override_lets_a_named_bank_receive_but_never_a_foreign_currency() -> None:
    snapshot = snapshot_dict(bank_snapshot("b3", "Coris", paused=True))
    (step,) = resolve_steps([seed_step("Ecobank", "Coris", 1)], snapshot, allow={"b3"})
    assert step["to_bank_id"] == "b3"
    with pytest.raises(StepRefused) as caught:
        resolve_steps(
            [seed_step("Ecobank", "Coris", 1, currency="USD")], snapshot, allow={"b3"}
        )
    assert caught.value.reason == "currency_not_served"


def test_a_seed_amount_without_a_currency_is_quoted_not_a_cap() -> None:
    (step,) = resolve_steps([seed_step("b1", "b2", 2, amount=99)], snapshot_dict())
    assert step["quoted_amount"] == 99 and "amount" not in step
    (step,) = resolve_steps(
        [seed_step("b1", "b2", 2, amount=99, currency="XOF")], snapshot_dict()
    )
    assert step["amount"] == 99


# --- the plan's currency scope --------------------------------------------------------


def scoped_snapshot() -> dict[str, Any]:
    """Ecobank and Orabank serve XOF, Coris XOF, GHS and USD."""
    return snapshot_dict(
        bank_snapshot("b3", "Coris", currencies=("XOF", "GHS", "USD")),
    )


def test_a_reroute_in_the_plan_s_currencies_passes() -> None:
    step = seed_step("Ecobank", "Coris", 2, currency="GHS", amount="50.00")
    (resolved,) = resolve_steps([step], scoped_snapshot(), currencies=["GHS", "XOF"])
    assert (resolved["currency"], resolved["amount"]) == ("GHS", "50.00")


def test_a_reroute_outside_the_plan_s_currencies_is_refused() -> None:
    good = seed_step("Ecobank", "Coris", 1, currency="XOF")
    bad = seed_step("Ecobank", "Coris", 2, currency="USD")
    with pytest.raises(StepRefused) as caught:
        resolve_steps([good, bad], scoped_snapshot(), currencies=["GHS", "XOF"])
    assert (caught.value.index, caught.value.reason) == (1, "out_of_scope")
    assert "USD" in caught.value.detail and "GHS, XOF" in caught.value.detail
    # without a scope, the same step is the plan's
    (_good, resolved) = resolve_steps([good, bad], scoped_snapshot())
    assert resolved["currency"] == "USD"


def test_a_reroute_without_a_currency_takes_a_one_currency_scope() -> None:
    step = seed_step("Ecobank", "Coris", 2, amount=99)
    (resolved,) = resolve_steps([step], scoped_snapshot(), currencies=["GHS"])
    assert resolved["currency"] == "GHS"
    # SIRA did not say in which currency it counted: still only quoted
    assert resolved["quoted_amount"] == 99 and "amount" not in resolved
    # and the filled-in currency is held to the safety rule like a given one
    with pytest.raises(StepRefused) as caught:
        resolve_steps(
            [seed_step("Coris", "Ecobank", 2)], scoped_snapshot(), currencies=["GHS"]
        )
    assert caught.value.reason == "currency_not_served"


def test_a_reroute_without_a_currency_under_a_wider_scope_is_refused() -> None:
    with pytest.raises(StepRefused) as caught:
        resolve_steps(
            [seed_step("Ecobank", "Coris", 2)],
            scoped_snapshot(),
            currencies=["GHS", "XOF"],
        )
    assert caught.value.reason == "out_of_scope"
    assert "no currency" in caught.value.detail
    assert "GHS, XOF" in caught.value.detail


def test_transfers_and_pauses_must_name_what_the_snapshot_holds() -> None:
    transfer = {
        "action": "transfer_funds",
        "from_account_id": "a1",
        "to_account_id": "a2",
        "currency": "XOF",
        "amount": "10.00",
    }
    with pytest.raises(StepRefused) as caught:
        resolve_steps([transfer], snapshot_dict())
    assert caught.value.reason == "unknown_account"
    with pytest.raises(StepRefused) as caught:
        resolve_steps(
            [{"action": "pause_bank", "bank_profile_id": "nope", "reason": "x"}],
            snapshot_dict(),
        )
    assert caught.value.reason == "unknown_bank"


@pytest.mark.parametrize(
    ("step", "valid"),
    [
        (seed_step("bank-a", "bank-b", 567), True),
        ({"action": "reroute_payouts", "from_bank": "a", "to_bank": "b"}, False),
        (seed_step("bank-a", "", 1), False),
        (seed_step("bank-a", "bank-b", 0), False),
        (seed_step("bank-a", "bank-b", 1, currency="xof"), False),
        (seed_step("bank-a", "bank-b", 1, estimated_savings=-3.5), True),
        (seed_step("bank-a", "bank-b", 1, estimated_savings="lots"), False),
        ({"action": "reroute_payouts", "from_bank_id": "x", "count": 1}, False),
    ],
)
def test_the_schema_takes_the_seed_shape(step: dict[str, Any], valid: bool) -> None:
    plan = {"summary": "x", "steps": [step], "total_amount": 1}
    plan["approval_required"] = False
    if valid:
        assert sira_client.unwrap_plan({"plan": plan})["steps"] == [step]
    else:
        with pytest.raises(ValueError, match="steps/0"):
            sira_client.unwrap_plan({"plan": plan})


# --- the action, without a currency ---------------------------------------------------


def test_reroute_without_a_currency_takes_what_the_destination_serves(
    db: None, pay_admin: Any
) -> None:
    source = BankProfileFactory(currencies=["XOF", "USD", "GHS"])
    destination = BankProfileFactory(currencies=["XOF", "USD"])
    xof = aged(source, 1, start_hours=30)
    aged(source, 1, currency="GHS", start_hours=20)  # oldest but one: not served
    usd = aged(source, 2, currency="USD", start_hours=10)
    body = {
        "from_bank_id": str(source.id),
        "to_bank_id": str(destination.id),
        "count": 3,
    }
    resp = post_action(pay_admin, "reroute-payouts", body)
    assert resp.status_code == 200, resp.json()
    moved = resp.json()["reroute"]
    assert moved["payout_ids"] == [str(p.id) for p in xof + usd]
    assert moved["currency"] is None and moved["amount"] is None
    assert moved["amounts"] == {"USD": "3000.00", "XOF": "1500.00"}
    capped = post_action(pay_admin, "reroute-payouts", {**body, "amount": "10.00"})
    assert capped.status_code == 400
    assert "amount" in capped.json()["error"]["fields"]


def test_a_mixed_currency_step_rolls_back_by_its_ids(
    db: None, pay_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.plans.test_execute_plan_support import make_plan

    source = BankProfileFactory(currencies=["XOF", "USD"])
    destination = BankProfileFactory(currencies=["XOF", "USD"])
    aged(source, 1)
    aged(source, 1, currency="USD")
    plan = make_plan(
        (
            "reroute_payouts",
            {
                "from_bank_id": str(source.id),
                "to_bank_id": str(destination.id),
                "count": 2,
            },
        ),
        plan_type="routing_optimization",
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert execute(pay_admin, plan).status_code == 202
    (inverse,) = inverse_steps(plan)
    assert "currency" not in inverse.fields
    assert inverse.fields["to_bank_id"] == str(source.id)
    assert len(inverse.fields["payout_ids"]) == 2
