"""Bank health: the green/yellow/red a widget shows, from the connector's recent
success rate, its latency and the circuit breaker's state.

The thresholds are those the demo rails were seeded with (payouts/demo.py), so
a seeded bank and a measured one read the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from payouts.choices import BankStatus, CircuitState

GREEN_MIN_SUCCESS = Decimal("0.95")
YELLOW_MIN_SUCCESS = Decimal("0.90")
GREEN_MAX_LATENCY_MS = 500
YELLOW_MAX_LATENCY_MS = 800


@dataclass(frozen=True)
class Figures:
    """What the breaker's window says about a bank."""

    success_rate: Decimal
    avg_latency_ms: int
    samples: int


def figures(window: list[list[int]]) -> Figures | None:
    """Success rate and mean latency over ``[[ok, latency_ms], ...]``; None
    when there is nothing to judge."""
    if not window:
        return None
    ok = sum(1 for outcome, _ms in window if outcome)
    rate = (Decimal(ok) / Decimal(len(window))).quantize(Decimal("0.0001"))
    latency = round(sum(ms for _ok, ms in window) / len(window))
    return Figures(rate, latency, len(window))


def status(success_rate: Decimal, avg_latency_ms: int, circuit_state: str) -> str:
    """Red when the breaker is open or the bank fails or lags badly; yellow when
    it is being probed (half-open) or degrades; green otherwise."""
    if (
        circuit_state == CircuitState.OPEN
        or success_rate < YELLOW_MIN_SUCCESS
        or avg_latency_ms > YELLOW_MAX_LATENCY_MS
    ):
        return BankStatus.RED
    if (
        circuit_state == CircuitState.HALF_OPEN
        or success_rate < GREEN_MIN_SUCCESS
        or avg_latency_ms > GREEN_MAX_LATENCY_MS
    ):
        return BankStatus.YELLOW
    return BankStatus.GREEN
