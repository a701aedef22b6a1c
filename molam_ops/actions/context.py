"""What an action's effect receives (``ActionContext``) and returns (``Outcome``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from molam_ops.identity import Principal


@dataclass(frozen=True)
class RequestMeta:
    """Where a call came from; empty for tasks and commands."""

    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""


@dataclass
class ActionContext:
    """One run of one action: who, as which role, under which ids."""

    action_id: uuid.UUID
    action_type: str
    principal: Principal
    role: str
    idempotency_key: str | None = None
    meta: RequestMeta = field(default_factory=RequestMeta)
    # events the effect asks the runner to put in the outbox with its audit row
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def actor_id(self) -> str:
        return self.principal.id

    def emit(self, topic: str, payload: dict[str, Any]) -> None:
        self.events.append((topic, payload))


@dataclass
class Outcome:
    """An effect's result: the resource for the response, and what audit keeps."""

    target: dict[str, Any]
    resource: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)
    status: int = 200
