"""The runner's approval port: opening a request when a rule asks for
signatures (step 4 of DESIGN §2), using a plan's single-use token, and closing
the requests of what went away."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

import rfc8785
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from approvals import binding, lifecycle
from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRequest
from approvals.serializers import ApprovalSerializer
from approvals.tasks import queue_notification
from molam_ops.actions.context import ActionContext, RequestMeta
from molam_ops.actions.registry import ActionSpec, get_action
from molam_ops.errors import OpsError

log = logging.getLogger(__name__)


def _json(value: Any) -> Any:
    """JSON-native values (UUIDs, decimals and times as the API writes them)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True))


def stored_payload(spec: ActionSpec, payload: dict[str, Any]) -> dict[str, Any]:
    """What a request binds: the declared input fields of the body as sent
    (re-validated at execution), nothing else — an unknown field could carry
    anything into the signed bytes."""
    declared = spec.input().fields
    return _json({k: v for k, v in payload.items() if k in declared})


def target_key(action_type: str, target: dict[str, Any]) -> str:
    """One pending request per action and target (DESIGN §7)."""
    return hashlib.sha256(rfc8785.dumps([action_type, _json(target)])).hexdigest()


def _canonical_or_400(payload: dict[str, Any]) -> None:
    try:
        rfc8785.dumps(payload)
    except rfc8785.CanonicalizationError as exc:
        raise OpsError(
            "validation_error",
            _("The request holds a number that cannot be signed exactly."),
            fields={"non_field_errors": [str(exc)]},
        ) from exc


class ApprovalRequests:
    def request(
        self,
        ctx: ActionContext,
        data: dict[str, Any],
        payload: dict[str, Any],
        required: int,
    ) -> dict[str, Any]:
        spec = get_action(ctx.action_type)
        facts = spec.approval_facts(ctx, data) if spec.approval_facts else {}
        return self.open_request(
            ctx,
            action_type=ctx.action_type,
            payload=stored_payload(spec, payload),
            required=required,
            mode=spec.approval_mode,
            facts={**facts, "reason": str(data.get("reason") or "")},
            target={f: data[f] for f in spec.target_fields if f in data},
        )

    def open_request(
        self,
        ctx: ActionContext,
        *,
        action_type: str,
        payload: dict[str, Any],
        required: int,
        mode: str,
        facts: dict[str, Any] | None = None,
        target: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        spec = get_action(action_type)
        payload = _json(payload)
        _canonical_or_400(payload)
        key = target_key(
            action_type, spec.target_of(payload) if target is None else target
        )
        # a request for the same thing that is past its deadline no longer
        # waits: it is expired now, so it does not block this one
        lifecycle.expire_due(ctx.meta, target_key=key)
        now = timezone.now()
        approval = ApprovalRequest(
            action_reference=ctx.action_id,
            action_type=action_type,
            payload=payload,
            target_key=key,
            facts=_json(facts or {}),
            mode=mode,
            initiator_id=ctx.actor_id,
            initiator_role=ctx.role,
            initiator_roles=sorted(ctx.principal.roles),
            initiator_kind=ctx.principal.kind,
            idempotency_key=ctx.idempotency_key,
            required_approvals=required,
            expires_at=now + timedelta(hours=settings.APPROVAL_TTL_HOURS),
            created_at=now,
        )
        binding.seal(approval)
        try:
            with transaction.atomic():  # a savepoint: the refusal is audited
                approval.save(force_insert=True)
        except IntegrityError:
            raise _already_pending(key) from None
        # mail is slow and must not announce a request that rolled back
        transaction.on_commit(lambda: queue_notification(approval.id))
        return ApprovalSerializer(approval, context={"viewer_id": ctx.actor_id}).data

    def consume_token(
        self, *, action_type: str, payload: dict[str, Any], token: str
    ) -> str:
        """The approved request of this action and target whose token this is,
        used up: its binding and signatures checked again, its deadline too."""
        spec = get_action(action_type)
        payload = _json(payload)
        key = target_key(action_type, spec.target_of(payload))
        match = next(
            (
                a
                for a in ApprovalRequest.objects.prefetch_related("signatures")
                .filter(action_type=action_type, target_key=key)
                .order_by("-created_at")
                if binding.token_matches(a, token)
            ),
            None,
        )
        if match is None or match.payload != payload:
            raise OpsError(
                "approval_token_invalid",
                _("This approval token is not valid for this action."),
                status=403,
            )
        if lifecycle.effective_status(match) == ApprovalStatus.EXPIRED:
            raise OpsError(
                "approval_expired", _("This request has expired."), status=409
            )
        check_intact(match)
        # single use: only the first caller finds it unused
        used = ApprovalRequest.objects.filter(
            pk=match.pk, status=ApprovalStatus.APPROVED, token_used_at__isnull=True
        ).update(token_used_at=timezone.now(), status=ApprovalStatus.EXECUTED)
        if not used:
            raise OpsError(
                "approval_token_used",
                _("This approval token was already used."),
                status=403,
            )
        return str(match.pk)

    def close(
        self,
        *,
        action_type: str,
        payload: dict[str, Any],
        reason: str,
        meta: RequestMeta,
    ) -> list[str]:
        spec = get_action(action_type)
        key = target_key(action_type, spec.target_of(_json(payload)))
        return lifecycle.close(target_key=key, reason=reason, meta=meta)

    def describe(
        self, approval_ids: list[str], *, viewer_id: str | None
    ) -> dict[str, dict[str, Any]]:
        requests = ApprovalRequest.objects.prefetch_related("signatures").filter(
            pk__in=approval_ids
        )
        context = {"viewer_id": viewer_id}
        return {
            str(a.id): ApprovalSerializer(a, context=context).data for a in requests
        }


def check_intact(approval: ApprovalRequest) -> None:
    """Refuse to act on a request whose binding or signatures do not verify:
    something other than the application rewrote it."""
    approvers = binding.valid_approvers(approval, approval.signatures.all())
    recorded_enough = approval.status != ApprovalStatus.APPROVED or (
        len(approvers) >= approval.required_approvals
    )
    if binding.is_intact(approval) and recorded_enough:
        return
    log.error(
        "approval %s does not verify: it was changed outside the application",
        approval.id,
        extra={"approval_id": str(approval.id)},
    )
    raise OpsError(
        "approval_tampered",
        _("This request was changed outside the application; nothing was executed."),
        status=409,
        fields={"approval_id": [str(approval.id)]},
    )


def _already_pending(key: str) -> OpsError:
    pending = ApprovalRequest.objects.filter(
        target_key=key, status=ApprovalStatus.PENDING
    ).first()
    approval_id = str(pending.id) if pending else ""
    return OpsError(
        "approval_pending",
        _(
            "A request for the same action on the same target is already waiting "
            "for signatures (%(id)s): sign or decline that one."
        )
        % {"id": approval_id},
        status=409,
        fields={"approval_id": [approval_id]},
    )
