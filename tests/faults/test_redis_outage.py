"""Redis stopped for ~5 s under a stream of ops actions, against the project
served as in production: no 500, every accepted action has its effect, its
audit row and its outbox event, and the events reach the stream once each,
in order, when Redis is back (DESIGN §10)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import pytest

from molam_ops import outbox
from tests.faults.stack import (
    Driver,
    audit_actions,
    call,
    last_event_id,
    report,
    served_stack,
    statuses,
    stop_redis,
    wait_relayed,
)

pytestmark = [pytest.mark.redis, pytest.mark.slow]
OUTAGE_SECONDS = 5.0


def test_actions_go_on_while_redis_is_stopped(tmp_path: Path) -> None:
    with served_stack(tmp_path) as stack:
        driver = Driver(stack, stack.banks(4))
        with driver.running():
            time.sleep(2)
            stop_redis(stack)
            stopped = time.monotonic()
            time.sleep(1)
            ready = call(stack, "GET", "/readyz")
            time.sleep(OUTAGE_SECONDS - 1)
            [(backlog,)] = stack.sql(
                "SELECT count(*) FROM ops_outbox WHERE sent_at IS NULL"
            )
            stack.redis.start()
            restarted, restarted_wall = time.monotonic(), time.time()
            # the events written while Redis was down: relayed how soon
            recovered = wait_relayed(stack, up_to=last_event_id(stack))
            time.sleep(max(0.0, 3 - (time.monotonic() - restarted)))
        wait_relayed(stack)
        outcome = audit_actions(stack, driver)
        metrics = call(stack, "GET", "/metrics").body.get("raw", "")
        log = stack.web_log.read_text()

    # when the web process went back from its fallbacks to the shared Redis
    back = [
        datetime.fromisoformat(r["time"].replace("Z", "+00:00")).timestamp()
        for r in map(json.loads, (x for x in log.splitlines() if x.startswith("{")))
        if r.get("logger") == "molam_ops.outages" and "answers again" in r["message"]
    ]
    during = [a for a in driver.answers if stopped <= a.sent_at < restarted]
    actions_during = [a for a in during if a.action]
    report(
        "redis_stopped",
        {
            "faults": f"redis stopped {OUTAGE_SECONDS:.0f} s",
            "requests": len(driver.answers),
            "answers": statuses(driver.answers),
            "500s": sum(a.status >= 500 for a in driver.answers),
            "actions_accepted": outcome.accepted,
            "actions_during_outage": len(actions_during),
            "actions_lost": len(outcome.lost),
            "duplicates": outcome.duplicates,
            "max_action_latency_during_outage_s": round(
                max((a.elapsed for a in actions_during), default=0.0), 3
            ),
            "max_bank_freeze_latency_during_outage_s": round(
                max(
                    (a.elapsed for a in actions_during if a.action == "freeze-payouts"),
                    default=0.0,
                ),
                3,
            ),
            "outbox_backlog_at_restart": backlog,
            "fallbacks_off_s_after_restart": (
                round(back[0] - restarted_wall, 2) if back else None
            ),
            "backlog_relayed_s_after_restart": round(recovered, 2),
        },
    )
    # no 500 and no 503: nothing here needs Redis
    assert statuses(driver.answers).keys() <= {"200", "409"}, statuses(driver.answers)
    assert actions_during and all(a.status == 200 for a in actions_during)
    assert not outcome.lost, outcome.lost
    # only the batch in flight when the outage struck may go out twice
    assert outcome.duplicates <= outbox.BATCH
    assert outcome.in_order
    assert ready.status == 200 and ready.body["checks"]["redis"] == "unreachable"
    assert (
        'molam_ops_dependency_fallback_total{dependency="redis",use="rate_limit"}'
        in metrics
    )
    # the switch to the fallbacks is logged once per process, not per request
    assert log.count("redis unreachable") == 1, log.count("redis unreachable")
