"""Rails for plan tests: an expensive bank holding pending payouts and a
cheaper one that serves the same currency, so routing has something to do."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from payouts.models import BankProfile
from plans.models import Plan
from tests.factories import BankProfileFactory, PayoutFactory
from tests.helpers import post_action

ROUTING = {"plan_params": {"type": "routing_optimization", "timeframe": "24h"}}


def rails(
    *, count: int = 4, amount: str = "1500.00", currency: str = "XOF"
) -> tuple[BankProfile, BankProfile]:
    dear = BankProfileFactory(
        name="Banque Chère",
        currencies=[currency],
        fee_percent=Decimal("0.0200"),
        fee_fixed=Decimal("0.40"),
    )
    cheap = BankProfileFactory(
        name="Banque Douce",
        currencies=[currency],
        fee_percent=Decimal("0.0050"),
        fee_fixed=Decimal("0.10"),
    )
    for _ in range(count):
        PayoutFactory(bank_profile=dear, amount=Decimal(amount), currency=currency)
    return dear, cheap


def generate(
    client: Any,
    capture: Callable[..., Any],
    body: dict[str, Any] | None = None,
    **kw: Any,
) -> tuple[Any, Plan | None]:
    """POST generate-plan and run the queued worker task (eager) after commit."""
    with capture(execute=True):
        resp = post_action(client, "generate-plan", body or ROUTING, **kw)
    plan_id = (resp.json().get("plan") or {}).get("id")
    return resp, Plan.objects.filter(pk=plan_id).first() if plan_id else None
