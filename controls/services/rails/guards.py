"""What both rails actions check first: the controls in force between two
banks, the banks and accounts named, two distinct ends."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from controls.keys import FREEZE_GLOBAL, freeze_bank_key, pause_bank_key
from controls.selectors import control_active_keys
from molam_ops.errors import OpsError
from payouts.models import TreasuryAccount

BLOCKED_BY_CONTROL = "blocked_by_control"
# SQLite allows 32,766 variables per statement; stay far below in every UPDATE
CHUNK = 500


def must_differ(attrs: dict[str, Any], a: str, b: str) -> None:
    if attrs[a] == attrs[b]:
        raise serializers.ValidationError(
            {b: [_("Must differ from %(other)s.") % {"other": a}]}
        )


def account_or_404(field: str, account_id: uuid.UUID) -> TreasuryAccount:
    account = TreasuryAccount.objects.filter(pk=account_id).first()
    if account is None:
        raise OpsError(
            "account_not_found",
            _("No treasury account with this id."),
            status=404,
            fields={field: [_("Unknown account.")]},
        )
    return account


def blocking_controls(*, source: uuid.UUID, destination: uuid.UUID) -> list[str]:
    """The controls in force that forbid moving payouts or funds from bank
    ``source`` to bank ``destination`` (empty: nothing forbids it)."""
    active = control_active_keys()
    wanted = [
        FREEZE_GLOBAL,
        freeze_bank_key(source),
        freeze_bank_key(destination),
        pause_bank_key(destination),
    ]
    return [key for key in wanted if key in active]


def refuse_if_blocked(*, source: uuid.UUID, destination: uuid.UUID) -> None:
    keys = blocking_controls(source=source, destination=destination)
    if keys:
        raise OpsError(
            BLOCKED_BY_CONTROL,
            _("A freeze or pause forbids this now (%(controls)s).")
            % {"controls": ", ".join(keys)},
            status=409,
            fields={"controls": keys},
        )


def chunks(ids: list[uuid.UUID]) -> Iterable[list[uuid.UUID]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]
