"""The registry of ops actions: the single source of truth for the RBAC matrix,
approval rules, URLs and OpenAPI shapes (DESIGN §2).

An action is declared once, in its app's ``services.py``::

    @ops_action("pause_bank", roles={"pay_admin"}, input=PauseBankInput)
    def pause_bank(ctx, *, bank_profile_id, reason): ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers

from molam_ops.actions.context import ActionContext, Outcome

# (ctx, validated data) -> number of signatures required (0: none).
ApprovalRule = Callable[[ActionContext, dict[str, Any]], int]
# (ctx, validated data) -> what an approval's summary names: the target by
# name, the amount and currency, its USD equivalent (JSON values)
ApprovalFacts = Callable[[ActionContext, dict[str, Any]], dict[str, Any]]
Effect = Callable[..., Outcome]


@dataclass(frozen=True)
class ActionSpec:
    name: str
    func: Effect
    roles: frozenset[str]
    input: type[serializers.Serializer[Any]]
    approvals: ApprovalRule | None = None
    # the resource key the response carries ("control", "payout", ...)
    resource: str | None = None
    # exposed as POST /api/ops/<url>; False keeps it internal or custom-routed
    http: bool = True
    summary: str = ""
    # URL under /api/ops/ when it carries path parameters ("approve/<uuid:approval_id>")
    route: str | None = None
    # refusals to make before asking for signatures (e.g. already frozen)
    precheck: Callable[..., None] | None = None
    # at quorum: "execute" the action, or issue a single-use "token" for it
    approval_mode: str = "execute"
    approval_facts: ApprovalFacts | None = None

    @property
    def url(self) -> str:
        return self.route or self.name.replace("_", "-")

    @property
    def target_fields(self) -> tuple[str, ...]:
        return tuple(getattr(self.input, "target_fields", ()))

    def target_of(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Best-effort target for a refused call (before validation ran)."""
        return {
            f: payload.get(f) for f in self.target_fields if isinstance(payload, dict)
        }


_REGISTRY: dict[str, ActionSpec] = {}


def ops_action(
    name: str,
    *,
    roles: set[str] | frozenset[str],
    input: type[serializers.Serializer[Any]],
    approvals: ApprovalRule | None = None,
    resource: str | None = None,
    http: bool = True,
    precheck: Callable[..., None] | None = None,
    route: str | None = None,
    approval_mode: str = "execute",
    approval_facts: ApprovalFacts | None = None,
) -> Callable[[Effect], Effect]:
    def register(func: Effect) -> Effect:
        if name in _REGISTRY and _REGISTRY[name].func is not func:
            raise RuntimeError(f"ops action {name!r} declared twice")
        _REGISTRY[name] = ActionSpec(
            name=name,
            func=func,
            roles=frozenset(roles),
            input=input,
            approvals=approvals,
            resource=resource,
            http=http,
            precheck=precheck,
            route=route,
            approval_mode=approval_mode,
            approval_facts=approval_facts,
            summary=(func.__doc__ or "").strip().split("\n")[0],
        )
        return func

    return register


def get_action(name: str) -> ActionSpec:
    return _REGISTRY[name]


def all_actions() -> Iterator[ActionSpec]:
    return iter(sorted(_REGISTRY.values(), key=lambda s: s.name))
