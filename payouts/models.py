"""The rails the plane governs. In production these mirror the Payouts and
Treasury services; here they are real tables so the plane runs standalone."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.db import models

from payouts.choices import BankStatus, CircuitState, PayoutStatus


class BankProfile(models.Model):
    """A bank connector: its fees, capacity and live health."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=128)
    country = models.CharField(max_length=2)
    currencies = models.JSONField(default=list, help_text="ISO 4217 codes served.")
    status = models.CharField(
        max_length=8, choices=BankStatus.choices, default=BankStatus.GREEN
    )
    circuit_state = models.CharField(
        max_length=16, choices=CircuitState.choices, default=CircuitState.CLOSED
    )
    success_rate = models.DecimalField(max_digits=5, decimal_places=4, default=1)
    avg_latency_ms = models.PositiveIntegerField(default=0)
    fee_percent = models.DecimalField(max_digits=6, decimal_places=4, default=0)
    fee_fixed = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    daily_capacity = models.PositiveIntegerField(default=10_000)
    last_health_check_at = models.DateTimeField(null=True, blank=True)
    # The circuit breaker's working state (payouts/breaker.py): the recent
    # connector outcomes it judges, and when it opened / let a trial through.
    consecutive_failures = models.PositiveIntegerField(default=0)
    recent_outcomes = models.JSONField(
        default=list, blank=True, help_text="[[ok 0/1, latency ms], ...], newest last"
    )
    circuit_opened_at = models.DateTimeField(null=True, blank=True)
    circuit_trial_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # modeltranslation swaps in a manager class it makes at run time, which
    # mypy's Django plugin cannot resolve
    objects: ClassVar[models.Manager[BankProfile]]

    class Meta:
        db_table = "bank_profiles"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TreasuryAccount(models.Model):
    """A float account at a bank, in one currency."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bank_profile = models.ForeignKey(
        BankProfile, on_delete=models.PROTECT, related_name="treasury_accounts"
    )
    name = models.CharField(max_length=128)
    currency = models.CharField(max_length=3)
    balance = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    min_float = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "treasury_accounts"
        ordering = ["currency", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["bank_profile", "currency"], name="uniq_account_bank_currency"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class Payout(models.Model):
    """A payout to a beneficiary through one bank.

    ``bank_reference`` is fixed at creation and sent with every attempt, so a
    retry of a payout the bank already has is recognised, not paid twice.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bank_profile = models.ForeignKey(
        BankProfile, on_delete=models.PROTECT, related_name="payouts"
    )
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=16, choices=PayoutStatus.choices, default=PayoutStatus.PENDING
    )
    disputed = models.BooleanField(default=False)
    beneficiary = models.CharField(max_length=128)
    bank_reference = models.CharField(max_length=64, unique=True)
    failure_reason = models.CharField(max_length=255, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "payouts"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "bank_profile"], name="payout_status_bank"),
            models.Index(fields=["status", "updated_at"], name="payout_status_upd"),
            models.Index(fields=["created_at"], name="payout_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="payout_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} ({self.status})"


class CurrencyRate(models.Model):
    """USD value of one unit of a currency, for the approval thresholds."""

    currency = models.CharField(max_length=3, primary_key=True)
    usd_per_unit = models.DecimalField(max_digits=20, decimal_places=10)
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "currency_rates"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(usd_per_unit__gt=0), name="rate_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.usd_per_unit} USD"


class SimulatedBankTransfer(models.Model):
    """The simulated bank's own ledger (standalone mode, payouts/connector.py).

    One row per ``bank_reference`` the bank has paid: the unique constraint is
    what lets the bank answer "already paid" to a second attempt instead of
    paying twice. ``attempts`` and ``last_attempt_at`` count every time the
    reference reached the bank, so a benchmark can see the last dispatch.
    """

    id = models.BigAutoField(primary_key=True)
    bank_reference = models.CharField(max_length=64, unique=True)
    bank_profile_id = models.UUIDField(db_index=True)
    payout_id = models.UUIDField()
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    currency = models.CharField(max_length=3)
    attempts = models.PositiveIntegerField(default=1)
    paid_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField()

    class Meta:
        db_table = "simulated_bank_transfers"
        indexes = [
            models.Index(
                fields=["bank_profile_id", "last_attempt_at"], name="simbank_bank_last"
            )
        ]

    def __str__(self) -> str:
        return f"{self.bank_reference}: {self.amount} {self.currency}"
