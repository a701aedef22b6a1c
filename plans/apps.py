from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "plans"
    verbose_name = "SIRA plans"

    def ready(self) -> None:
        from plans import services  # noqa: F401  (registers the ops actions)
        from plans.services import plan_records

        plan_records.connect_approvals()
