from django.db import models


class WidgetType(models.TextChoices):
    """The widgets whose state an operator can save, plus their preferences."""

    BALANCE = "balance"
    FREEZE_BUTTON = "freeze_button"
    PLAN_PANEL = "plan_panel"
    PAYOUT_SUMMARY = "payout_summary"
    BANK_HEALTH = "bank_health"
    SUGGESTIONS = "suggestions"
    QUICK_ACTIONS = "quick_actions"
    # the operator's own settings for every widget: {"lang": "fr"}
    PREFERENCES = "preferences"
