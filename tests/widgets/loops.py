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
        warnings.warn(
            f"task not finished {LEFTOVER_SECONDS}s after its cancel: {task!r}\n"
            f"{_awaiting(task)}",
            RuntimeWarning,
            stacklevel=2,
        )


def _awaiting(task: asyncio.Task[Any]) -> str:
    """The chain of coroutines the task is suspended in, innermost last
    (``Task.print_stack`` shows only the outermost)."""
    lines = []
    awaited: Any = task.get_coro()
    while awaited is not None:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is None:
            lines.append(f"  awaiting {awaited!r}")
            break
        code = frame.f_code
        lines.append(f"  {code.co_filename}:{frame.f_lineno} in {code.co_name}")
        awaited = getattr(awaited, "cr_await", None) or getattr(
            awaited, "gi_yieldfrom", None
        )
    return "\n".join(lines)
