from django.apps import AppConfig


class MolamOpsConfig(AppConfig):
    name = "molam_ops"
    verbose_name = "Ops kernel"

    def ready(self) -> None:
        from molam_ops.boot import prepare_directories

        prepare_directories()
        # schema registers the auth extension; collectors, the scrape's
        # gauges; tasks, the relay that outbox.nudge_relay queues by name
        # the Celery app, so every shared task binds to it in web processes too
        from molam_ops import (  # noqa: F401
            celery,
            collectors,
            schema,
            tasks,
        )

        collectors.install()

        from molam_ops.metrics import declare_labels
        from molam_ops.outages import FALLBACK_USE_LABELS, FALLBACK_USES

        # exported at 0 from the first scrape: an alert sees the first use
        declare_labels(FALLBACK_USES, dependency=("redis",), use=FALLBACK_USE_LABELS)
