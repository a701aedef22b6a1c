from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "plans"
    verbose_name = "SIRA plans"

    def ready(self) -> None:
        from plans import tasks  # noqa: F401  (queued by name from the services)
        from plans.services import (  # noqa: F401  (registers the actions)
            encryption,
            execution,
            generation,
            plan_progress,
            plan_records,
            recovery,
            suggestion_refresh,
            suggestions,
        )

        plan_records.connect_approvals()
        suggestion_refresh.connect_health()
        suggestion_refresh.connect_controls()

        from molam_ops.metrics import PLAN_EXECUTIONS, declare_labels
        from plans.choices import PlanType
        from plans.execution.progress import TERMINAL

        # every plan type x outcome at 0 from the first scrape
        declare_labels(PLAN_EXECUTIONS, plan_type=PlanType.values, status=TERMINAL)
