from django.apps import AppConfig


class MolamOpsConfig(AppConfig):
    name = "molam_ops"
    verbose_name = "Ops kernel"

    def ready(self) -> None:
        from molam_ops import schema  # noqa: F401  (registers the auth extension)
