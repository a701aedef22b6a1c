"""Input shapes of the execution actions (validated by the runner)."""

from __future__ import annotations

from rest_framework import serializers

from molam_ops.lib.fields import UUIDStringField


class ExecutePlanInput(serializers.Serializer):
    target_fields = ("plan_id",)
    plan_id = UUIDStringField()
    # the single-use token of the plan's approval, issued at quorum
    approval_token = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default=""
    )


class CancelPlanInput(serializers.Serializer):
    target_fields = ("plan_id",)
    plan_id = UUIDStringField()
    reason = serializers.CharField(max_length=500)


class PlanIdInput(serializers.Serializer):
    target_fields = ("plan_id",)
    plan_id = UUIDStringField()


class ExecuteStuckPlanInput(PlanIdInput):
    # beat's take-up: refuse (409 plan_not_stuck) unless a running step's
    # worker is gone, so that a plan is taken up once, not at every sweep
    orphaned_only = serializers.BooleanField(required=False, default=False)


class ResumePlanInput(PlanIdInput):
    reason = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )


class RollbackPlanInput(PlanIdInput):
    # money moves back: whoever asks says why (the approval summary quotes it)
    reason = serializers.CharField(max_length=500)
