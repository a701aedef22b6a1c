"""Signals of the payout rails, for apps that follow them without the rails
importing those apps."""

from __future__ import annotations

from django.dispatch import Signal

# A bank's health (green/yellow/red) or its breaker's state changed; sent
# inside the transaction that wrote it, with ``bank_profile_id``, ``before``
# and ``after`` (each ``(status, circuit_state)``). Receivers that act on it
# outside the database wait for the commit.
bank_health_changed = Signal()
