"""The RBAC matrix (DESIGN §4), generated over the action registry: every
HTTP action by every role. A refused role gets 403 ``forbidden``, a
``rejected`` audit row naming its role, and no effect; an allowed role gets
past the role check (to validation). The registry itself must match the
DESIGN table for every action registered so far."""

from __future__ import annotations

import itertools
import re
import uuid
from typing import Any

import pytest
from django.apps import apps

from audit.models import OpsActionLog
from audit.services import ROW_TOPIC
from controls.keys import pause_bank_key
from controls.models import TreasuryControl
from molam_ops.actions.registry import ActionSpec, all_actions
from molam_ops.identity import KNOWN_ROLES, ROLE_ORDER
from molam_ops.models import OutboxEvent
from tests.helpers import assert_error, post_action
from tests.molam_ops.test_identity import api_get_paths

PA, FO, OPS = "pay_admin", "finance_ops", "ops"

# DESIGN §4, transcribed: the roles allowed on each action's endpoint.
DESIGN_MATRIX: dict[str, frozenset[str]] = {
    "freeze_payouts": frozenset({PA, FO}),
    "unfreeze_payouts": frozenset({PA, FO}),
    "generate_plan": frozenset({PA, OPS}),
    "execute_plan": frozenset({PA, FO}),
    "resume_plan": frozenset({PA, FO}),
    "rollback_plan": frozenset({PA, FO}),
    "retry_payout": frozenset({PA, OPS}),
    "retry_failed_payouts": frozenset({PA, OPS}),
    "mark_dispute": frozenset({PA, FO}),
    "pause_bank": frozenset({PA}),
    "resume_bank": frozenset({PA}),
    "set_flag": frozenset({PA, FO}),
    "regenerate_settlement_report": frozenset({PA, FO}),
    "force_reconciliation": frozenset({PA, FO}),
    "approve": frozenset({PA, FO}),
}

# caller → (roles in its token, the role its refusals are recorded under)
CALLERS: dict[str, tuple[list[str], str]] = {
    PA: ([PA], PA),
    FO: ([FO], FO),
    OPS: ([OPS], OPS),
    "no_known_role": (["auditor"], "none"),
}

REGISTERED = {spec.name: spec for spec in all_actions()}
HTTP_ACTIONS = [spec for spec in all_actions() if spec.http]


def path_params(spec: ActionSpec) -> dict[str, str]:
    """A fresh UUID for each path parameter (``approve/<uuid:approval_id>``)."""
    return {
        name: str(uuid.uuid4()) for name in re.findall(r"<(?:\w+:)?(\w+)>", spec.url)
    }


def action_url(spec: ActionSpec, params: dict[str, str]) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: params[m.group(1)], spec.url)


def call(client: Any, spec: ActionSpec) -> Any:
    """POST a body the action must reject in validation: ``{}`` (the view adds
    the path parameters to it), or a JSON array for an action that would
    accept that."""
    params = path_params(spec)
    body: Any = [] if spec.input(data=params).is_valid() else {}
    return post_action(client, action_url(spec, params), body)


def table_counts() -> dict[str, int]:
    """Rows in every table but the audit log (and the audit rows' copies in
    the outbox): an effect shows up here."""
    counts = {
        m._meta.label: m._default_manager.count()
        for m in apps.get_models()
        if m is not OpsActionLog and m._meta.managed
    }
    counts[OutboxEvent._meta.label] = OutboxEvent.objects.exclude(
        topic=ROW_TOPIC
    ).count()
    return counts


# --- the registry is the DESIGN table ------------------------------------------


@pytest.mark.parametrize("name", DESIGN_MATRIX)
def test_registry_roles_match_design(name: str) -> None:
    if name not in REGISTERED:
        pytest.skip(f"{name} is not registered yet")
    assert REGISTERED[name].roles & KNOWN_ROLES == DESIGN_MATRIX[name]


def test_bank_pause_actions_are_registered_for_http() -> None:
    for name in ("pause_bank", "resume_bank"):
        assert REGISTERED[name].http
        assert REGISTERED[name].roles & KNOWN_ROLES == {PA}


@pytest.mark.parametrize("spec", HTTP_ACTIONS, ids=lambda s: s.name)
def test_every_http_action_allows_some_known_role(spec: ActionSpec) -> None:
    assert spec.roles & KNOWN_ROLES


# --- every action by every caller ------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "caller"),
    [
        (spec, caller)
        for spec, caller in itertools.product(HTTP_ACTIONS, CALLERS)
        if caller not in spec.roles
    ],
    ids=lambda v: v.name if isinstance(v, ActionSpec) else v,
)
def test_refused_role_gets_403_a_rejected_row_and_no_effect(
    db: None, client_for: Any, spec: ActionSpec, caller: str
) -> None:
    roles, recorded_role = CALLERS[caller]
    client = client_for(*roles, sub=f"{caller}-user")
    before = table_counts()
    resp = call(client, spec)
    assert_error(resp, 403, "forbidden")
    row = OpsActionLog.objects.get()
    assert row.action_type == spec.name
    assert row.status == "rejected"
    assert row.actor_id == f"{caller}-user"
    assert row.actor_role == recorded_role
    assert row.details["code"] == "forbidden"
    assert table_counts() == before


@pytest.mark.parametrize(
    ("spec", "caller"),
    [
        (spec, caller)
        for spec, caller in itertools.product(HTTP_ACTIONS, CALLERS)
        if caller in spec.roles
    ],
    ids=lambda v: v.name if isinstance(v, ActionSpec) else v,
)
def test_allowed_role_passes_the_role_check(
    db: None, client_for: Any, spec: ActionSpec, caller: str
) -> None:
    roles, recorded_role = CALLERS[caller]
    client = client_for(*roles, sub=f"{caller}-user")
    resp = call(client, spec)
    assert_error(resp, 400, "validation_error")  # got past the role check
    row = OpsActionLog.objects.get()
    assert (row.status, row.actor_role) == ("rejected", recorded_role)
    assert row.details["code"] == "validation_error"


@pytest.mark.parametrize("caller", [FO, OPS, "no_known_role"])
def test_refused_role_cannot_pause_a_bank_with_a_valid_body(
    bank: Any, client_for: Any, caller: str
) -> None:
    client = client_for(*CALLERS[caller][0])
    body = {"bank_profile_id": str(bank.id), "reason": "connector timeouts"}
    assert_error(post_action(client, "pause-bank", body), 403, "forbidden")
    assert not TreasuryControl.objects.filter(
        key=pause_bank_key(bank.id), enabled=True
    ).exists()


# --- the acting role -------------------------------------------------------------


@pytest.mark.parametrize("spec", HTTP_ACTIONS, ids=lambda s: s.name)
def test_acting_role_is_the_highest_the_action_allows(
    db: None, client_for: Any, spec: ActionSpec
) -> None:
    # listed lowest first: the order in the token must not matter
    client = client_for(*reversed(ROLE_ORDER), sub="polly")
    call(client, spec)
    expected = next(role for role in ROLE_ORDER if role in spec.roles)
    assert OpsActionLog.objects.get().actor_role == expected


def test_ops_and_pay_admin_token_pauses_a_bank_as_pay_admin(
    bank: Any, client_for: Any
) -> None:
    client = client_for(OPS, PA, sub="polly")
    body = {"bank_profile_id": str(bank.id), "reason": "connector timeouts"}
    resp = post_action(client, "pause-bank", body)
    assert resp.status_code == 200, resp.json()
    assert resp.json()["log"]["actor_role"] == PA
    assert OpsActionLog.objects.get().actor_role == PA


# --- every GET ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "role"), list(itertools.product(api_get_paths(), ROLE_ORDER))
)
def test_every_known_role_may_get(
    db: None, client_for: Any, path: str, role: str
) -> None:
    resp = client_for(role).get(path)
    assert resp.status_code not in (401, 403), resp.content
    assert resp.status_code < 500
