"""The suggestions to propose now (``plans.services.suggestions`` stores
them): SIRA's, from ``GET /api/suggestions``, when it answers; else derived
here from bank health (pause a failing bank, resume a recovered one) and from
what the local planner would improve (``generate_plan``)."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from payouts import gates, health
from payouts import selectors as payout_selectors
from payouts.choices import CircuitState
from plans import sira_client
from plans.choices import PlanSource, PlanType
from plans.services import suggestion_texts as texts
from plans.services.suggestion_texts import (
    Texts,
    in_default_language,
    in_every_language,
)

log = logging.getLogger(__name__)


def _confidence(value: Any) -> Decimal:
    return min(Decimal(1), max(Decimal(0), Decimal(str(value)))).quantize(
        Decimal("0.001")
    )


# --- candidates ----------------------------------------------------------------


def candidate(
    *,
    fingerprint: str,
    source: str,
    title: Texts,
    description: Texts,
    confidence: Any,
    action_type: str,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """A suggestion to store; ``title`` and ``description`` are one text (the
    default language's) or one per language code."""
    return {
        "fingerprint": fingerprint[:255],
        "source": source,
        **texts.per_language("title", title, 255),
        **texts.per_language("description", description, None),
        "confidence": str(_confidence(confidence)),
        "action_type": action_type,
        "payload": payload,
    }


def from_sira(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        candidate(
            fingerprint=f"sira:{item['id']}",
            source=PlanSource.SIRA,
            title=item["title"],
            description=item.get("description", ""),
            confidence=item["confidence"],
            action_type=item["action"]["action_type"],
            payload=item["action"]["payload"],
        )
        for item in items
    ]


def bank_candidates() -> list[dict[str, Any]]:
    """Pause a failing bank that still takes payouts; resume a paused bank
    that has recovered (the green thresholds of ``payouts.health``)."""
    try:
        blocked = gates.gate().blocked().banks
    except gates.GateNotInstalled:
        blocked = {}
    found = []
    for bank in payout_selectors.bank_list():
        success = Decimal(bank.success_rate)
        failure = 1 - success
        paused = blocked.get(bank.id) == gates.BANK_PAUSE
        is_open = bank.circuit_state == CircuitState.OPEN
        if not paused and (is_open or success < health.YELLOW_MIN_SUCCESS):
            confidence = (
                Decimal("0.95")
                if is_open
                else Decimal("0.5") + (health.YELLOW_MIN_SUCCESS - success) * 5
            )
            found.append(
                candidate(
                    fingerprint=f"pause_bank:{bank.id}",
                    source=PlanSource.HEURISTIC,
                    title=in_every_language(texts.pause_title, bank, failure, is_open),
                    description=in_every_language(
                        texts.pause_description, bank, success
                    ),
                    confidence=confidence,
                    action_type="pause_bank",
                    payload={
                        "bank_profile_id": str(bank.id),
                        "reason": in_default_language(
                            texts.pause_reason, failure, is_open
                        ),
                    },
                )
            )
        elif paused and not is_open and success >= health.GREEN_MIN_SUCCESS:
            found.append(
                candidate(
                    fingerprint=f"resume_bank:{bank.id}",
                    source=PlanSource.HEURISTIC,
                    title=in_every_language(texts.resume_title, bank),
                    description=in_every_language(
                        texts.resume_description, bank, success
                    ),
                    confidence=Decimal("0.6"),
                    action_type="resume_bank",
                    payload={
                        "bank_profile_id": str(bank.id),
                        "reason": in_default_language(texts.resume_reason),
                    },
                )
            )
    return found


PLANNER_CONFIDENCE = {
    PlanType.FLOAT_REBALANCE: Decimal("0.7"),
    PlanType.ROUTING_OPTIMIZATION: Decimal("0.75"),
}


def planner_candidates() -> list[dict[str, Any]]:
    """What the local planner would improve now, proposed as ``generate_plan``
    (the full plan then goes through its own approval)."""
    from plans.planner.planning import plan as local_plan
    from plans.planner.snapshot import build_snapshot

    found = []
    for plan_type, confidence in PLANNER_CONFIDENCE.items():
        title, description = texts.PLANNER_TEXTS[plan_type]
        try:
            result = local_plan(plan_type, build_snapshot(plan_type), {})
        except Exception:
            log.warning("planner suggestion %s failed", plan_type, exc_info=True)
            continue
        if result.status != "ok" or not result.steps:
            continue
        currencies = sorted(
            {
                str(s.fields.get("currency"))
                for s in result.steps
                if s.fields.get("currency")
            }
        )
        what = ", ".join(currencies) or str(len(result.steps))
        found.append(
            candidate(
                fingerprint=f"generate_plan:{plan_type}",
                source=PlanSource.HEURISTIC,
                title=in_every_language(texts.planner_text, title, result, what),
                description=in_every_language(
                    texts.planner_text, description, result, what
                ),
                confidence=confidence,
                action_type="generate_plan",
                payload={"plan_params": {"type": str(plan_type), "timeframe": 24}},
            )
        )
    return found


def candidates() -> tuple[str, list[dict[str, Any]], str]:
    """(source, candidates, why SIRA was not used)."""
    reason = "not_configured"
    if sira_client.configured():
        try:
            return PlanSource.SIRA, from_sira(sira_client.fetch_suggestions()), ""
        except sira_client.SiraUnavailable as exc:
            reason = exc.reason
    return PlanSource.HEURISTIC, bank_candidates() + planner_candidates(), reason
