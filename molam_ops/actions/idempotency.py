"""Idempotency-Key reservations (DESIGN §5), following Stripe's semantics.

The key is reserved in its own short transaction *before* the effect, so a
concurrent duplicate sees it at once (409) instead of running the effect too;
the response is stored in the effect's transaction, so a replay can never
return a response whose effect did not commit. A reservation whose request died
stays ``in_flight`` (409) until an operator resolves it: its outcome is unknown.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from molam_ops.errors import OpsError
from molam_ops.models import IdempotencyRecord

MAX_KEY_LENGTH = 255


def request_hash(action_type: str, payload: Any) -> str:
    canonical = json.dumps(
        [action_type, payload],
        sort_keys=True,
        separators=(",", ":"),
        cls=DjangoJSONEncoder,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


def check_key(key: str | None, *, required: bool) -> None:
    if key is None or key == "":
        if required:
            raise OpsError(
                "idempotency_key_required",
                _("State-changing requests need an Idempotency-Key header."),
                fields={"Idempotency-Key": [_("This header is required.")]},
            )
        return
    if len(key) > MAX_KEY_LENGTH:
        raise OpsError(
            "idempotency_key_invalid",
            _("The Idempotency-Key is longer than 255 characters."),
            fields={"Idempotency-Key": [_("At most 255 characters.")]},
        )


# reserve(found=...) when the caller has not looked the key up itself
NOT_LOOKED_UP: Any = object()


def reserve(
    *,
    scope: str,
    key: str,
    digest: str,
    action_type: str,
    action_id: uuid.UUID,
    found: Record | None = NOT_LOOKED_UP,
) -> Replay | None:
    """Reserve ``key`` for this request, or replay / refuse (409, 422).

    The existing record is looked up first (or passed as ``found``, from
    :func:`lookup`), so a replay costs one SELECT; a new key is INSERTed, and
    of two concurrent INSERTs the unique constraint lets one through — the
    other reads the winner's record.
    """
    for attempt in range(3):
        if attempt or found is NOT_LOOKED_UP:
            existing = lookup(scope=scope, key=key)
        else:
            existing = found
        if existing is None:
            if _insert(scope, key, digest, action_type, action_id):
                return None
            continue  # a concurrent request reserved it first: read its record
        if existing.expired:
            IdempotencyRecord.objects.filter(pk=existing.pk).delete()
            continue
        return _judge(existing, digest)
    raise OpsError("idempotency_key_in_use", _("Try again."), status=409)


@dataclass(frozen=True)
class Record:
    """What a request needs to know of a stored key."""

    pk: int
    request_hash: str
    status: str
    response_status: int | None
    response_body: dict[str, Any] | None
    expired: bool


def _cutoff() -> datetime:
    return timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def lookup(*, scope: str, key: str) -> Record | None:
    """The record of (scope, key): one indexed SELECT (the unique constraint)."""
    row = (
        IdempotencyRecord.objects.filter(scope=scope, key=key)
        .values_list(
            "pk",
            "request_hash",
            "status",
            "response_status",
            "response_body",
            "created_at",
        )
        .first()
    )
    if row is None:
        return None
    return Record(
        pk=row[0],
        request_hash=row[1],
        status=row[2],
        response_status=row[3],
        response_body=row[4],
        expired=row[5] < _cutoff(),
    )


def _insert(
    scope: str, key: str, digest: str, action_type: str, action_id: uuid.UUID
) -> bool:
    # The reservation must be visible to duplicates before the effect starts:
    # outside a transaction the INSERT commits by itself (one round trip, not
    # BEGIN, INSERT, COMMIT); inside one (a test's), a savepoint keeps a
    # conflict from breaking it. The effect's durable transaction refuses to
    # run inside another, so production never reserves inside one.
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with guard:
            IdempotencyRecord.objects.create(
                scope=scope,
                key=key,
                request_hash=digest,
                action_type=action_type,
                action_id=action_id,
                status=IdempotencyRecord.Status.IN_FLIGHT,
                created_at=timezone.now(),
            )
    except IntegrityError:
        return False
    return True


def _judge(existing: Record, digest: str) -> Replay:
    if existing.request_hash != digest:
        raise OpsError(
            "idempotency_key_reused",
            _("This Idempotency-Key was used with a different request."),
            status=422,
        )
    if existing.status == IdempotencyRecord.Status.COMPLETED:
        return Replay(existing.response_status or 200, existing.response_body or {})
    raise OpsError(
        "idempotency_key_in_use",
        _(
            "A request with this Idempotency-Key is in progress or its outcome "
            "is unknown; it will not run twice."
        ),
        status=409,
    )


def replay_of(record: Record | None, digest: str) -> Replay | None:
    """The stored response if ``record`` is a completed, unexpired request
    with this very body; else None (the request goes on to be judged)."""
    if (
        record is None
        or record.expired
        or record.request_hash != digest
        or record.status != IdempotencyRecord.Status.COMPLETED
    ):
        return None
    return Replay(record.response_status or 200, record.response_body or {})


def complete(*, scope: str, key: str, status: int, body: dict[str, Any]) -> None:
    """Store the response; call inside the effect's transaction."""
    IdempotencyRecord.objects.filter(
        scope=scope, key=key, status=IdempotencyRecord.Status.IN_FLIGHT
    ).update(
        status=IdempotencyRecord.Status.COMPLETED,
        response_status=status,
        response_body=json.loads(json.dumps(body, cls=DjangoJSONEncoder)),
        completed_at=timezone.now(),
    )


def release(*, scope: str, key: str) -> None:
    """Forget a reservation whose effect is known not to have committed."""
    IdempotencyRecord.objects.filter(
        scope=scope, key=key, status=IdempotencyRecord.Status.IN_FLIGHT
    ).delete()


def purge_expired() -> int:
    deleted, _rows = IdempotencyRecord.objects.filter(created_at__lt=_cutoff()).delete()
    return deleted


def forget_refusal(
    *, scope: str, key: str, codes: frozenset[str] | None = None
) -> bool:
    """Delete the refusal stored under ``key`` (of these ``codes``, or any),
    so the same key may run for real later (a plan step a control refused).

    Safe by the core's contract: a refusal from an effect rolls the effect
    back before the refusal is stored, so nothing it would replay committed.
    An executed (2xx) response is never touched."""
    records = IdempotencyRecord.objects.filter(
        scope=scope,
        key=key,
        status=IdempotencyRecord.Status.COMPLETED,
        response_status__gte=400,
    )
    if codes is not None:
        records = records.filter(response_body__error__code__in=sorted(codes))
    # one DELETE, in its own transaction: the retry that follows reserves anew
    with transaction.atomic():
        deleted, _rows = records.delete()
    return bool(deleted)


def committed_response(*, scope: str, key: str) -> dict[str, Any] | None:
    """The stored 2xx response under ``key``: its effect committed."""
    record = IdempotencyRecord.objects.filter(
        scope=scope,
        key=key,
        status=IdempotencyRecord.Status.COMPLETED,
        response_status__gte=200,
        response_status__lt=300,
    ).first()
    return record.response_body if record else None
