from django.db import models
from django.utils.translation import gettext_noop

# The step actions a plan may carry: what the planners emit, SIRA's schema
# allows and the execution workers run.
STEP_ACTIONS = ("pause_bank", "reroute_payouts", "transfer_funds")


class PlanType(models.TextChoices):
    # labels are message ids: an approval's summary stores one untranslated
    # and translates it for each reader
    ROUTING_OPTIMIZATION = "routing_optimization", gettext_noop("routing optimization")
    FLOAT_REBALANCE = "float_rebalance", gettext_noop("float rebalance")
    RISK_MITIGATION = "risk_mitigation", gettext_noop("risk mitigation")


class PlanStatus(models.TextChoices):
    GENERATING = "generating"
    PENDING = "pending"  # generated; waiting for approval or execution
    APPROVED = "approved"  # its approval reached quorum; token issued
    EXECUTING = "executing"
    EXECUTED = "executed"
    FAILED = "failed"
    REJECTED = "rejected"  # its approval was declined or expired
    CANCELLED = "cancelled"


class PlanSource(models.TextChoices):
    SIRA = "sira"
    HEURISTIC = "heuristic"  # the local (solver-backed) planner


class StepStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    BLOCKED = "blocked"  # a freeze or pause forbids it for now; it waits
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class SuggestionStatus(models.TextChoices):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"  # no longer proposed by its source at a refresh
