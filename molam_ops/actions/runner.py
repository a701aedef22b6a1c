"""The runner: the thin callers of the execution core (DESIGN §2).

:func:`run` serves HTTP, the admin, commands and tasks:

1. role check → 403 and a ``rejected`` row;
2. validation → 400 with field errors (not stored under the key);
3. idempotency: reserve the key → replay / 409 / 422;
4. :func:`molam_ops.actions.core.execute`: the approval rule (202 and a
   request), the precheck, the effect, its audit row, outbox events and
   stored response in one durable transaction; metrics around it all.

:func:`run_inside` runs an action inside another action's transaction, under
a context its caller builds explicitly (whose action it is, as which role).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.utils.translation import gettext_lazy as _

from molam_ops.actions import idempotency
from molam_ops.actions.context import ActionContext, RequestMeta
from molam_ops.actions.core import ActionResult, execute, measured, refuse
from molam_ops.actions.registry import ActionSpec, get_action
from molam_ops.errors import OpsError, validation_fields
from molam_ops.identity import Principal
from molam_ops.request_context import action_id_var

__all__ = ["MALFORMED", "UNSUPPORTED_MEDIA", "ActionResult", "run", "run_inside"]

# The view passes this when the body could not be parsed, so that the refusal
# is still checked against the role first and leaves its audit row.
MALFORMED: Any = object()
# Likewise when the body is not JSON at all (form, text): 415 after the role.
UNSUPPORTED_MEDIA: Any = object()


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
    with measured(name, principal.id) as measure:
        return measure.done(
            _run(
                spec,
                principal,
                payload,
                idempotency_key,
                require_key,
                meta or RequestMeta(),
            )
        )


def run_inside(
    name: str,
    ctx: ActionContext,
    payload: dict[str, Any],
    *,
    approved: bool = False,
    invalid: OpsError | None = None,
) -> ActionResult:
    """Run action ``name`` inside the caller's transaction under ``ctx`` (its
    own action id; the principal and role the caller chose). The payload is
    validated again; an invalid one is refused with ``invalid`` (its fields
    filled in). A refusal is recorded under ``ctx`` and raised: the caller's
    transaction decides what else it undoes. ``approved``: its signatures
    are in (run at quorum), the approval rule is not asked again."""
    spec = get_action(name)
    target = spec.target_of(payload)
    with measured(name, ctx.actor_id, action_id=str(ctx.action_id)) as measure:
        serializer = spec.input(data=payload)
        if not serializer.is_valid():
            base = invalid or OpsError(
                "validation_error", _("Some fields are invalid.")
            )
            refuse(
                ctx,
                target,
                OpsError(
                    base.code,
                    base.message,
                    status=base.status,
                    fields=validation_fields(serializer.errors),
                ),
                inside=True,
            )
        data = dict(serializer.validated_data)
        return measure.done(
            execute(
                spec,
                ctx,
                data,
                payload=payload,
                target=target,
                inside=True,
                approved=approved,
            )
        )


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
        refuse(
            ctx,
            spec.target_of(raw),
            OpsError(
                "forbidden", _("Your roles do not allow this action."), status=403
            ),
        )
    if payload is MALFORMED:
        refuse(ctx, {}, OpsError("malformed_json", _("The body is not valid JSON.")))
    if payload is UNSUPPORTED_MEDIA:
        refuse(
            ctx,
            {},
            OpsError(
                "unsupported_media_type",
                _("Send the body as application/json."),
                status=415,
            ),
        )
    if not isinstance(payload, dict):
        refuse(
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
        # A completed identical request replays before validation, as Stripe
        # does: a retry of a request that was valid when first run (an
        # expires_at since passed) gets its stored response, and the replay
        # skips the serializer's cost. A new key's record (None) goes to
        # reserve(), so it costs no second SELECT.
        digest = idempotency.request_hash(spec.name, payload)
        found = idempotency.lookup(scope=principal.id, key=key)
        stored = idempotency.replay_of(found, digest)
        if stored:
            return ActionResult(stored.status, stored.body, replayed=True)
    serializer = spec.input(data=payload)
    if not serializer.is_valid():
        refuse(
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
        refuse(ctx, target, exc)
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
            refuse(ctx, target, exc)
        if replay is not None:
            return ActionResult(replay.status, replay.body, replayed=True)
    return execute(spec, ctx, data, payload=payload, target=target)


def _any_role(principal: Principal) -> str:
    """The role a refused caller is recorded under: its highest, or "none"."""
    return principal.acting_role(principal.roles) or "none"
