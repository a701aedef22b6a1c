"""Which blocked plans may go on (beat, ``resume_blocked_steps``)."""

from __future__ import annotations

import uuid

from payouts import gates
from plans.choices import PlanStatus, StepStatus
from plans.execution.blockers import step_blockers
from plans.models import PlanStep


def plans_to_resume() -> list[uuid.UUID]:
    """Executing plans whose blocked step no control forbids any more. The
    controls are read once for all of them."""
    blocked_steps = PlanStep.objects.filter(
        status=StepStatus.BLOCKED, plan__status=PlanStatus.EXECUTING
    ).order_by("plan_id", "index")
    controls = gates.gate().blocked()
    ready: list[uuid.UUID] = []
    for step in blocked_steps:
        if step.plan_id in ready:
            continue
        if not step_blockers(step.action, step.fields, controls):
            ready.append(step.plan_id)
    return ready
