"""Bank health: green/yellow/red from success rate, latency and breaker."""

from __future__ import annotations

from decimal import Decimal

import pytest

from payouts import health
from payouts.choices import CircuitState

D = Decimal


@pytest.mark.parametrize(
    ("success", "latency", "circuit", "expected"),
    [
        (D("0.99"), 200, CircuitState.CLOSED, "green"),
        (D("0.95"), 500, CircuitState.CLOSED, "green"),
        (D("0.9499"), 200, CircuitState.CLOSED, "yellow"),
        (D("0.99"), 501, CircuitState.CLOSED, "yellow"),
        (D("0.99"), 200, CircuitState.HALF_OPEN, "yellow"),
        (D("0.8999"), 200, CircuitState.CLOSED, "red"),
        (D("0.99"), 801, CircuitState.CLOSED, "red"),
        (D("1"), 10, CircuitState.OPEN, "red"),
    ],
)
def test_status(success: Decimal, latency: int, circuit: str, expected: str) -> None:
    assert health.status(success, latency, circuit) == expected


def test_figures() -> None:
    assert health.figures([]) is None
    figs = health.figures([[1, 100], [0, 300], [1, 200]])
    assert figs == health.Figures(D("0.6667"), 200, 3)
