"""Signals of the controls, for apps that follow them without the controls
importing those apps."""

from __future__ import annotations

from django.dispatch import Signal

# A control was switched on or off: sent inside the transaction that wrote it,
# with ``key`` and ``enabled`` (its state now), and only when something
# changed (a switch finding the control already so sends nothing). The
# freezes and pauses send it (``switch_control``), and beat's expiry for
# each control it closes, feature flags included; ``set_flag`` does not.
# Receivers that act on it outside the database wait for the commit.
control_switched = Signal()
