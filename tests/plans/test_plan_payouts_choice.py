"""The payouts a plan's reroute steps choose (plans/services/plan_payouts.py).

The rule, as written in the test, runs the steps one after the other, each
over its source's pending payouts oldest first (skipping those an earlier
step took), as the reroute action would. The product makes one pass per
source instead: in Python (``choose_here``, SQLite) and inside PostgreSQL
(``choose_in_database``). Over random payouts and steps — same timestamps,
bands, caps that bind, steps sharing a source, disputed and settled payouts
— every engine chooses what the rule does, payout for payout, in order."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payouts.models import Payout
from plans.choices import PlanStatus
from plans.models import Plan, PlanPayout
from plans.services import plan_payouts
from tests.factories import BankProfileFactory

pytestmark = pytest.mark.django_db

START = timezone.now() - timedelta(hours=1)

AMOUNTS = st.decimals(min_value=1, max_value=500, places=2)
PAYOUT = st.tuples(
    st.integers(0, 1),  # source bank
    st.sampled_from(["XOF", "XOF", "GHS"]),
    AMOUNTS,
    st.integers(0, 5),  # seconds after START: ties are common
    st.sampled_from(["pending"] * 6 + ["settled"]),
    st.sampled_from([False] * 5 + [True]),  # disputed
)
STEP = st.fixed_dictionaries(
    {
        "from": st.integers(0, 1),
        "currency": st.sampled_from(["XOF", "GHS"]),
        "count": st.integers(1, 12),
        "amount_min": st.none() | AMOUNTS,
        "amount_max": st.none() | AMOUNTS,
        "amount": st.none() | st.decimals(min_value=1, max_value=2500, places=2),
    }
)


def rule(steps: list[dict[str, Any]]) -> list[tuple[int, uuid.UUID]]:
    """What running the steps one after the other moves: (step, payout)."""
    taken: set[uuid.UUID] = set()
    out: list[tuple[int, uuid.UUID]] = []
    for index, step in enumerate(steps):
        pending = Payout.objects.filter(
            bank_profile_id=step["from_bank_id"],
            currency=step["currency"],
            status="pending",
            disputed=False,
        ).order_by("created_at", "id")
        low, high, cap = (step.get(k) for k in ("amount_min", "amount_max", "amount"))
        total, chosen = Decimal(0), 0
        for payout in pending:
            if chosen == step["count"]:
                break
            if payout.id in taken or (low is not None and payout.amount < low):
                continue
            if high is not None and payout.amount > high:
                continue
            if cap is not None and total + payout.amount > cap:
                continue
            taken.add(payout.id)
            out.append((index, payout.id))
            total += payout.amount
            chosen += 1
    return out


def a_plan() -> Plan:
    now = timezone.now()
    return Plan.objects.create(
        plan_type="routing_optimization",
        status=PlanStatus.GENERATING,
        created_by="alice",
        created_at=now,
        updated_at=now,
    )


def stored(plan: Plan) -> list[tuple[int, uuid.UUID]]:
    rows = PlanPayout.objects.filter(plan=plan).order_by("step_index", "id")
    return list(rows.values_list("step_index", "payout_id"))


def run(engine: Any, steps: list[dict[str, Any]]) -> tuple[Plan, dict[int, Any]]:
    """``select`` with one engine: the plan whose rows it stored, and what it
    said each step chose."""
    plan = a_plan()
    chosen: dict[int, Any] = {}
    for source, rules in plan_payouts._groups(steps).items():
        chosen.update(engine(plan.id, source, rules))
    return plan, chosen


ENGINES = [plan_payouts.choose_here]


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    payouts=st.lists(PAYOUT, max_size=30), steps=st.lists(STEP, min_size=1, max_size=4)
)
def test_every_engine_chooses_what_the_rule_does(
    payouts: list[tuple[Any, ...]], steps: list[dict[str, Any]]
) -> None:
    Payout.objects.all().delete()
    banks = [BankProfileFactory(currencies=["XOF", "GHS"]) for _ in range(3)]
    for n, (bank, currency, amount, second, status, disputed) in enumerate(payouts):
        Payout.objects.create(
            bank_profile=banks[bank],
            currency=currency,
            amount=amount,
            status=status,
            disputed=disputed,
            beneficiary=f"BEN-{n}",
            bank_reference=f"REF-{uuid.uuid4().hex[:16]}",
            created_at=START + timedelta(seconds=second),
            updated_at=START,
        )
    plan_steps = [
        {
            "action": "reroute_payouts",
            "from_bank_id": str(banks[s["from"]].id),
            "to_bank_id": str(banks[2].id),
            "currency": s["currency"],
            "count": s["count"],
            **{k: str(s[k]) for k in ("amount_min", "amount_max", "amount") if s[k]},
        }
        for s in steps
    ]
    expected = rule(
        [
            {
                **s,
                **{
                    k: Decimal(s[k])
                    for k in ("amount_min", "amount_max", "amount")
                    if k in s
                },
            }
            for s in plan_steps
        ]
    )
    engines = list(ENGINES)
    if connection.vendor == "postgresql":
        engines.append(plan_payouts.choose_in_database)
    amounts = dict(Payout.objects.values_list("id", "amount"))
    for engine in engines:
        plan, chosen = run(engine, plan_steps)
        assert stored(plan) == expected, engine.__name__
        for index in range(len(plan_steps)):
            mine = [pk for i, pk in expected if i == index]
            got = chosen.get(index)
            assert got is not None, (engine.__name__, index)
            assert got.payouts == len(mine)
            assert got.amount == sum((amounts[pk] for pk in mine), Decimal(0))


def test_select_replaces_an_earlier_run() -> None:
    """``select`` stores each step's payouts once, even when an interrupted
    generation stored them before."""
    source, destination = BankProfileFactory(), BankProfileFactory()
    for n in range(5):
        Payout.objects.create(
            bank_profile=source,
            currency="XOF",
            amount=Decimal(100 + n),
            beneficiary=f"BEN-{n}",
            bank_reference=f"REF-{n}",
            created_at=START + timedelta(seconds=n),
            updated_at=START,
        )
    step = {
        "action": "reroute_payouts",
        "from_bank_id": str(source.id),
        "to_bank_id": str(destination.id),
        "currency": "XOF",
        "count": 3,
        "amount": "250.00",  # 100 + 101 fit; 102, 103, 104 would not
    }
    plan = a_plan()
    first = plan_payouts.select(plan.id, [step])
    again = plan_payouts.select(plan.id, [step])
    assert first == again
    assert again[0].payouts == 2 and again[0].amount == Decimal("201.00")
    assert PlanPayout.objects.filter(plan=plan).count() == 2
