"""The context of the current request or task, for logs and audit rows: its
request id (set by the middleware, or by a Celery task from its message
headers) and, while an ops action runs, the actor, the action and its id."""

from __future__ import annotations

import contextvars
import re
from typing import Any

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "request_id", default=""
)
actor_var: contextvars.ContextVar[str] = contextvars.ContextVar("actor", default="")
action_var: contextvars.ContextVar[str] = contextvars.ContextVar("action", default="")
action_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "action_id", default=""
)

# the same rule as the middleware's: an id from outside (a header, a message)
# is kept only if it is harmless in a log line
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

ActionTokens = tuple[contextvars.Token[str], ...]


def current_request_id() -> str:
    return request_id_var.get()


def clean_request_id(value: Any) -> str:
    """``value`` if it is a safe request id, else ``""``."""
    return value if isinstance(value, str) and _SAFE_ID.match(value) else ""


def bind_action(*, actor: str, action: str) -> ActionTokens:
    """Mark the log lines that follow as made by ``actor`` running ``action``
    (the action id is set once the runner has made it); undo with
    :func:`unbind_action`."""
    return (
        actor_var.set(actor),
        action_var.set(action),
        action_id_var.set(""),
    )


def unbind_action(tokens: ActionTokens) -> None:
    for var, token in zip((actor_var, action_var, action_id_var), tokens, strict=True):
        var.reset(token)
