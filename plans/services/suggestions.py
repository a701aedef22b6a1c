"""Suggestions for the widgets (issue 4 point 5): from SIRA's
``GET /api/suggestions`` when it answers, else derived from bank health and
the local planner (``plans.services.suggestion_candidates``). Each proposes
one ops action; accepting runs that action as the caller, with its own roles
and approval rules, in the same transaction as the acceptance; declining
records the decision.

Suggestions are stored (``sira_suggestions``) so that a decision is taken
once and audited. ``GET /api/ops/suggestions`` refreshes them at most every
``SUGGESTIONS_REFRESH_SECONDS``, through the system action
``refresh_suggestions``, and only when something changed (a new proposal,
new figures, or one no longer proposed, which expires). A suggestion
accepted or declined is not proposed again for ``DECIDED_SNOOZE`` (24 h):
its cause may last (a declined pause) or take time to go (a plan being
generated and signed).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from molam_ops.actions import nested, runner
from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.registry import ActionSpec, get_action, ops_action
from molam_ops.errors import OpsError, validation_fields
from molam_ops.identity import system_principal
from plans import sira_client
from plans.choices import PlanSource, SuggestionStatus
from plans.models import Suggestion
from plans.serializers import SuggestionSerializer
from plans.services.suggestion_candidates import candidates
from plans.services.suggestion_texts import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    TEXT_FIELDS,
)

CACHE_KEY = "plans:suggestions:refreshed"
SYSTEM_ACTOR = "plans.suggestions"
SUGGESTION_ROLES = {"pay_admin", "finance_ops", "ops"}
DECIDED_SNOOZE = timedelta(hours=24)
COMPARED = ("source", *TEXT_FIELDS, "confidence", "action_type", "payload")


def _differs(stored: Suggestion, new: dict[str, Any]) -> bool:
    current = {
        "source": stored.source,
        # "" and None both mean "no text in this language" (a fallback)
        **{f: getattr(stored, f) or None for f in TEXT_FIELDS},
        "confidence": f"{stored.confidence:.3f}",
        "action_type": stored.action_type,
        "payload": stored.payload,
    }
    return any(
        current[k] != (new[k] or None if k in TEXT_FIELDS else new[k]) for k in COMPARED
    )


def refresh(*, force: bool = False) -> bool:
    """Bring the open suggestions up to date (at most every
    ``SUGGESTIONS_REFRESH_SECONDS``); True when something was written."""
    ttl = settings.SUGGESTIONS_REFRESH_SECONDS
    if not force and ttl > 0 and cache.get(CACHE_KEY):
        return False
    source, found, reason = candidates()
    # decided lately: not proposed again at once (declined, or accepted and
    # still taking effect, like a plan being generated and signed)
    snoozed = set(
        Suggestion.objects.filter(
            decided_at__gte=timezone.now() - DECIDED_SNOOZE
        ).values_list("fingerprint", flat=True)
    )
    found = [c for c in found if c["fingerprint"] not in snoozed]
    open_now = {s.fingerprint: s for s in Suggestion.objects.filter(status="open")}
    wanted = {c["fingerprint"]: c for c in found}
    changed = set(open_now) != set(wanted) or any(
        _differs(open_now[f], c) for f, c in wanted.items() if f in open_now
    )
    if changed:
        runner.run(
            "refresh_suggestions",
            system_principal(SYSTEM_ACTOR),
            {"source": source, "candidates": found, "fallback_reason": reason},
        )
    if ttl > 0:
        cache.set(CACHE_KEY, 1, ttl)
    return changed


# --- refresh_suggestions (system) ---------------------------------------------


class CandidateInput(serializers.Serializer):
    fingerprint = serializers.CharField(max_length=255)
    source = serializers.ChoiceField(choices=PlanSource.choices)
    confidence = serializers.DecimalField(
        max_digits=4, decimal_places=3, min_value=Decimal(0), max_value=Decimal(1)
    )
    action_type = serializers.ChoiceField(choices=sira_client.SUGGESTION_ACTIONS)
    payload = serializers.DictField()

    def get_fields(self) -> dict[str, serializers.Field]:
        # title_<lang>, description_<lang>: the default language's title is
        # required, the other languages may be missing (they fall back)
        fields = super().get_fields()
        for lang in LANGUAGES:
            fields[f"title_{lang}"] = (
                serializers.CharField(max_length=255)
                if lang == DEFAULT_LANGUAGE
                else serializers.CharField(
                    max_length=255, allow_blank=True, allow_null=True, default=None
                )
            )
            fields[f"description_{lang}"] = serializers.CharField(
                allow_blank=True, allow_null=True, default=None
            )
        return fields


class RefreshSuggestionsInput(serializers.Serializer):
    source = serializers.ChoiceField(choices=PlanSource.choices)
    candidates = CandidateInput(many=True, max_length=200)
    fallback_reason = serializers.CharField(allow_blank=True, required=False)


@ops_action(
    "refresh_suggestions", roles={"system"}, input=RefreshSuggestionsInput, http=False
)
def refresh_suggestions(
    ctx: ActionContext,
    *,
    source: str,
    candidates: list[dict[str, Any]],
    fallback_reason: str = "",
) -> Outcome:
    """Store new suggestions, update changed ones, expire those gone (system)."""
    now = timezone.now()
    wanted = {c["fingerprint"]: c for c in candidates}
    created, updated = [], []
    for fingerprint, c in wanted.items():
        fields = {k: c[k] for k in COMPARED}
        if Suggestion.objects.filter(fingerprint=fingerprint, status="open").update(
            **fields, updated_at=now
        ):
            updated.append(fingerprint)
            continue
        try:
            with transaction.atomic():  # a concurrent refresh may have made it
                Suggestion.objects.create(
                    fingerprint=fingerprint, created_at=now, updated_at=now, **fields
                )
            created.append(fingerprint)
        except IntegrityError:
            continue
    expired = list(
        Suggestion.objects.filter(status="open")
        .exclude(fingerprint__in=wanted)
        .values_list("fingerprint", flat=True)
    )
    Suggestion.objects.filter(status="open", fingerprint__in=expired).update(
        status=SuggestionStatus.EXPIRED, updated_at=now
    )
    return Outcome(
        target={"source": source},
        details={
            "source": source,
            "fallback_reason": fallback_reason,
            "created": created,
            "updated": updated,
            "expired": expired,
        },
    )


# --- accept / decline ----------------------------------------------------------


class SuggestionIdInput(serializers.Serializer):
    target_fields = ("suggestion_id",)
    suggestion_id = serializers.UUIDField()


class DeclineSuggestionInput(SuggestionIdInput):
    reason = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )


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
) -> tuple[Outcome, str]:
    """The proposed action as the runner would run it for the caller (steps 2,
    4 and 5 of DESIGN §2), inside the acceptance's transaction: its own
    validation, approval rule and effect, and its own audit row and events
    under its own action id. A refusal undoes the acceptance as well."""
    inner = ActionContext(
        action_id=uuid.uuid4(),
        action_type=spec.name,
        principal=ctx.principal,
        role=role,
        meta=ctx.meta,
    )
    serializer = spec.input(data=payload)
    if not serializer.is_valid():
        raise OpsError(
            "suggestion_invalid",
            _("The proposed action is no longer valid."),
            status=422,
            fields=validation_fields(serializer.errors),
        )
    status, outcome, row = nested.run_nested(
        spec, inner, dict(serializer.validated_data), payload
    )
    return Outcome(
        target=outcome.target,
        resource={"log": row, **(outcome.resource or {})},
        details={"action_id": str(inner.action_id), "status": status},
        status=outcome.status,
    ), status


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
    result, status = _run_proposed(ctx, spec, role, suggestion.payload)
    summary = {
        "action_type": spec.name,
        "action_id": result.details["action_id"],
        "status": status,
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
            "result": result.resource,
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
    ctx: ActionContext, *, suggestion_id: uuid.UUID, reason: str = ""
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
