from django.apps import AppConfig


class MolamOpsConfig(AppConfig):
    name = "molam_ops"
    verbose_name = "Ops kernel"

    def ready(self) -> None:
        from molam_ops.boot import prepare_directories

        prepare_directories()
        # schema registers the auth extension; collectors, the scrape's gauges
        from molam_ops import collectors, schema  # noqa: F401

        collectors.install()
