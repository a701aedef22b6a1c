"""Bank connectors: what the dispatcher sends a payout through.

In production each bank has its own connector in the Payouts service. Here, in
standalone mode, one simulated bank stands in for all of them: it waits a
configurable latency, fails at a configurable rate (``CONNECTOR_LATENCY_MS``,
``CONNECTOR_FAILURE_RATE``, per bank in ``CONNECTOR_BANKS``), and keeps its own
ledger (:class:`~payouts.models.SimulatedBankTransfer`) keyed by the payout's
``bank_reference``. That ledger is what makes a retry safe: a reference the
bank has already paid is acknowledged ("already paid"), never paid twice —
which is how a real bank treats an idempotency reference.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from payouts.models import Payout, SimulatedBankTransfer

PAID = "paid"
ALREADY_PAID = "already_paid"
FAILED = "failed"


@dataclass(frozen=True)
class SendResult:
    """The bank's answer to one attempt, and how long it took."""

    outcome: str  # PAID, ALREADY_PAID or FAILED
    latency_ms: int
    reason: str = ""

    @property
    def ok(self) -> bool:
        """The bank holds the payout (now or from an earlier attempt)."""
        return self.outcome in (PAID, ALREADY_PAID)


class BankConnector(Protocol):
    def send(self, payout: Payout) -> SendResult:
        """Send one payout; never raises for a bank-side failure."""
        ...


@dataclass(frozen=True)
class BankBehaviour:
    latency_ms: int
    failure_rate: float


def behaviour_for(bank_profile_id: uuid.UUID, code: str = "") -> BankBehaviour:
    """The simulated behaviour of a bank: the defaults, overridden by
    ``CONNECTOR_BANKS[<bank id or code>]``."""
    overrides: dict[str, Any] = settings.CONNECTOR_BANKS
    own = overrides.get(str(bank_profile_id)) or overrides.get(code) or {}
    return BankBehaviour(
        latency_ms=int(own.get("latency_ms", settings.CONNECTOR_LATENCY_MS)),
        failure_rate=float(own.get("failure_rate", settings.CONNECTOR_FAILURE_RATE)),
    )


class SimulatedBankConnector:
    """The standalone bank: latency, random failures, and a ledger that honours
    ``bank_reference``."""

    def __init__(self, rng: random.Random | None = None) -> None:
        # a simulation, not security: a plain PRNG is what we want
        self.rng = rng or random.Random()  # noqa: S311
        self._codes: dict[uuid.UUID, str] = {}

    def send(self, payout: Payout) -> SendResult:
        started = time.perf_counter()
        behaviour = behaviour_for(payout.bank_profile_id, self._code(payout))
        if behaviour.latency_ms:
            time.sleep(behaviour.latency_ms / 1000)
        if behaviour.failure_rate and self.rng.random() < behaviour.failure_rate:
            # refused before the bank booked anything: a retry may pay it
            return SendResult(FAILED, _elapsed_ms(started), "bank_unavailable")
        outcome = self._book(payout)
        reason = "bank_reference_conflict" if outcome == FAILED else ""
        return SendResult(outcome, _elapsed_ms(started), reason)

    def _code(self, payout: Payout) -> str:
        """The bank's code, for per-bank overrides; looked up once per bank and
        only when overrides exist (codes do not change)."""
        if not settings.CONNECTOR_BANKS:
            return ""
        if payout.bank_profile_id not in self._codes:
            self._codes[payout.bank_profile_id] = payout.bank_profile.code
        return self._codes[payout.bank_profile_id]

    def _book(self, payout: Payout) -> str:
        now = timezone.now()
        try:
            # the bank's own transaction: its ledger row is the payment
            with transaction.atomic():
                SimulatedBankTransfer.objects.create(
                    bank_reference=payout.bank_reference,
                    bank_profile_id=payout.bank_profile_id,
                    payout_id=payout.id,
                    amount=payout.amount,
                    currency=payout.currency,
                    paid_at=now,
                    last_attempt_at=now,
                )
        except IntegrityError:
            # the unique bank_reference: this reference was paid before
            SimulatedBankTransfer.objects.filter(
                bank_reference=payout.bank_reference
            ).update(attempts=F("attempts") + 1, last_attempt_at=now)
            paid = SimulatedBankTransfer.objects.get(
                bank_reference=payout.bank_reference
            )
            if (paid.amount, paid.currency) != (payout.amount, payout.currency):
                # a reference reused for another amount: a real bank refuses it
                return FAILED
            return ALREADY_PAID
        return PAID


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def default_connector() -> BankConnector:
    """The connector the dispatcher uses: the simulated bank (standalone)."""
    return SimulatedBankConnector()
