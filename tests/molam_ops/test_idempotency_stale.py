"""A retry replays even when the first request's input has since gone stale."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from audit.models import OpsActionLog
from tests.helpers import post_action


def test_replay_wins_over_an_expiry_that_has_passed(db, client_for, bank):
    body = {
        "bank_profile_id": str(bank.id),
        "reason": "r",
        "expires_at": (timezone.now() + timedelta(hours=1)).isoformat(),
    }
    first = post_action(
        client_for("pay_admin", sub="alice"), "pause-bank", body, key="stale-1"
    )
    assert first.status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        again = post_action(
            client_for("pay_admin", sub="alice"), "pause-bank", body, key="stale-1"
        )
        assert again.status_code == 200
        assert again.json() == first.json()
        assert again["Idempotent-Replayed"] == "true"
        # the same stale body under a new key is refused as it should be
        fresh = post_action(
            client_for("pay_admin", sub="alice"), "pause-bank", body, key="stale-2"
        )
        assert fresh.status_code == 400
    assert (
        OpsActionLog.objects.filter(action_type="pause_bank", status="executed").count()
        == 1
    )
