"""The JSON shapes of a plan and a suggestion (DESIGN §6, §8)."""

from __future__ import annotations

from typing import Any

from molam_ops.actions.ports import ports
from molam_ops.lib.fields import iso_utc
from plans.models import Plan, Suggestion


def plan_data(plan: Plan, *, approval: dict[str, Any] | None = None) -> dict[str, Any]:
    """A plan as the API shows it. ``plan_data`` (the encrypted snapshot and
    answer) never leaves the database through the API."""
    data: dict[str, Any] = {
        "id": str(plan.id),
        "plan_type": plan.plan_type,
        "status": plan.status,
        "source": plan.source or None,
        "summary": plan.summary,
        "steps": plan.steps,
        "total_amount": f"{plan.total_amount:.2f}",
        "currency": plan.currency,
        "payout_count": plan.payout_count,
        "approval_required": plan.approval_required,
        "approval_id": str(plan.approval_id) if plan.approval_id else None,
        "details": plan.details,
        "params": plan.params,
        "planner_version": plan.planner_version,
        "input_hash": plan.input_hash,
        "fallback_reason": plan.fallback_reason or None,
        "created_by": plan.created_by,
        "created_at": iso_utc(plan.created_at),
        "updated_at": iso_utc(plan.updated_at),
    }
    if approval is not None:
        data["approval"] = approval
    return data


def approvals_of(plans: list[Plan], *, viewer_id: str | None) -> dict[str, Any]:
    """The approval requests of these plans, keyed by id, in one lookup."""
    ids = [str(p.approval_id) for p in plans if p.approval_id]
    if not ids or ports.approvals is None:
        return {}
    return ports.approvals.describe(ids, viewer_id=viewer_id)


def plans_data(plans: list[Plan], *, viewer_id: str | None) -> list[dict[str, Any]]:
    approvals = approvals_of(plans, viewer_id=viewer_id)
    return [plan_data(p, approval=approvals.get(str(p.approval_id))) for p in plans]


def suggestion_data(suggestion: Suggestion) -> dict[str, Any]:
    return {
        "id": str(suggestion.id),
        "source": suggestion.source,
        "title": suggestion.title,
        "description": suggestion.description,
        "confidence": f"{suggestion.confidence:.3f}",
        "action": {
            "action_type": suggestion.action_type,
            "payload": suggestion.payload,
        },
        "status": suggestion.status,
        "created_at": iso_utc(suggestion.created_at),
        "updated_at": iso_utc(suggestion.updated_at),
        "decided_by": suggestion.decided_by or None,
        "decided_at": iso_utc(suggestion.decided_at),
        "result": suggestion.result or None,
    }
