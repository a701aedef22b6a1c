"""The one execution core (DESIGN §2): :func:`execute` runs an authorized,
validated action — the approval rule, the precheck, the effect, the audit
row, the outbox events, the stored response, the after-commit hooks — and
:func:`measured` records its metrics and its log line.

Its callers are thin (:mod:`molam_ops.actions.runner`): ``run`` for HTTP, the
admin, commands and tasks (its own durable transaction), and ``run_inside``
for an action run inside another action's transaction (the one a suggestion
proposes, the one whose signatures reach quorum).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from molam_ops import outbox
from molam_ops.actions import idempotency
from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.ports import audit_sink, ports
from molam_ops.actions.registry import ActionSpec
from molam_ops.errors import OpsError, outage_dependency
from molam_ops.metrics import ACTION_DURATION, ACTION_REQUESTS
from molam_ops.request_context import bind_action, unbind_action

log = logging.getLogger("molam_ops.actions")


@dataclass(frozen=True)
class ActionResult:
    status: int
    body: dict[str, Any]
    replayed: bool = False

    @property
    def outcome(self) -> str:
        """What the metrics and the log line call it."""
        if self.replayed:
            return "replayed"
        return str((self.body.get("log") or {}).get("status", "executed"))


class Measure:
    """What :func:`measured` records; the caller sets the result."""

    def __init__(self) -> None:
        self.outcome = "error"
        self.code = ""

    def done(self, result: ActionResult) -> ActionResult:
        self.outcome = result.outcome
        return result


@contextmanager
def measured(ctx_action: str, actor_id: str, **log_extra: Any) -> Iterator[Measure]:
    """One run of one action: its counter, its duration and its log line,
    whether it executed, was refused or failed. Every caller of the core
    wraps it in this, nested runs included."""
    started = time.perf_counter()
    measure = Measure()
    bound = bind_action(actor=actor_id, action=ctx_action)
    try:
        yield measure
    except OpsError as exc:
        measure.outcome = "failed" if exc.status >= 500 else "rejected"
        measure.code = exc.code
        raise
    finally:
        elapsed = time.perf_counter() - started
        ACTION_REQUESTS.labels(action=ctx_action, status=measure.outcome).inc()
        ACTION_DURATION.labels(action=ctx_action).observe(elapsed)
        extra: dict[str, Any] = {
            "outcome": measure.outcome,
            "duration_ms": round(elapsed * 1000, 2),
            **log_extra,
        }
        if measure.code:
            extra["error_code"] = measure.code
        level = (
            logging.ERROR if measure.outcome in ("failed", "error") else logging.INFO
        )
        log.log(level, "action %s %s", ctx_action, measure.outcome, extra=extra)
        unbind_action(bound)


def execute(
    spec: ActionSpec,
    ctx: ActionContext,
    data: dict[str, Any],
    *,
    payload: dict[str, Any],
    target: dict[str, Any],
    inside: bool = False,
    approved: bool = False,
) -> ActionResult:
    """Execute ``spec`` for ``ctx`` on validated ``data`` (``approved``: its
    signatures are already in, so its approval rule is not asked again).

    Alone (``inside=False``) it opens the action's durable transaction; a
    refusal is recorded (and stored under the key) and raised, a crash is
    recorded as ``failed``, its key released, and raised as a 500.

    Inside another action's transaction, the effect runs in a savepoint: a
    refusal undoes only the effect, records its ``rejected`` row in the
    caller's transaction and raises; the caller decides what else it undoes.
    """
    if inside:
        try:
            with transaction.atomic():  # a savepoint: a refusal undoes the effect
                return _decide(spec, ctx, data, payload, target, approved)
        except OpsError as exc:
            refuse(ctx, target, exc, inside=True)
    try:
        # The action's durable transaction: effect, audit row, outbox events
        # and stored response commit together or not at all.
        with transaction.atomic(durable=True):
            return _decide(spec, ctx, data, payload, target, approved)
    except OpsError as exc:
        # a refusal from the rule, the precheck or the effect: its writes are
        # rolled back; the refusal is recorded and replayable
        refuse(ctx, target, exc, store=True)
    except Exception as exc:
        if outage_dependency(exc):
            # The database went away: nothing can be written, and if the
            # COMMIT itself failed the effect may have committed, so the key
            # stays reserved (a retry with it answers 409, never runs twice)
            # and no "failed" row claims otherwise. The caller answers 503.
            raise
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
    raise AssertionError("unreachable")  # refuse() raises


def _decide(
    spec: ActionSpec,
    ctx: ActionContext,
    data: dict[str, Any],
    payload: dict[str, Any],
    target: dict[str, Any],
    approved: bool,
) -> ActionResult:
    """The approval rule, then the precheck (a refusal that needs no
    signature to make, e.g. already frozen), then the request or the effect."""
    required = spec.approvals(ctx, data) if spec.approvals and not approved else 0
    if spec.precheck is not None:
        spec.precheck(ctx, **data)
    if required:
        outcome = _approval_outcome(ctx, data, payload, required, target)
        return record(ctx, outcome, "requested")
    return record(ctx, spec.func(ctx, **data), "executed")


def _approval_outcome(
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


def record(ctx: ActionContext, outcome: Outcome, status: str) -> ActionResult:
    """The one writer of an action's end, inside its transaction: the audit
    row, the outbox events, the stored response, the after-commit hooks."""
    row = audit_sink().append(
        ctx, status=status, target=outcome.target, details=outcome.details
    )
    for topic, event in ctx.events:
        outbox.add(topic, event, action_id=ctx.action_id)
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
    transaction.on_commit(outbox.nudge_relay)
    for hook in ports.after_commit_hooks:
        transaction.on_commit(functools.partial(hook, ctx), robust=True)
    return ActionResult(outcome.status, body)


def refuse(
    ctx: ActionContext,
    target: dict[str, Any],
    exc: OpsError,
    *,
    store: bool = False,
    inside: bool = False,
) -> None:
    """Write the ``rejected`` row of a refusal (in its own durable
    transaction, or the caller's when ``inside``), then raise it."""
    with transaction.atomic(durable=not inside):
        exc.audit_row = audit_sink().append(
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
