"""Refreshing the stored suggestions: from SIRA's ``GET /api/suggestions``
when it answers, else derived from bank health and the local planner
(:mod:`plans.services.suggestion_candidates`).

Beat refreshes them every ``SUGGESTIONS_REFRESH_SECONDS``; a bank's health
changing, or a freeze or a bank's pause being switched on or off (by hand, by
the breaker, by a plan or by expiry), queues a refresh (at most one per
``SUGGESTIONS_DEBOUNCE_SECONDS`` for all of them), and an operator may ask for
it at once (``POST /api/ops/refresh-suggestions``, which queues the same
task): never inside a read, which would pay SIRA's timeout. The system action
``update_suggestions`` writes only when something changed (a new proposal,
new figures, or one no longer proposed, which expires). A
suggestion accepted or declined is not proposed again for ``DECIDED_SNOOZE``
(24 h): its cause may last (a declined pause) or take time to go (a plan
being generated and signed).
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import serializers

from controls.keys import feature_key
from molam_ops.actions import runner
from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.registry import ops_action
from molam_ops.identity import SYSTEM_ROLE, system_principal
from molam_ops.lib.fields import AsciiDecimalField
from molam_ops.outages import queue_task
from plans import sira_client
from plans.choices import PlanSource, SuggestionStatus
from plans.models import Suggestion
from plans.services.suggestion_candidates import candidates
from plans.services.suggestion_texts import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    TEXT_FIELDS,
)

SYSTEM_ACTOR = "plans.suggestions"
SUGGESTION_ROLES = {"pay_admin", "finance_ops", "ops"}
DECIDED_SNOOZE = timedelta(hours=24)
COMPARED = ("source", *TEXT_FIELDS, "confidence", "action_type", "payload")
REFRESH_TASK = "plans.tasks.refresh_suggestions"
# set for the debounce window after a health change or a control switch
# queued a refresh
DEBOUNCE_KEY = "plans:suggestions:refresh-queued"
# a change landed inside that window: beat's sweep refreshes
CHANGED_KEY = "plans:suggestions:changed"


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


def refresh() -> bool:
    """Bring the open suggestions up to date; True when something was written.
    Calls SIRA: for workers and commands, never a request."""
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
            "update_suggestions",
            system_principal(SYSTEM_ACTOR),
            {"source": source, "candidates": found, "fallback_reason": reason},
        )
    return changed


# --- update_suggestions (system) ----------------------------------------------


class CandidateInput(serializers.Serializer):
    fingerprint = serializers.CharField(max_length=255)
    # DRF's metaclass takes declared fields out of the class body, so this
    # does not replace Field.source, as the stubs assume
    source = serializers.ChoiceField(choices=PlanSource.choices)  # type: ignore[assignment]
    confidence = AsciiDecimalField(
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


class UpdateSuggestionsInput(serializers.Serializer):
    # DRF's metaclass takes declared fields out of the class body, so this
    # does not replace Field.source, as the stubs assume
    source = serializers.ChoiceField(choices=PlanSource.choices)  # type: ignore[assignment]
    # ListSerializer takes max_length; drf-stubs leave it out of many=True
    candidates = CandidateInput(many=True, max_length=200)  # type: ignore[call-arg]
    fallback_reason = serializers.CharField(allow_blank=True, required=False)


@ops_action(
    "update_suggestions", roles={SYSTEM_ROLE}, input=UpdateSuggestionsInput, http=False
)
def update_suggestions(
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


# --- refresh_suggestions (operators) -------------------------------------------


class RefreshSuggestionsInput(serializers.Serializer):
    """The refresh looks at the state of the banks now; the reason is kept
    in its audit row."""

    reason = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )


def _queue_refresh() -> bool:
    """Queue the refresh task; False when it could not be (beat refreshes
    anyway). It runs after the commit of actions a person waits on (a freeze
    in an incident), so it never fails nor waits on a Redis known down."""
    # found by name: the tasks module imports the services, not the reverse
    return queue_task(REFRESH_TASK, "the suggestions' refresh")


def _window() -> float:
    return float(settings.SUGGESTIONS_DEBOUNCE_SECONDS)


def _queue_debounced() -> None:
    """One refresh at the start of a burst of changes, one for its tail: the
    first change queues a refresh at once and opens the window; a change
    inside the window marks the suggestions changed, and beat's sweep
    (:func:`refresh_if_changed`, every window) refreshes once for all of
    them. No message waits on the worker for a countdown: a worker holding
    one when Redis drops dies in kombu's reconnection (5.7.0), and with it
    the outbox relay."""
    window = _window()
    if window <= 0:
        _queue_refresh()
        return
    if cache.add(DEBOUNCE_KEY, 1, timeout=math.ceil(window)):
        if not _queue_refresh():
            cache.delete(DEBOUNCE_KEY)  # not queued after all: the next change tries
    else:
        cache.set(CHANGED_KEY, 1, timeout=settings.SUGGESTIONS_REFRESH_SECONDS)


def refresh_if_changed() -> bool:
    """Beat, every ``SUGGESTIONS_DEBOUNCE_SECONDS``: refresh when changes
    landed inside a burst's window and no refresh was queued since; False
    (and nothing read) otherwise."""
    if not cache.get(CHANGED_KEY):
        return False
    if not cache.add(DEBOUNCE_KEY, 1, timeout=max(1, math.ceil(_window()))):
        return False  # a refresh was just queued; the next sweep looks again
    # cleared before reading: a change committed after this is swept next time
    cache.delete(CHANGED_KEY)
    refresh()
    return True


def on_bank_health_changed(**_: Any) -> None:
    """Receiver of ``payouts.signals.bank_health_changed``: after the commit
    (the refresh reads what it wrote), robust (a broker or cache that is down
    loses the nudge; beat refreshes anyway)."""
    transaction.on_commit(_queue_debounced, robust=True)


def on_control_switched(*, key: str, **_: Any) -> None:
    """Receiver of ``controls.signals.control_switched``, as health changes
    are: a pause or a freeze put on or lifted changes what is worth proposing
    (a pause already in force is proposed no more). A feature flag lapsing
    changes nothing here."""
    if not key.startswith(feature_key("")):
        transaction.on_commit(_queue_debounced, robust=True)


def connect_health() -> None:
    from payouts.signals import bank_health_changed

    bank_health_changed.connect(
        on_bank_health_changed, dispatch_uid="plans.suggestions.health"
    )


def connect_controls() -> None:
    from controls.signals import control_switched

    control_switched.connect(
        on_control_switched, dispatch_uid="plans.suggestions.controls"
    )


@ops_action(
    "refresh_suggestions",
    roles=SUGGESTION_ROLES,
    input=RefreshSuggestionsInput,
    resource="refresh",
)
def refresh_suggestions(ctx: ActionContext, *, reason: str = "") -> Outcome:
    """Ask for the suggestions to be refreshed now, without waiting for beat."""
    # robust: a broker that is down loses this nudge (beat refreshes anyway),
    # never the committed answer
    transaction.on_commit(_queue_refresh, robust=True)
    return Outcome(
        target={},
        resource={"refresh": {"queued": True}},
        details={"queued": True, "reason": reason},
    )
