"""Actions run inside another caller's transaction, under their own action
id: the one a suggestion proposes (run when it is accepted), and the one whose
signatures reach quorum (run by the final signature). Same steps as
:func:`molam_ops.actions.runner.run` after authorization, same writer."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.ports import audit_sink
from molam_ops.actions.registry import ActionSpec, get_action
from molam_ops.actions.runner import approval_outcome, finish
from molam_ops.errors import OpsError, validation_fields

log = logging.getLogger("molam_ops.actions")  # one logger for every action line


def run_nested(
    spec: ActionSpec, ctx: ActionContext, data: dict[str, Any], payload: dict[str, Any]
) -> tuple[str, Outcome, dict[str, Any]]:
    """Run a validated action inside the caller's transaction, under ``ctx``
    (its own action id): precheck, approval rule (a request when signatures
    are needed), the effect in a savepoint, and its own audit row and events.
    Returns its status (``executed`` or ``requested``), its outcome and its
    audit row. A refusal raises: the caller's transaction decides what it
    undoes (accepting a suggestion runs the action it proposes this way)."""
    if spec.precheck is not None:
        spec.precheck(ctx, **data)
    required = spec.approvals(ctx, data) if spec.approvals else 0
    if required:
        target = spec.target_of(payload)
        outcome = approval_outcome(ctx, data, payload, required, target)
        status = "requested"
    else:
        with transaction.atomic():  # a savepoint around the effect alone
            outcome = spec.func(ctx, **data)
        status = "executed"
    return status, outcome, finish(ctx, outcome, status).body["log"]


def run_approved(
    name: str, ctx: ActionContext, payload: dict[str, Any]
) -> tuple[str, dict[str, Any], Outcome | None]:
    """Execute an action whose signatures reached quorum, inside the caller's
    (the final signature's) transaction, under the original ``ctx``.

    The input is validated again and the effect re-checks the state it depends
    on; a refusal now is recorded as ``rejected`` under the original action id
    instead of failing the signature that triggered it.
    """
    spec = get_action(name)
    serializer = spec.input(data=payload)
    try:
        if not serializer.is_valid():
            raise OpsError(
                "validation_error",
                _("The approved request is no longer valid."),
                fields=validation_fields(serializer.errors),
            )
        with transaction.atomic():  # a savepoint: a refusal undoes only the effect
            outcome = spec.func(ctx, **dict(serializer.validated_data))
            result = finish(ctx, outcome, "executed")
        _log_approved(ctx, "executed")
        return "executed", result.body["log"], outcome
    except OpsError as exc:
        row = audit_sink().append(
            ctx,
            status="rejected",
            target=spec.target_of(payload),
            details={"code": exc.code, "message": str(exc.message)},
        )
        _log_approved(ctx, "rejected", exc.code)
        return "rejected", row, None


def _log_approved(ctx: ActionContext, outcome: str, code: str = "") -> None:
    """The line of an action run at quorum, inside the final signature's call:
    under the original requester and action, not the signer's."""
    extra: dict[str, Any] = {
        "actor": ctx.actor_id,
        "action": ctx.action_type,
        "action_id": str(ctx.action_id),
        "outcome": outcome,
    }
    if code:
        extra["error_code"] = code
    log.info("action %s %s at quorum", ctx.action_type, outcome, extra=extra)
