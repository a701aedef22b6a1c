"""Accepting and declining suggestions (DESIGN §8). Each proposes one ops
action; accepting runs that action as the caller, with its own roles and
approval rules, in the same transaction as the acceptance; declining records
the decision. How suggestions are made and refreshed:
:mod:`plans.services.suggestion_refresh`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from molam_ops.actions import runner
from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.core import ActionResult
from molam_ops.actions.registry import ActionSpec, get_action, ops_action
from molam_ops.errors import OpsError
from plans import sira_client
from plans.choices import SuggestionStatus
from plans.models import Suggestion
from plans.serializers import SuggestionSerializer
from plans.services.suggestion_refresh import SUGGESTION_ROLES

# --- accept / decline ----------------------------------------------------------


class SuggestionIdInput(serializers.Serializer):
    target_fields = ("suggestion_id",)
    suggestion_id = serializers.UUIDField()


class DeclineSuggestionInput(SuggestionIdInput):
    # why it was declined is what the next reader (and SIRA's people) need:
    # required, and blank (spaces) is no reason
    reason = serializers.CharField(max_length=500, trim_whitespace=True)


def _open_suggestion(suggestion_id: uuid.UUID) -> Suggestion:
    suggestion = Suggestion.objects.filter(pk=suggestion_id).first()
    if suggestion is None:
        raise OpsError(
            "suggestion_not_found", _("No suggestion with this id."), status=404
        )
    if suggestion.status != SuggestionStatus.OPEN:
        raise _closed(suggestion)
    return suggestion


def _closed(suggestion: Suggestion) -> OpsError:
    return OpsError(
        "suggestion_closed",
        _("This suggestion is already %(status)s.") % {"status": suggestion.status},
        status=409,
    )


def _decide(
    suggestion: Suggestion, status: str, ctx: ActionContext, **extra: Any
) -> None:
    """open → accepted/declined, by the one transaction that finds it open."""
    now = timezone.now()
    if not Suggestion.objects.filter(
        pk=suggestion.pk, status=SuggestionStatus.OPEN
    ).update(
        status=status, decided_by=ctx.actor_id, decided_at=now, updated_at=now, **extra
    ):
        suggestion.refresh_from_db()
        raise _closed(suggestion)
    suggestion.refresh_from_db()


def _proposed_spec(suggestion: Suggestion) -> ActionSpec:
    try:
        spec = get_action(suggestion.action_type)
    except KeyError:
        spec = None
    if spec is None or suggestion.action_type not in sira_client.SUGGESTION_ACTIONS:
        raise OpsError(
            "suggestion_action_unknown",
            _("This suggestion proposes an action that cannot run here."),
            status=409,
        )
    return spec


def _run_proposed(
    ctx: ActionContext, spec: ActionSpec, role: str, payload: dict[str, Any]
) -> tuple[ActionResult, str]:
    """The proposed action, run by the core inside the acceptance's
    transaction as the caller (in the role the caller holds for it), under
    its own action id, audit row and events. A refusal undoes the acceptance
    as well."""
    inner = ActionContext(
        action_id=uuid.uuid4(),
        action_type=spec.name,
        principal=ctx.principal,
        role=role,
        meta=ctx.meta,
    )
    result = runner.run_inside(
        spec.name,
        inner,
        payload,
        invalid=OpsError(
            "suggestion_invalid",
            _("The proposed action is no longer valid."),
            status=422,
        ),
    )
    return result, str(inner.action_id)


@ops_action(
    "accept_suggestion",
    roles=SUGGESTION_ROLES,
    input=SuggestionIdInput,
    resource="suggestion",
    route="suggestions/<uuid:suggestion_id>/accept",
)
def accept_suggestion(ctx: ActionContext, *, suggestion_id: uuid.UUID) -> Outcome:
    """Accept a suggestion: run the action it proposes, as the caller."""
    suggestion = _open_suggestion(suggestion_id)
    spec = _proposed_spec(suggestion)
    role = ctx.principal.acting_role(spec.roles)
    if role is None:
        raise OpsError(
            "forbidden",
            _("Your roles do not allow the action this suggestion proposes."),
            status=403,
        )
    _decide(suggestion, SuggestionStatus.ACCEPTED, ctx)
    result, action_id = _run_proposed(ctx, spec, role, suggestion.payload)
    summary = {
        "action_type": spec.name,
        "action_id": action_id,
        "status": result.outcome,
        "http_status": result.status,
    }
    Suggestion.objects.filter(pk=suggestion.pk).update(result=summary)
    suggestion.refresh_from_db()
    return Outcome(
        target={
            "suggestion_id": str(suggestion.id),
            "action_type": spec.name,
            "proposed_action_id": summary["action_id"],
        },
        resource={
            "suggestion": SuggestionSerializer(suggestion).data,
            "result": {k: v for k, v in result.body.items() if k != "ok"},
        },
        details={"title": suggestion.title, **summary},
        status=result.status,
    )


@ops_action(
    "decline_suggestion",
    roles=SUGGESTION_ROLES,
    input=DeclineSuggestionInput,
    resource="suggestion",
    route="suggestions/<uuid:suggestion_id>/decline",
)
def decline_suggestion(
    ctx: ActionContext, *, suggestion_id: uuid.UUID, reason: str
) -> Outcome:
    """Decline a suggestion; it is not proposed again while its cause lasts."""
    suggestion = _open_suggestion(suggestion_id)
    _decide(suggestion, SuggestionStatus.DECLINED, ctx, result={"reason": reason})
    return Outcome(
        target={
            "suggestion_id": str(suggestion.id),
            "action_type": suggestion.action_type,
        },
        resource={"suggestion": SuggestionSerializer(suggestion).data},
        details={"title": suggestion.title, "reason": reason},
    )
