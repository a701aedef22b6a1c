"""What the runner needs from apps above the kernel, plugged in at start-up.

Dependencies point from the apps to the kernel (DESIGN §1), yet the runner must
write audit rows and open approval requests. The ``audit`` and ``approvals``
apps register their implementations here from ``AppConfig.ready()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from molam_ops.actions.context import ActionContext, RequestMeta


class AuditSink(Protocol):
    def append(
        self,
        ctx: ActionContext,
        *,
        status: str,
        target: dict[str, Any],
        details: dict[str, Any],
    ) -> dict[str, Any]:
        """Append one row (inside the caller's transaction); return it serialized."""
        ...


class ApprovalPort(Protocol):
    def request(
        self,
        ctx: ActionContext,
        data: dict[str, Any],
        payload: dict[str, Any],
        required: int,
    ) -> dict[str, Any]:
        """Open an approval request bound to the exact ``payload`` (inside the
        caller's transaction); return the ``approval`` for the 202 response."""
        ...

    def open_request(
        self,
        ctx: ActionContext,
        *,
        action_type: str,
        payload: dict[str, Any],
        required: int,
        mode: str,
        facts: dict[str, Any] | None = None,
        target: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Open a request guarding another action than ``ctx``'s (a plan's
        execution, opened when the plan is generated); ``facts`` are what its
        summary names. A request already pending for the same action and
        target refuses it (409 ``approval_pending``)."""
        ...

    def consume_token(
        self, *, action_type: str, payload: dict[str, Any], token: str
    ) -> str:
        """Use a single-use approval token issued at quorum for exactly this
        action and payload; return the approval id or raise a 403 OpsError."""
        ...

    def close(
        self,
        *,
        action_type: str,
        payload: dict[str, Any],
        reason: str,
        meta: RequestMeta,
    ) -> list[str]:
        """Cancel the open requests guarding this action and target (what
        they guard is gone), inside the caller's transaction; their ids."""
        ...

    def describe(
        self, approval_ids: list[str], *, viewer_id: str | None
    ) -> dict[str, dict[str, Any]]:
        """The requests with these ids as DESIGN §6 shows them, keyed by id
        (a fixed number of queries), for a resource that carries its approval
        (``plan.approval``)."""
        ...


# Called inside the deciding transaction when a request reaches quorum
# ("approved"/"executed") or ends ("declined", "expired", "failed"):
# listener(approval_id, payload, status). Apps above the kernel register one
# per action type (plans: "execute_plan") so they never import each other.
ApprovalListener = Callable[[str, dict[str, Any], str], None]


class _Ports:
    audit: AuditSink | None = None
    approvals: ApprovalPort | None = None
    approval_listeners: dict[str, list[ApprovalListener]] = {}
    # called after the transaction of an action's outcome commits (the KPI
    # sockets of widgets/live.py); never inside it, never on a refusal
    after_commit_hooks: list[Callable[[ActionContext], None]] = []


def on_approval(action_type: str, listener: ApprovalListener) -> None:
    listeners = ports.approval_listeners.setdefault(action_type, [])
    if listener not in listeners:
        listeners.append(listener)


def notify_approval(
    action_type: str, approval_id: str, payload: dict[str, Any], status: str
) -> None:
    for listener in ports.approval_listeners.get(action_type, []):
        listener(approval_id, payload, status)


ports = _Ports()


def audit_sink() -> AuditSink:
    if ports.audit is None:
        raise RuntimeError("the audit app is not installed")
    return ports.audit
