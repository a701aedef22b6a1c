from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Multi-signature approvals"

    def ready(self) -> None:
        from approvals import requests, services  # noqa: F401  (registers the actions)
        from molam_ops.actions.ports import ports

        ports.approvals = requests.ApprovalRequests()

        from approvals import metrics

        metrics.install()
