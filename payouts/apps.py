from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    name = "payouts"
    verbose_name = "Payout rails"

    def ready(self) -> None:
        from payouts import metrics

        metrics.install()
