"""``sira_plans`` and their steps (DESIGN §8)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.db import models

from plans.choices import (
    PlanSource,
    PlanStatus,
    PlanType,
    StepStatus,
    SuggestionStatus,
)


class Plan(models.Model):
    """An operational plan from SIRA or the local planner.

    ``plan_data`` holds the full planner answer and its input snapshot,
    encrypted at rest (``plans.crypto``, keys in ``PLAN_DATA_KEYS``); the
    columns beside it are what lists and approvals need in clear.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    plan_type = models.CharField(max_length=32, choices=PlanType.choices)
    status = models.CharField(
        max_length=16, choices=PlanStatus.choices, default=PlanStatus.GENERATING
    )
    source = models.CharField(max_length=16, choices=PlanSource.choices, blank=True)
    planner_version = models.CharField(max_length=64, blank=True, default="")
    input_hash = models.CharField(max_length=64, blank=True, default="")
    fallback_reason = models.CharField(max_length=255, blank=True, default="")
    params = models.JSONField(default=dict)
    summary = models.TextField(blank=True, default="")
    steps = models.JSONField(default=list)
    total_amount = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="USD")
    payout_count = models.PositiveIntegerField(default=0)
    approval_required = models.BooleanField(default=False)
    approval_id = models.UUIDField(null=True, blank=True)
    details = models.JSONField(default=dict, help_text="progress, timings, errors")
    # while ``generating``: the worker building it renews this; past it, the
    # worker is gone and beat queues the generation again
    generation_lease_expires_at = models.DateTimeField(null=True, blank=True)
    plan_data = models.TextField(blank=True, default="", help_text="encrypted")
    created_by = models.CharField(max_length=255)
    action_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "sira_plans"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="plan_status_created"),
            models.Index(fields=["plan_type", "created_at"], name="plan_type_created"),
        ]

    def __str__(self) -> str:
        return f"{self.plan_type} {self.status} ({self.id})"


class PlanStep(models.Model):
    """One step of a plan. Its row decides: a step runs only after a
    conditional UPDATE moves it pending/blocked → running, so a redelivered
    task finds it taken or done and does nothing (at most once)."""

    id = models.BigAutoField(primary_key=True)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="step_rows")
    index = models.PositiveIntegerField()
    action = models.CharField(max_length=64)
    fields = models.JSONField(default=dict)
    status = models.CharField(
        max_length=16, choices=StepStatus.choices, default=StepStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # while ``running``: the worker renews it; past it, the worker is gone
    # (plans/execution/leases.py)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "sira_plan_steps"
        ordering = ["plan", "index"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "index"], name="one_row_per_step"),
        ]
        indexes = [
            # beat's sweep: the running steps whose lease expired
            models.Index(
                fields=["lease_expires_at"],
                condition=models.Q(status="running"),
                name="plan_step_running_lease",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}#{self.index} {self.action} {self.status}"


class Suggestion(models.Model):
    """A proposal for the widgets (from SIRA or derived locally), with the ops
    action it proposes. Stored so that accepting or declining it happens
    once, through the runner, and is audited; ``fingerprint`` names what it is
    about (``pause_bank:<id>``, ``sira:<id>``) so a refresh updates the open
    suggestion instead of piling up copies."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source = models.CharField(max_length=16, choices=PlanSource.choices)
    fingerprint = models.CharField(max_length=255)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    confidence = models.DecimalField(max_digits=4, decimal_places=3)
    action_type = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=16, choices=SuggestionStatus.choices, default=SuggestionStatus.OPEN
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    decided_by = models.CharField(max_length=255, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    # what accepting it did: the proposed action's id, status and resource keys
    result = models.JSONField(default=dict, blank=True)

    # modeltranslation swaps in a manager class it makes at run time, which
    # mypy's Django plugin cannot resolve
    objects: ClassVar[models.Manager[Suggestion]]

    class Meta:
        db_table = "sira_suggestions"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=models.Q(status="open"),
                name="one_open_suggestion_per_fingerprint",
            ),
            models.CheckConstraint(
                condition=models.Q(confidence__gte=0) & models.Q(confidence__lte=1),
                name="suggestion_confidence_0_1",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="suggestion_status"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"


class PlanPayout(models.Model):
    """A payout a plan's step will move, chosen when the plan is built.

    The preview an approver signs names these payouts; execution moves exactly
    these (those still pending at their bank), so what is signed is what runs.
    A table, not ``plan_data``: a plan may move 100,000 payouts, listed page by
    page (``GET /api/ops/plans/<id>/payouts``) without decrypting the plan.

    No unique (plan, payout): the choice takes each payout once per plan by
    construction (plans/services/plan_payouts.py, tested), and execution moves
    a payout only while it is pending at its step's source, so a repeat could
    not move it twice; that index over random UUIDs cost 2 of the 3 s it took
    to store a 430,000-payout plan."""

    id = models.BigAutoField(primary_key=True)
    # no index of its own: (plan, step_index, id) below serves it. No
    # database constraint either: its per-row check at commit cost 1.2 s of a
    # 430,000-payout plan's build; these rows are written only by the
    # generation of the plan they name, and plans are never deleted.
    plan = models.ForeignKey(
        Plan,
        on_delete=models.PROTECT,
        related_name="moves",
        db_index=False,
        db_constraint=False,
    )
    step_index = models.PositiveIntegerField()
    payout_id = models.UUIDField()
    from_bank_id = models.UUIDField()
    to_bank_id = models.UUIDField()
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=20, decimal_places=2)

    class Meta:
        db_table = "sira_plan_payouts"
        ordering = ["plan", "step_index", "id"]
        indexes = [
            models.Index(fields=["plan", "step_index", "id"], name="plan_payout_step"),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}#{self.step_index} {self.payout_id}"
