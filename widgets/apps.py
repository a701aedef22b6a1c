from django.apps import AppConfig


class WidgetsConfig(AppConfig):
    name = "widgets"
    verbose_name = "Live widgets"

    def ready(self) -> None:
        from molam_ops.actions.ports import ports
        from widgets.live import publish_summary

        # after every committed ops action: tell the KPI sockets (widgets.live)
        if publish_summary not in ports.after_commit_hooks:
            ports.after_commit_hooks.append(publish_summary)
