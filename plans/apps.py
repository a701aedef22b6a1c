from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "plans"
    verbose_name = "SIRA plans"

    def ready(self) -> None:
        from plans import (
            services,  # noqa: F401  (registers the ops actions)
            tasks,  # noqa: F401  (queued by name from the services)
        )
        from plans.services import plan_records

        plan_records.connect_approvals()

        from molam_ops.metrics import PLAN_EXECUTIONS, declare_labels
        from plans.choices import PlanType
        from plans.execution.progress import TERMINAL

        # every plan type x outcome at 0 from the first scrape
        declare_labels(PLAN_EXECUTIONS, plan_type=PlanType.values, status=TERMINAL)
