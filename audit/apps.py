from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from audit import metrics, services
        from molam_ops.actions.ports import ports

        ports.audit = services.AuditLogSink()
        metrics.install()
