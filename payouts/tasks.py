"""Celery tasks of the rails (thin: they call the dispatcher)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from payouts import dispatcher


@shared_task(ignore_result=True, acks_late=True)
def dispatch_batch(batch: int = 10) -> dict[str, int]:
    """One dispatcher batch, for deployments that drive the dispatcher from
    beat instead of the ``dispatch_payouts`` loop. Safe to run twice and in
    parallel: each payout is claimed by a conditional UPDATE, and a redelivered
    send carries the payout's bank reference."""
    report = dispatcher.dispatch_batch(batch=batch)
    report.settled = dispatcher.settle(
        after_seconds=settings.PAYOUT_SETTLE_AFTER_SECONDS, limit=batch
    )
    return {
        "claimed": report.claimed,
        "sent": report.sent,
        "failed": report.failed,
        "held": sum(report.held.values()),
        "settled": report.settled,
    }
