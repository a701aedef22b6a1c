"""The suggestions to propose now (``plans.services.suggestions`` stores
them): SIRA's, from ``GET /api/suggestions``, when it answers; else derived
here from bank health (pause a failing bank, resume a recovered one) and from
what the local planner would improve (``generate_plan``). Either way, one
whose action is already in force (a pause of a paused bank, a freeze of a
frozen scope, a resume of a bank not paused...) is not proposed: accepting
it could only answer 409."""

from __future__ import annotations

import logging
from collections.abc import Collection
from decimal import Decimal
from typing import Any

from controls.keys import FREEZE_GLOBAL, freeze_bank_key, pause_bank_key
from controls.selectors import control_active_keys
from molam_ops.lib.coerce import uuid_or_none
from payouts import health
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


def bank_candidates(active: Collection[str]) -> list[dict[str, Any]]:
    """Pause a failing bank that still takes payouts; resume a paused bank
    that has recovered (the green thresholds of ``payouts.health``).
    ``active``: the keys of the controls in force."""
    found = []
    for bank in payout_selectors.bank_list():
        success = Decimal(bank.success_rate)
        failure = 1 - success
        # the pause itself, not the dispatch gate's one reason per bank,
        # where a freeze hides a pause
        paused = pause_bank_key(bank.id) in active
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


def _switches(action_type: str, payload: Any) -> tuple[str, bool] | None:
    """(control key, state) the proposed action would switch that control
    to; None when it switches none, or its payload names no bank or scope
    (accepting it then says what is wrong). Bank ids are read as UUIDs, so
    the key is spelt as the controls spell it, whatever SIRA's case."""
    if not isinstance(payload, dict):
        return None
    if action_type in ("pause_bank", "resume_bank"):
        bank = uuid_or_none(payload.get("bank_profile_id"))
        if bank is None:
            return None
        return pause_bank_key(bank), action_type == "pause_bank"
    if action_type in ("freeze_payouts", "unfreeze_payouts"):
        scope = payload.get("scope")
        if scope == "global":
            key = FREEZE_GLOBAL
        elif isinstance(scope, dict) and (
            bank := uuid_or_none(scope.get("bank_profile_id"))
        ):
            key = freeze_bank_key(bank)
        else:
            return None
        return key, action_type == "freeze_payouts"
    return None


def not_in_force(
    found: list[dict[str, Any]], active: Collection[str]
) -> list[dict[str, Any]]:
    """``found`` without the candidates whose action is already in force."""
    out = []
    for c in found:
        switch = _switches(c["action_type"], c["payload"])
        if switch is None or (switch[0] in active) != switch[1]:
            out.append(c)
    return out


def candidates() -> tuple[str, list[dict[str, Any]], str]:
    """(source, candidates, why SIRA was not used)."""
    active = control_active_keys()
    reason = "not_configured"
    if sira_client.configured():
        try:
            found = from_sira(sira_client.fetch_suggestions())
            return PlanSource.SIRA, not_in_force(found, active), ""
        except sira_client.SiraUnavailable as exc:
            reason = exc.reason
    found = bank_candidates(active) + planner_candidates()
    return PlanSource.HEURISTIC, not_in_force(found, active), reason
