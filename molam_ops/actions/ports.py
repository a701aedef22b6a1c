"""What the runner needs from apps above the kernel, plugged in at start-up.

Dependencies point from the apps to the kernel (DESIGN §1), yet the runner must
write audit rows and open approval requests. The ``audit`` and ``approvals``
apps register their implementations here from ``AppConfig.ready()``.
"""

from __future__ import annotations

from typing import Any, Protocol

from molam_ops.actions.context import ActionContext


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


class ApprovalGate(Protocol):
    def request(
        self, ctx: ActionContext, data: dict[str, Any], required: int
    ) -> dict[str, Any]:
        """Open an approval request (inside the caller's transaction); return the
        ``approval`` resource for the 202 response."""
        ...


class _Ports:
    audit: AuditSink | None = None
    approvals: ApprovalGate | None = None


ports = _Ports()


def audit_sink() -> AuditSink:
    if ports.audit is None:
        raise RuntimeError("the audit app is not installed")
    return ports.audit
