"""The documented shapes of a plan's ``steps``, ``details`` and ``params``
(OpenAPI components): one schema per step ``action``, chosen by that field.

Only what clients read is spelled out; each object may carry more (SIRA's
own fields on a step, a planner's figures in ``details``). A step's fields
are optional in the document: the planners and the SIRA client set every one
of them, but a plan written by other means (the admin, an older version)
is answered as stored.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from molam_ops.schema import resource_schema
from plans.choices import PlanType, StepStatus

# as stored: a UUID string on every step a planner made
ID = "An id (UUID)."


def _amount(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=2, **kwargs)


class PauseBankStepSerializer(serializers.Serializer[Any]):
    action = serializers.ChoiceField(["pause_bank"])
    bank_profile_id = serializers.CharField(required=False, help_text=ID)
    reason = serializers.CharField(required=False)


class ReroutePayoutsStepSerializer(serializers.Serializer[Any]):
    """Up to ``count`` pending payouts of a bank moved to another."""

    action = serializers.ChoiceField(["reroute_payouts"])
    from_bank_id = serializers.CharField(required=False, help_text=ID)
    to_bank_id = serializers.CharField(required=False, help_text=ID)
    currency = serializers.CharField(required=False)
    count = serializers.IntegerField(required=False)
    amount = _amount(required=False)
    sira_from_bank = serializers.CharField(
        required=False, help_text="The source bank as SIRA named it."
    )
    sira_to_bank = serializers.CharField(required=False)


class TransferFundsStepSerializer(serializers.Serializer[Any]):
    action = serializers.ChoiceField(["transfer_funds"])
    from_account_id = serializers.CharField(required=False, help_text=ID)
    to_account_id = serializers.CharField(required=False, help_text=ID)
    currency = serializers.CharField(required=False)
    amount = _amount(required=False)


PLAN_STEP = PolymorphicProxySerializer(
    component_name="PlanStep",
    serializers={
        "pause_bank": PauseBankStepSerializer,
        "reroute_payouts": ReroutePayoutsStepSerializer,
        "transfer_funds": TransferFundsStepSerializer,
    },
    resource_type_field_name="action",
    many=True,
)


class StepProgressSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField()
    action = serializers.CharField()
    status = serializers.ChoiceField(StepStatus.choices)
    expected = serializers.IntegerField(allow_null=True)
    moved = serializers.IntegerField(allow_null=True)
    reasons = serializers.DictField(child=serializers.IntegerField())
    # DRF's metaclass takes declared fields out of the class body, so this
    # does not replace BaseSerializer.partial, as the stubs assume
    partial = serializers.BooleanField()  # type: ignore[assignment]


class PlanProgressSerializer(serializers.Serializer[Any]):
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    partial = serializers.IntegerField(required=False)  # type: ignore[assignment]
    steps = StepProgressSerializer(many=True, required=False)


class PlanErrorSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    message = serializers.CharField(required=False)
    reason = serializers.CharField(required=False, allow_blank=True)


class ConstraintUsedSerializer(serializers.Serializer[Any]):
    value = serializers.CharField(allow_null=True, help_text="A decimal string.")
    default = serializers.BooleanField(help_text="The operator did not give it.")


class UnmetSerializer(serializers.Serializer[Any]):
    """What a constraint made infeasible; the rest of the plan still stands."""

    constraint = serializers.CharField(required=False)
    bank_id = serializers.CharField(required=False, allow_null=True)
    currency = serializers.CharField(required=False, allow_null=True)
    reason = serializers.CharField()
    message = serializers.CharField(required=False)


class ScopeSerializer(serializers.Serializer[Any]):
    currencies = serializers.ListField(child=serializers.CharField(), allow_null=True)
    banks = serializers.ListField(child=serializers.UUIDField(), allow_null=True)


class OverrideSerializer(serializers.Serializer[Any]):
    allow_banks = serializers.ListField(child=serializers.UUIDField())
    reason = serializers.CharField()


class PreviewRowSerializer(serializers.Serializer[Any]):
    """What the plan changes at one bank in one currency."""

    bank_id = serializers.CharField()
    bank_name = serializers.CharField()
    currency = serializers.CharField()
    payouts_before = serializers.IntegerField()
    payouts_after = serializers.IntegerField()
    amount_before = _amount()
    amount_after = _amount()
    fees_before = _amount()
    fees_after = _amount()
    balance_before = _amount(allow_null=True)
    balance_after = _amount(allow_null=True)


class PreviewTotalsSerializer(serializers.Serializer[Any]):
    payouts_moved = serializers.IntegerField()
    amount_moved_usd = _amount()
    fees_before_usd = _amount()
    fees_after_usd = _amount()
    funds_moved_usd = _amount()
    banks_paused = serializers.IntegerField()


class PreviewSerializer(serializers.Serializer[Any]):
    rows = PreviewRowSerializer(many=True)
    totals = PreviewTotalsSerializer()
    payouts_url = serializers.CharField()


class RefusedStepSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField()
    step = serializers.DictField(help_text="The step as SIRA wrote it.")
    reason = serializers.CharField()
    detail = serializers.CharField(required=False)


class SiraRecordSerializer(serializers.Serializer[Any]):
    refused_step = RefusedStepSerializer(required=False)


class StepRowSerializer(serializers.Serializer[Any]):
    """A step's row as the workers last wrote it."""

    index = serializers.IntegerField()
    action = serializers.CharField()
    status = serializers.ChoiceField(StepStatus.choices)
    error = serializers.CharField(allow_blank=True, allow_null=True)
    attempts = serializers.IntegerField()


class StepErrorSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField()
    action = serializers.CharField()
    code = serializers.CharField(allow_blank=True)
    message = serializers.CharField(allow_blank=True, allow_null=True)


class ExecutionRecordSerializer(serializers.Serializer[Any]):
    """Who started the execution, under which approval, when."""

    action_id = serializers.UUIDField()
    by = serializers.CharField()
    approval_id = serializers.CharField(allow_null=True)
    started_at = serializers.DateTimeField()


class CancelledRecordSerializer(serializers.Serializer[Any]):
    by = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    at = serializers.DateTimeField()


class RollbackStepSerializer(serializers.Serializer[Any]):
    """One inverse step of a rollback and how it ended."""

    of_index = serializers.IntegerField(help_text="The step it undoes.")
    action = serializers.CharField()
    fields = serializers.DictField(help_text="The inverse action's input.")  # type: ignore[assignment]
    status = serializers.ChoiceField(["done", "noop", "skipped", "failed"])
    code = serializers.CharField(required=False)
    message = serializers.CharField(required=False)
    log_id = serializers.CharField(required=False, allow_null=True)


class RollbackRecordSerializer(serializers.Serializer[Any]):
    by = serializers.CharField()
    at = serializers.DateTimeField()
    reason = serializers.CharField(allow_blank=True)
    complete = serializers.BooleanField()
    steps = RollbackStepSerializer(many=True)


class PlanDetailsSerializer(serializers.Serializer[Any]):
    """What the planner and the workers record on a plan (all optional)."""

    constraints_used = serializers.DictField(
        child=ConstraintUsedSerializer(), required=False
    )
    unmet = UnmetSerializer(many=True, required=False)
    scope = ScopeSerializer(required=False)
    override = OverrideSerializer(required=False)
    preview = PreviewSerializer(required=False)
    timings = serializers.DictField(
        child=serializers.FloatField(), required=False, help_text="Milliseconds."
    )
    sira = SiraRecordSerializer(required=False)
    summary_facts = serializers.DictField(
        required=False,
        help_text="What the reader's ``summary`` is written from.",
    )
    progress = PlanProgressSerializer(required=False)
    error = PlanErrorSerializer(required=False)
    # the workers' record, rewritten as steps move (plans.execution.progress)
    done = serializers.IntegerField(required=False, help_text="Steps done.")
    total = serializers.IntegerField(required=False, help_text="Steps in all.")
    steps = StepRowSerializer(many=True, required=False)
    # DRF's metaclass takes declared fields out of the class body, so this
    # does not replace Serializer.errors, as the stubs assume
    errors = StepErrorSerializer(many=True, required=False)  # type: ignore[assignment]
    execution = ExecutionRecordSerializer(required=False)
    cancelled = CancelledRecordSerializer(required=False)
    rollback = RollbackRecordSerializer(required=False)
    finished_at = serializers.DateTimeField(required=False)
    failed_step = serializers.IntegerField(required=False)


class PlanParamsSerializer(serializers.Serializer[Any]):
    """What a plan keeps of its ``generate-plan`` request (constraints as
    decimal strings); every key is set on a plan that request made."""

    type = serializers.ChoiceField(PlanType.choices, required=False)
    timeframe_hours = serializers.IntegerField(required=False)
    constraints = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="Name → decimal."
    )
    currencies = serializers.ListField(child=serializers.CharField(), required=False)
    banks = serializers.ListField(child=serializers.UUIDField(), required=False)
    override = OverrideSerializer(required=False)


class SuggestionsRefreshSerializer(serializers.Serializer[Any]):
    queued = serializers.BooleanField()


resource_schema("refresh", SuggestionsRefreshSerializer)
