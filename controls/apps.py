from django.apps import AppConfig


class ControlsConfig(AppConfig):
    name = "controls"
    verbose_name = "Treasury controls"

    def ready(self) -> None:
        from controls import dispatch_gate, metrics, services  # noqa: F401

        dispatch_gate.install()
        metrics.install()
