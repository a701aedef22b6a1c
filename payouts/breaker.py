"""A circuit breaker per bank, over the connector's recent outcomes.

closed → open after ``PAYOUT_BREAKER_CONSECUTIVE_FAILURES`` failures in a row,
or when the failure rate over the last ``PAYOUT_BREAKER_WINDOW`` outcomes (at
least ``PAYOUT_BREAKER_MIN_CALLS`` of them) reaches ``PAYOUT_BREAKER_FAILURE_RATE``;
open → half_open once ``PAYOUT_BREAKER_COOLDOWN_SECONDS`` have passed (checked
when the dispatcher next claims work); half_open lets one trial payout through
and closes on its success or opens again on its failure.

The state lives on the bank's row (``BankProfile``), not in a process, so
several dispatchers share one breaker per bank; each outcome is folded in under
a row lock (PostgreSQL) in the transaction that records the payout's result.

When a breaker opens, the bank is paused by a ``system`` ops action run by
name through the kernel runner (payouts does not import controls): it is
audited with the breaker's figures, and only a person resumes the bank.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q

from molam_ops.actions import runner
from molam_ops.errors import OpsError
from molam_ops.identity import system_principal
from payouts import health
from payouts.choices import CircuitState
from payouts.models import BankProfile
from payouts.signals import bank_health_changed

log = logging.getLogger("payouts.breaker")

BREAKER_ACTOR = "circuit-breaker"


@dataclass(frozen=True)
class BreakerConfig:
    consecutive_failures: int
    window: int
    min_calls: int
    failure_rate: Decimal
    cooldown: timedelta

    @classmethod
    def from_settings(cls) -> BreakerConfig:
        return cls(
            consecutive_failures=settings.PAYOUT_BREAKER_CONSECUTIVE_FAILURES,
            window=settings.PAYOUT_BREAKER_WINDOW,
            min_calls=settings.PAYOUT_BREAKER_MIN_CALLS,
            failure_rate=Decimal(str(settings.PAYOUT_BREAKER_FAILURE_RATE)),
            cooldown=timedelta(seconds=settings.PAYOUT_BREAKER_COOLDOWN_SECONDS),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "consecutive_failures": self.consecutive_failures,
            "window": self.window,
            "min_calls": self.min_calls,
            "failure_rate": str(self.failure_rate),
            "cooldown_seconds": int(self.cooldown.total_seconds()),
        }


@dataclass(frozen=True)
class Circuit:
    """One bank's breaker: its state and the outcomes it judges."""

    state: str = CircuitState.CLOSED
    consecutive_failures: int = 0
    # [[ok 0/1, latency ms], ...], oldest first, at most ``window`` long
    window: list[list[int]] = field(default_factory=list)
    opened_at: datetime | None = None

    @classmethod
    def of(cls, bank: BankProfile) -> Circuit:
        return cls(
            state=bank.circuit_state,
            consecutive_failures=bank.consecutive_failures,
            window=[list(o) for o in bank.recent_outcomes or []],
            opened_at=bank.circuit_opened_at,
        )

    @property
    def failures(self) -> int:
        return sum(1 for ok, _ms in self.window if not ok)

    def failure_rate(self) -> Decimal:
        if not self.window:
            return Decimal("0")
        return (Decimal(self.failures) / len(self.window)).quantize(Decimal("0.0001"))


def step(
    circuit: Circuit, *, ok: bool, latency_ms: int, now: datetime, cfg: BreakerConfig
) -> tuple[Circuit, str | None]:
    """Fold one connector outcome in; returns the new circuit and, when it
    opens, what tripped it. Pure, so the transitions are tested alone."""
    window = [*circuit.window, [int(ok), max(0, int(latency_ms))]][-cfg.window :]
    after = replace(
        circuit,
        window=window,
        consecutive_failures=0 if ok else circuit.consecutive_failures + 1,
    )
    if circuit.state == CircuitState.HALF_OPEN:
        if ok:  # the trial went through: start afresh, the old failures are past
            return Circuit(CircuitState.CLOSED, 0, [[1, window[-1][1]]], None), None
        return replace(after, state=CircuitState.OPEN, opened_at=now), "trial_failed"
    if circuit.state == CircuitState.CLOSED:
        trigger = None
        if after.consecutive_failures >= cfg.consecutive_failures:
            trigger = "consecutive_failures"
        elif len(window) >= cfg.min_calls and after.failure_rate() >= cfg.failure_rate:
            trigger = "failure_rate"
        if trigger:
            return replace(after, state=CircuitState.OPEN, opened_at=now), trigger
    # open: late outcomes of payouts sent before it opened are kept, state holds
    return after, None


@dataclass(frozen=True)
class Transition:
    """A change of a bank's breaker state, with the figures that caused it."""

    bank_profile_id: uuid.UUID
    before: str
    after: str
    at: datetime
    figures: dict[str, Any]

    @property
    def opened(self) -> bool:
        return self.after == CircuitState.OPEN


def evidence(
    circuit: Circuit, *, before: str, trigger: str | None, cfg: BreakerConfig
) -> dict[str, Any]:
    """The breaker's figures, as the audit row of the automatic pause keeps them."""
    figs = health.figures(circuit.window)
    return {
        "trigger": trigger,
        "previous_state": before,
        "state": circuit.state,
        "consecutive_failures": circuit.consecutive_failures,
        "window_size": len(circuit.window),
        "window_failures": circuit.failures,
        "failure_rate": str(circuit.failure_rate()),
        "avg_latency_ms": figs.avg_latency_ms if figs else 0,
        "opened_at": circuit.opened_at.isoformat() if circuit.opened_at else None,
        "thresholds": cfg.as_dict(),
    }


def record_outcome(
    bank_profile_id: uuid.UUID, *, ok: bool, latency_ms: int, now: datetime
) -> Transition | None:
    """Fold one outcome into the bank's breaker and health. Runs inside the
    caller's transaction (the one recording the payout's result)."""
    cfg = BreakerConfig.from_settings()
    # the lock serialises outcomes of one bank across dispatchers (PostgreSQL;
    # SQLite's IMMEDIATE transactions already run one writer at a time)
    bank = (
        BankProfile.objects.select_for_update()
        .only(
            "id",
            "status",
            "circuit_state",
            "consecutive_failures",
            "recent_outcomes",
            "circuit_opened_at",
            "success_rate",
            "avg_latency_ms",
        )
        .get(pk=bank_profile_id)
    )
    before = Circuit.of(bank)
    after, trigger = step(before, ok=ok, latency_ms=latency_ms, now=now, cfg=cfg)
    figs = health.figures(after.window)
    success = figs.success_rate if figs else bank.success_rate
    latency = figs.avg_latency_ms if figs else bank.avg_latency_ms
    changes: dict[str, Any] = {
        "circuit_state": after.state,
        "consecutive_failures": after.consecutive_failures,
        "recent_outcomes": after.window,
        "circuit_opened_at": after.opened_at,
        "success_rate": success,
        "avg_latency_ms": latency,
        "status": health.status(success, latency, after.state),
        "last_health_check_at": now,
    }
    if after.state != before.state:
        changes["circuit_trial_at"] = None
    BankProfile.objects.filter(pk=bank_profile_id).update(**changes)
    _health_moved(bank_profile_id, (bank.status, before.state), changes)
    if after.state == before.state:
        return None
    transition = Transition(
        bank_profile_id,
        before.state,
        after.state,
        now,
        evidence(after, before=before.state, trigger=trigger, cfg=cfg),
    )
    log.warning(
        "breaker of bank %s: %s -> %s (%s)",
        bank_profile_id,
        before.state,
        after.state,
        trigger or "trial succeeded",
    )
    return transition


@dataclass(frozen=True)
class Admission:
    """Which banks the breakers keep out of this claim, and which get a trial."""

    blocked: frozenset[uuid.UUID] = frozenset()
    trial: frozenset[uuid.UUID] = frozenset()


def admit(now: datetime, *, held: Collection[uuid.UUID] = ()) -> Admission:
    """Before a claim: move open breakers whose cooldown has passed to
    half_open, and take the single trial of each half-open bank that has none
    out — unless a control ``held`` the bank (a paused bank gets no trial).
    Each step is a conditional UPDATE that must touch the row, so of several
    dispatchers exactly one moves a breaker or takes its trial."""
    cfg = BreakerConfig.from_settings()
    blocked: set[uuid.UUID] = set()
    trial: set[uuid.UUID] = set()
    rows = BankProfile.objects.filter(
        circuit_state__in=(CircuitState.OPEN, CircuitState.HALF_OPEN)
    ).values_list("id", "circuit_state", "circuit_opened_at", "success_rate")
    for bank_id, state, opened_at, success in rows:
        if state == CircuitState.OPEN:
            if opened_at is not None and opened_at + cfg.cooldown > now:
                blocked.add(bank_id)
                continue
            _half_open(bank_id, success, now)
        if bank_id in held:
            blocked.add(bank_id)
            continue
        taken = (
            BankProfile.objects.filter(pk=bank_id, circuit_state=CircuitState.HALF_OPEN)
            .filter(
                Q(circuit_trial_at__isnull=True)
                # a trial never answered (its dispatcher died) expires
                | Q(circuit_trial_at__lte=now - cfg.cooldown)
            )
            .update(circuit_trial_at=now)
        )
        (trial if taken else blocked).add(bank_id)
    return Admission(frozenset(blocked), frozenset(trial))


def _health_moved(
    bank_id: uuid.UUID, before: tuple[str, str], changes: dict[str, Any]
) -> None:
    """Tell followers (the suggestions' refresh) when the colour or the
    breaker's state moved; most outcomes change neither."""
    after = (changes["status"], changes["circuit_state"])
    if after != before:
        bank_health_changed.send(
            sender=BankProfile, bank_profile_id=bank_id, before=before, after=after
        )


def _half_open(bank_id: uuid.UUID, success: Decimal, now: datetime) -> None:
    moved = BankProfile.objects.filter(pk=bank_id, circuit_state=CircuitState.OPEN)
    # probing: at best yellow until the trial answers
    colour = health.status(success, 0, CircuitState.HALF_OPEN)
    if moved.update(
        circuit_state=CircuitState.HALF_OPEN,
        circuit_trial_at=None,
        status=colour,
        last_health_check_at=now,
    ):
        log.info("breaker of bank %s: open -> half_open (cooldown over)", bank_id)
        bank_health_changed.send(
            sender=BankProfile,
            bank_profile_id=bank_id,
            before=(None, CircuitState.OPEN),
            after=(colour, CircuitState.HALF_OPEN),
        )


def release_trial(bank_id: uuid.UUID) -> None:
    """The claim found nothing to try at this bank: let the next claim try."""
    BankProfile.objects.filter(pk=bank_id, circuit_state=CircuitState.HALF_OPEN).update(
        circuit_trial_at=None
    )


def pause_bank_for(transition: Transition) -> None:
    """The breaker opened: pause the bank through the runner, as ``system``.

    Called after the outcome's transaction has committed (the runner opens its
    own durable one). The idempotency key names this opening, so a repeated
    call replays instead of acting twice; a bank already paused is fine.
    """
    payload = {
        "bank_profile_id": str(transition.bank_profile_id),
        "reason": _reason(transition.figures),
        "evidence": transition.figures,
    }
    key = f"circuit-open:{transition.bank_profile_id}:{transition.at.isoformat()}"
    try:
        runner.run(
            "pause_bank",
            system_principal(BREAKER_ACTOR),
            payload,
            idempotency_key=key,
        )
    except OpsError as exc:
        if exc.code == "bank_already_paused":
            log.info("bank %s was already paused", transition.bank_profile_id)
            return
        log.error(
            "could not pause bank %s after its breaker opened: %s",
            transition.bank_profile_id,
            exc.code,
        )
        return
    log.warning("bank %s paused by its circuit breaker", transition.bank_profile_id)


def _reason(figures: dict[str, Any]) -> str:
    return (
        f"Circuit breaker opened ({figures['trigger']}): "
        f"{figures['window_failures']}/{figures['window_size']} recent attempts "
        f"failed, {figures['consecutive_failures']} in a row."
    )
