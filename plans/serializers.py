"""The JSON shapes of a plan and a suggestion (DESIGN §6, §8)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField

from molam_ops.actions.ports import ports
from molam_ops.schema import resource_schema
from plans.choices import PlanType
from plans.models import Plan, PlanPayout, Suggestion
from plans.schema import PLAN_STEP, PlanDetailsSerializer, PlanParamsSerializer
from plans.services import plan_summary


class _EmptyAsNull:
    """Renders a column's empty value ("" or {}) as null: the column stores
    empty for none."""

    def to_representation(self, value: Any) -> Any:
        return super().to_representation(value) if value else None  # type: ignore[misc]


class _OptionalChar(_EmptyAsNull, serializers.CharField):
    pass


class _OptionalDict(_EmptyAsNull, serializers.DictField):
    pass


@extend_schema_field({"$ref": "#/components/schemas/Approval"})
class _PlanApproval(serializers.DictField):
    """The plan's approval request as the approvals app shows it to the viewer
    (``context["approvals"]``, by id); absent when there is none."""

    def get_attribute(self, instance: Plan) -> Any:
        approval = self.context.get("approvals", {}).get(str(instance.approval_id))
        if approval is None:
            raise SkipField
        return approval


def _documented(schema: Any) -> type[serializers.Field]:
    """A JSON column rendered as stored, documented as ``schema``."""
    base = (
        serializers.ListField
        if getattr(schema, "many", False)
        else serializers.DictField
    )
    return extend_schema_field(schema)(type("Documented", (base,), {}))


class PlanSerializer(serializers.ModelSerializer):
    """A plan as the API shows it. ``plan_data`` (the encrypted snapshot and
    answer) never leaves the database through the API."""

    # one enum with the generate-plan input's ``type`` (ENUM_NAME_OVERRIDES)
    plan_type = serializers.ChoiceField(PlanType.choices)
    # DRF's metaclass takes declared fields out of the class body, so this
    # does not replace Field.source, as the stubs assume
    source = _OptionalChar(allow_null=True)  # type: ignore[assignment]
    steps = _documented(PLAN_STEP)()
    details = _documented(PlanDetailsSerializer)()
    params = _documented(PlanParamsSerializer)()
    fallback_reason = _OptionalChar(allow_null=True)
    approval = _PlanApproval(required=False)
    # rendered for the reader from details.summary_facts (plan_summary.py)
    summary = serializers.SerializerMethodField()

    class Meta:
        model = Plan
        fields = [
            "id",
            "plan_type",
            "status",
            "source",
            "summary",
            "steps",
            "total_amount",
            "currency",
            "payout_count",
            "approval_required",
            "approval_id",
            "details",
            "params",
            "planner_version",
            "input_hash",
            "fallback_reason",
            "created_by",
            "created_at",
            "updated_at",
            "approval",
        ]
        read_only_fields = fields

    def get_summary(self, plan: Plan) -> str:
        return plan_summary.text(plan.summary, plan.details)


def approvals_of(plans: Iterable[Plan], *, viewer_id: str | None) -> dict[str, Any]:
    """The approval requests of these plans, keyed by id, in one lookup: the
    ``approvals`` context of :class:`PlanSerializer`."""
    ids = [str(p.approval_id) for p in plans if p.approval_id]
    if not ids or ports.approvals is None:
        return {}
    return ports.approvals.describe(ids, viewer_id=viewer_id)


class SuggestedActionSerializer(serializers.Serializer):
    action_type = serializers.CharField()
    payload = serializers.DictField()


class SuggestionSerializer(serializers.ModelSerializer):
    action = SuggestedActionSerializer(source="*", read_only=True)
    decided_by = _OptionalChar(allow_null=True)
    result = _OptionalDict(allow_null=True)

    class Meta:
        model = Suggestion
        fields = [
            "id",
            "source",
            "title",
            "description",
            "confidence",
            "action",
            "status",
            "created_at",
            "updated_at",
            "decided_by",
            "decided_at",
            "result",
        ]
        read_only_fields = fields


class PlanPayoutSerializer(serializers.ModelSerializer):
    step_index = serializers.IntegerField()

    class Meta:
        model = PlanPayout
        fields = [
            "payout_id",
            "step_index",
            "from_bank_id",
            "to_bank_id",
            "currency",
            "amount",
        ]
        read_only_fields = fields


resource_schema("plan", PlanSerializer)
resource_schema("suggestion", SuggestionSerializer)
