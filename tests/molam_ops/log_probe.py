"""Two probe tasks for the worker that tests/molam_ops/test_logging.py starts
(``celery -A tests.molam_ops.log_probe worker``): the parent logs a line and
queues the child, which logs one too, so a test can follow a request id from
a publisher through one task into the next."""

from __future__ import annotations

import logging

from molam_ops.celery import app

__all__ = ("app", "child", "parent")

log = logging.getLogger("tests.log_probe")


@app.task(name="tests.log_probe.parent", ignore_result=True)
def parent(secret: str) -> None:
    # the argument is a secret on purpose: it must not reach the worker's output
    log.info("probe parent got %s", secret)
    child.delay()


@app.task(name="tests.log_probe.child", ignore_result=True)
def child() -> None:
    log.info("probe child")
