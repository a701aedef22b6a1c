from django.apps import AppConfig


class ControlsConfig(AppConfig):
    name = "controls"
    verbose_name = "Treasury controls"

    def ready(self) -> None:
        from controls import services  # noqa: F401  (registers the ops actions)
