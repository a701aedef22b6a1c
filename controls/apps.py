from django.apps import AppConfig


class ControlsConfig(AppConfig):
    name = "controls"
    verbose_name = "Treasury controls"

    def ready(self) -> None:
        from controls import (  # noqa: F401  (schema: the resources' shapes)
            dispatch_gate,
            metrics,
            schema,
        )
        from controls.services import (  # noqa: F401  (registers the actions)
            banks,
            expiry,
            flags,
            freezes,
            payouts,
            reports,
        )
        from controls.services.rails import (  # noqa: F401  (registers the actions)
            reroute,
            transfer,
        )

        dispatch_gate.install()
        metrics.install()
