"""Running a hub scenario on an event loop of its own, for the live-KPI tests.

``asyncio.run`` cancels what the scenario left running (the hub's ticker,
receiver and refresh) and then waits for it without a limit; a task whose
cancel was lost inside a third-party client would hold the test for ever (it
did, once in a dozen runs: a CI run stalled at 90%). Here the leftovers get
``LEFTOVER_SECONDS`` to finish; one that does not is named, with its stack, in
a warning, and the loop is closed anyway.
"""

from __future__ import annotations

import asyncio
import io
import warnings
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
LEFTOVER_SECONDS = 15


def run(scenario: Coroutine[Any, Any, T]) -> T:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(scenario)
    finally:
        try:
            _cancel_leftovers(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    _done, stuck = loop.run_until_complete(
        asyncio.wait(tasks, timeout=LEFTOVER_SECONDS)
    )
    for task in stuck:
        stack = io.StringIO()
        task.print_stack(file=stack)
        warnings.warn(
            f"task not finished {LEFTOVER_SECONDS}s after its cancel: {task!r}\n"
            f"{stack.getvalue()}",
            RuntimeWarning,
            stacklevel=2,
        )
