"""Approval thresholds (DESIGN §7), read from settings; apps combine them in
their actions' ``approvals=`` rules and the strictest one wins."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings


def signatures_for_usd(amount_usd: Decimal) -> int:
    """2 above 10,000 USD, 3 above 100,000 USD (the defaults); else 0."""
    for threshold, signatures in sorted(
        settings.APPROVAL_AMOUNT_TIERS_USD, key=lambda t: -t[0]
    ):
        if amount_usd > Decimal(threshold):
            return signatures
    return 0


def signatures_for_payout_count(count: int) -> int:
    if count > settings.APPROVAL_PLAN_PAYOUTS_THRESHOLD:
        return int(settings.APPROVAL_PLAN_PAYOUTS_SIGNATURES)
    return 0


def strictest(*counts: int) -> int:
    return max((0, *counts))
