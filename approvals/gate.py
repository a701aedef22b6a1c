"""The runner's approval port: opening a request when a rule asks for
signatures (step 4 of DESIGN §2)."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from approvals import notifications
from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRequest
from approvals.serializers import approval_data
from molam_ops.actions.context import ActionContext
from molam_ops.actions.registry import get_action
from molam_ops.errors import OpsError


def canonical_payload(data: dict[str, Any]) -> dict[str, Any]:
    """The request's JSON payload, normalised so its hash is stable."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder, sort_keys=True))


def payload_hash(action_type: str, payload: dict[str, Any]) -> str:
    text = json.dumps([action_type, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class ApprovalRequestGate:
    def request(
        self,
        ctx: ActionContext,
        data: dict[str, Any],
        payload: dict[str, Any],
        required: int,
    ) -> dict[str, Any]:
        spec = get_action(ctx.action_type)
        return self.open_request(
            ctx,
            action_type=ctx.action_type,
            payload=payload,
            required=required,
            mode=spec.approval_mode,
        )

    def open_request(
        self,
        ctx: ActionContext,
        *,
        action_type: str,
        payload: dict[str, Any],
        required: int,
        mode: str,
    ) -> dict[str, Any]:
        spec = get_action(action_type)
        payload = canonical_payload(payload)
        now = timezone.now()
        approval = ApprovalRequest.objects.create(
            action_reference=ctx.action_id,
            action_type=action_type,
            payload=payload,
            payload_hash=payload_hash(action_type, payload),
            summary={
                "action": spec.summary,
                **spec.target_of(payload),
                **_money_and_scope(payload),
            },
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
        # email is slow and must not announce a request that rolled back
        transaction.on_commit(lambda: notifications.notify_approvers(approval.id))
        return approval_data(approval, viewer_id=ctx.actor_id)

    def consume_token(
        self, *, action_type: str, payload: dict[str, Any], token: str
    ) -> str:
        digest = payload_hash(action_type, canonical_payload(payload))
        match = ApprovalRequest.objects.filter(
            action_type=action_type, payload_hash=digest, approval_token=token
        ).first()
        if match is None:
            raise OpsError(
                "approval_token_invalid",
                _("This approval token is not valid for this action."),
                status=403,
            )
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

    def describe(
        self, approval_ids: list[str], *, viewer_id: str | None
    ) -> dict[str, dict[str, Any]]:
        requests = ApprovalRequest.objects.prefetch_related("signatures").filter(
            pk__in=approval_ids
        )
        return {str(a.id): approval_data(a, viewer_id=viewer_id) for a in requests}


def _money_and_scope(payload: dict[str, Any]) -> dict[str, Any]:
    keys = ("scope", "amount", "currency", "total_amount", "payout_count", "reason")
    return {k: payload[k] for k in keys if k in payload}
