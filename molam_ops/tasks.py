"""Kernel tasks: the outbox relay and the purges of idempotency keys and of
sent events (beat)."""

from celery import shared_task
from django.core.cache import cache

from molam_ops import outbox
from molam_ops.actions import idempotency


@shared_task(ignore_result=True)
def relay_outbox() -> int:
    cache.delete(outbox.RELAY_QUEUED_FLAG)  # before reading: later commits queue anew
    return outbox.relay()


@shared_task(ignore_result=True)
def purge_idempotency_keys() -> int:
    return idempotency.purge_expired()


@shared_task(ignore_result=True)
def purge_outbox() -> int:
    return outbox.purge_sent()
