"""PostgreSQL stopped for ~5 s under a stream of requests, against the
project served as in production: every request answers at once, 503
service_unavailable (with Retry-After, the §6 body naming the database, one
log line each) or as usual, never 500; the same processes answer 200 again
once PostgreSQL is back; every accepted action has its effect, its audit row
and its outbox event, relayed once and in order."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from molam_ops import outbox
from tests.faults.stack import (
    Driver,
    audit_actions,
    report,
    served_stack,
    statuses,
    wait_relayed,
)

pytestmark = [pytest.mark.redis, pytest.mark.slow]
OUTAGE_SECONDS = 5.0


def test_requests_answer_503_while_postgres_is_stopped(tmp_path: Path) -> None:
    with served_stack(tmp_path) as stack:
        driver = Driver(stack, stack.banks(4))
        with driver.running():
            time.sleep(2)
            stack.pg.stop(mode="fast")
            stopped = time.monotonic()
            time.sleep(OUTAGE_SECONDS)
            stack.pg.start()
            restarted = time.monotonic()
            time.sleep(3)
        recovered_at = driver.first_ok_after(restarted)
        wait_relayed(stack)
        outcome = audit_actions(stack, driver)
        web_alive = stack.web.poll() is None
        log = [json.loads(line) for line in stack.web_log.read_text().splitlines()
               if line.startswith("{")]  # fmt: skip

    answers = driver.answers
    refused = [a for a in answers if a.status == 503]
    during = [a for a in answers if stopped <= a.sent_at < restarted]
    outage_lines = [
        r
        for r in log
        if r.get("dependency") == "database" and "unavailable" in r["message"]
    ]
    report(
        "postgres_stopped",
        {
            "faults": f"postgresql stopped {OUTAGE_SECONDS:.0f} s (fast shutdown)",
            "requests": len(answers),
            "answers": statuses(answers),
            "500s": sum(a.status >= 500 and a.status != 503 for a in answers),
            "actions_accepted": outcome.accepted,
            "actions_lost": len(outcome.lost),
            "duplicates": outcome.duplicates,
            "max_latency_during_outage_s": round(
                max((a.elapsed for a in during), default=0.0), 3
            ),
            "recovery_s_after_restart": (
                round(recovered_at - restarted, 2) if recovered_at else None
            ),
        },
    )
    assert statuses(answers).keys() <= {"200", "409", "503"}, statuses(answers)
    assert refused, "no request met the outage"
    for answer in refused:
        assert answer.body == {
            "ok": False,
            "error": {
                "code": "service_unavailable",
                "message": answer.body["error"]["message"],
                "fields": {"dependency": "database"},
            },
        }
        assert answer.body["error"]["message"]
        assert int(answer.headers["retry-after"]) > 0
    # one line per refused request, naming the database; no 500 logged
    assert len(outage_lines) == len(refused)
    assert not [r for r in log if "Internal Server Error" in r.get("message", "")]
    # the same server recovered by itself
    assert web_alive
    assert recovered_at is not None
    assert all(a.status in (200, 409) for a in answers if a.sent_at > recovered_at)
    assert not outcome.lost, outcome.lost
    # only the batch in flight when the outage struck may go out twice
    assert outcome.duplicates <= outbox.BATCH
    assert outcome.in_order
