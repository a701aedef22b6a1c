from django.db import models


class BankStatus(models.TextChoices):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class CircuitState(models.TextChoices):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class PayoutStatus(models.TextChoices):
    PENDING = "pending"
    PROCESSING = "processing"
    SENT = "sent"
    SETTLED = "settled"
    FAILED = "failed"
