"""The one ops-action runner (DESIGN §2). Every state change goes through
:func:`run`, whoever calls it: a DRF view, an admin action, a task, a command.

1. role check → 403 and a ``rejected`` row;
2. validation → 400 with field errors (not stored under the key);
3. idempotency: reserve the key → replay / 409 / 422;
4. approval rule → ``requested`` row and an approval request, 202;
5. one durable transaction: the effect, its audit row, its outbox events and
   the stored response;
6. metrics.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from molam_ops import outbox
from molam_ops.actions import batch, idempotency
from molam_ops.actions.context import ActionContext, Outcome, RequestMeta
from molam_ops.actions.ports import audit_sink, ports
from molam_ops.actions.registry import ActionSpec, get_action
from molam_ops.errors import OpsError, validation_fields
from molam_ops.identity import Principal
from molam_ops.metrics import ACTION_DURATION, ACTION_REQUESTS
from molam_ops.request_context import action_id_var, bind_action, unbind_action

log = logging.getLogger("molam_ops.actions")


# The view passes this when the body could not be parsed, so that the refusal
# is still checked against the role first and leaves its audit row.
MALFORMED: Any = object()
# Likewise when the body is not JSON at all (form, text): 415 after the role.
UNSUPPORTED_MEDIA: Any = object()


@dataclass(frozen=True)
class ActionResult:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def run(
    name: str,
    principal: Principal,
    payload: Any,
    *,
    idempotency_key: str | None = None,
    require_key: bool = False,
    meta: RequestMeta | None = None,
) -> ActionResult:
    """Run action ``name`` for ``principal``; refusals raise :class:`OpsError`
    after their audit row is written."""
    spec = get_action(name)
    started = time.perf_counter()
    outcome = "error"
    code = ""
    bound = bind_action(actor=principal.id, action=name)
    try:
        result = _run(
            spec,
            principal,
            payload,
            idempotency_key,
            require_key,
            meta or RequestMeta(),
        )
        outcome = "replayed" if result.replayed else _status_label(result)
        return result
    except OpsError as exc:
        outcome = "failed" if exc.status >= 500 else "rejected"
        code = exc.code
        raise
    finally:
        elapsed = time.perf_counter() - started
        ACTION_REQUESTS.labels(action=name, status=outcome).inc()
        ACTION_DURATION.labels(action=name).observe(elapsed)
        _log_call(name, outcome, code, elapsed)
        unbind_action(bound)


def _log_call(name: str, outcome: str, code: str, elapsed: float) -> None:
    """The one line per call; actor, action and its id come from the context."""
    extra: dict[str, Any] = {
        "outcome": outcome,
        "duration_ms": round(elapsed * 1000, 2),
    }
    if code:
        extra["error_code"] = code
    level = logging.ERROR if outcome in ("failed", "error") else logging.INFO
    log.log(level, "action %s %s", name, outcome, extra=extra)


def _status_label(result: ActionResult) -> str:
    log_row = result.body.get("log") or {}
    return str(log_row.get("status", "executed"))


def _run(
    spec: ActionSpec,
    principal: Principal,
    payload: Any,
    key: str | None,
    require_key: bool,
    meta: RequestMeta,
) -> ActionResult:
    role = principal.acting_role(spec.roles)
    ctx = ActionContext(
        action_id=uuid.uuid4(),
        action_type=spec.name,
        principal=principal,
        role=role or _any_role(principal),
        idempotency_key=key,
        meta=meta,
    )
    action_id_var.set(str(ctx.action_id))  # run() restores the previous value
    raw = payload if isinstance(payload, dict) else {}
    if role is None:
        _refuse(
            ctx,
            spec.target_of(raw),
            OpsError(
                "forbidden", _("Your roles do not allow this action."), status=403
            ),
        )
    if payload is MALFORMED:
        _refuse(ctx, {}, OpsError("malformed_json", _("The body is not valid JSON.")))
    if payload is UNSUPPORTED_MEDIA:
        _refuse(
            ctx,
            {},
            OpsError(
                "unsupported_media_type",
                _("Send the body as application/json."),
                status=415,
            ),
        )
    if not isinstance(payload, dict):
        _refuse(
            ctx,
            {},
            OpsError(
                "validation_error",
                _("The body must be a JSON object."),
                fields={"non_field_errors": [_("Expected a JSON object.")]},
            ),
        )
    found: Any = idempotency.NOT_LOOKED_UP
    digest = ""
    if key and len(key) <= idempotency.MAX_KEY_LENGTH:
        # A completed identical request replays before validation: whatever
        # the serializer said now, the answer would be that stored response
        # (see below), and the replay skips the serializer's cost. A new key's
        # record (None) goes to reserve(), so it costs no second SELECT.
        digest = idempotency.request_hash(spec.name, payload)
        found = idempotency.lookup(scope=principal.id, key=key)
        stored = idempotency.replay_of(found, digest)
        if stored:
            return ActionResult(stored.status, stored.body, replayed=True)
    serializer = spec.input(data=payload)
    if not serializer.is_valid():
        # A retry of a request that was valid when first run (an expires_at
        # since passed) replays its stored response, as Stripe does; looked
        # up only here, so the hot path pays nothing for it.
        stored = (
            idempotency.completed_replay(
                scope=principal.id,
                key=key,
                digest=idempotency.request_hash(spec.name, payload),
            )
            if key
            else None
        )
        if stored:
            return ActionResult(stored.status, stored.body, replayed=True)
        _refuse(
            ctx,
            spec.target_of(raw),
            OpsError(
                "validation_error",
                _("Some fields are invalid."),
                fields=validation_fields(serializer.errors),
            ),
        )
    data = dict(serializer.validated_data)
    target = spec.target_of(raw)
    try:
        idempotency.check_key(key, required=require_key)
    except OpsError as exc:
        _refuse(ctx, target, exc)
    if key:
        try:
            replay = idempotency.reserve(
                scope=principal.id,
                key=key,
                digest=digest,
                action_type=spec.name,
                action_id=ctx.action_id,
                found=found,
            )
        except OpsError as exc:
            _refuse(ctx, target, exc)
        if replay is not None:
            return ActionResult(replay.status, replay.body, replayed=True)
    return _execute(spec, ctx, data, target, payload)


def _execute(
    spec: ActionSpec,
    ctx: ActionContext,
    data: dict[str, Any],
    target: dict[str, Any],
    payload: dict[str, Any],
) -> ActionResult:
    try:
        # inside the try: a rule that raises is recorded and its key released
        # like any failure, not left reserved and unaudited
        required = spec.approvals(ctx, data) if spec.approvals else 0
        # The durable transaction of the action: effect, audit row, outbox
        # events and stored response commit together or not at all.
        with transaction.atomic(durable=True):
            if spec.precheck is not None:
                spec.precheck(ctx, **data)
            if required:
                result = approval_outcome(ctx, data, payload, required, target)
                return finish(ctx, result, "requested")
            return finish(ctx, spec.func(ctx, **data), "executed")
    except OpsError as exc:
        # A refusal from the effect (409 already paused, 404 unknown bank):
        # its writes are rolled back; the refusal is recorded and replayable.
        _refuse(ctx, target, exc, store=True)
    except Exception as exc:
        log.exception("action %s %s failed", spec.name, ctx.action_id)
        with transaction.atomic(durable=True):
            audit_sink().append(
                ctx,
                status="failed",
                target=target,
                details={"error": type(exc).__name__},
            )
        if ctx.idempotency_key:
            # nothing committed, so the same key may safely run again
            idempotency.release(scope=ctx.actor_id, key=ctx.idempotency_key)
        raise OpsError(
            "action_failed", _("The action failed; nothing was changed."), status=500
        ) from exc
    raise AssertionError("unreachable")


def approval_outcome(
    ctx: ActionContext,
    data: dict[str, Any],
    payload: dict[str, Any],
    required: int,
    target: dict[str, Any],
) -> Outcome:
    """The 202 of an action that waits for ``required`` signatures."""
    if ports.approvals is None:
        raise RuntimeError("approval required but no approvals app")
    approval = ports.approvals.request(ctx, data, payload, required)
    return Outcome(
        target=target,
        resource={"approval": approval},
        details={"required_approvals": required},
        status=202,
    )


def finish(ctx: ActionContext, outcome: Outcome, status: str) -> ActionResult:
    """The one writer of an action's end, inside its transaction: the audit
    row, the outbox events, the stored response, the after-commit hooks
    (also used by :mod:`molam_ops.actions.nested`)."""
    # the audit row, the events and the stored response: written, never read
    # back, so on PostgreSQL they go in one round trip (actions/batch.py)
    with batch.together():
        row = audit_sink().append(
            ctx, status=status, target=outcome.target, details=outcome.details
        )
        for topic, payload in ctx.events:
            outbox.add(topic, payload, action_id=ctx.action_id)
        outbox.add(
            f"ops.{ctx.action_type}.{status}",
            {
                "action_id": str(ctx.action_id),
                "action_type": ctx.action_type,
                "actor_id": ctx.actor_id,
                "actor_role": ctx.role,
                "status": status,
                "target": outcome.target,
                "details": outcome.details,
                "request_id": ctx.meta.request_id,
            },
            action_id=ctx.action_id,
        )
        body: dict[str, Any] = {"ok": True, "log": row, **(outcome.resource or {})}
        if ctx.idempotency_key:
            idempotency.complete(
                scope=ctx.actor_id,
                key=ctx.idempotency_key,
                status=outcome.status,
                body=body,
            )
    transaction.on_commit(_nudge_relay)
    for hook in ports.after_commit_hooks:
        transaction.on_commit(functools.partial(hook, ctx), robust=True)
    return ActionResult(outcome.status, body)


def _refuse(
    ctx: ActionContext, target: dict[str, Any], exc: OpsError, *, store: bool = False
) -> None:
    """Write the ``rejected`` row of a refusal, then raise it."""
    with transaction.atomic(durable=True):
        audit_sink().append(
            ctx,
            status="rejected",
            target=target,
            details={
                "code": exc.code,
                "message": str(exc.message),
                "fields": exc.fields,
            },
        )
        if store and ctx.idempotency_key:
            idempotency.complete(
                scope=ctx.actor_id,
                key=ctx.idempotency_key,
                status=exc.status,
                body=exc.body(),
            )
    raise exc


def _any_role(principal: Principal) -> str:
    """The role a refused caller is recorded under: its highest, or "none"."""
    return principal.acting_role(principal.roles) or "none"


RELAY_QUEUED_FLAG = "molam_ops:outbox-relay-queued"


def _nudge_relay() -> None:
    """Queue one relay unless one is already queued: a Celery message per
    action was ~11% of an action's CPU (bench/README.md). The relay clears the
    flag before reading the outbox, so no committed event waits for beat."""
    from django.core.cache import cache

    from molam_ops.tasks import relay_outbox

    try:
        if not cache.add(RELAY_QUEUED_FLAG, 1, timeout=30):
            return
        relay_outbox.delay()
    except Exception:  # the beat schedule relays anyway
        log.warning("could not queue the outbox relay", exc_info=True)
