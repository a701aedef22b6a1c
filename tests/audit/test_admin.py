"""The admin's audit log: open to every operator role, read-only for all."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from audit.checkpoints import sign_checkpoint
from audit.models import OpsActionLog
from tests.audit.checkpoint_helpers import append
from tests.conftest import ROLES
from tests.factories import operator_user
from tests.helpers import post_action

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:audit_opsactionlog_changelist")


def staff(*roles: str, superuser: bool = False, linked: bool = True) -> Client:
    user = operator_user(
        f"staff-{uuid.uuid4().hex[:8]}",
        *roles,
        is_superuser=superuser,
        subject="" if linked else None,
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def row(pay_admin: APIClient, bank: Any) -> OpsActionLog:
    resp = post_action(
        pay_admin, "pause-bank", {"bank_profile_id": str(bank.id), "reason": "audit"}
    )
    assert resp.status_code == 200, resp.content
    return OpsActionLog.objects.get(action_type="pause_bank")


def assert_read_only(client: Client, row: OpsActionLog) -> None:
    change = reverse("admin:audit_opsactionlog_change", args=[row.pk])
    before = list(OpsActionLog.objects.values_list("pk", "hash"))
    assert client.get(reverse("admin:audit_opsactionlog_add")).status_code == 403
    assert client.post(change, {"actor_id": "mallory"}).status_code == 403
    delete = reverse("admin:audit_opsactionlog_delete", args=[row.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    bulk = client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [row.pk]}
    )
    assert bulk.status_code in (200, 302)  # "no action selected", nothing done
    assert list(OpsActionLog.objects.values_list("pk", "hash")) == before


@pytest.mark.parametrize("role", ROLES)
def test_every_operator_role_reads_the_log(role: str, row: OpsActionLog) -> None:
    client = staff(role)
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert CHANGELIST in index.content.decode()
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert "pause_bank" in page.content.decode()
    detail = client.get(reverse("admin:audit_opsactionlog_change", args=[row.pk]))
    assert detail.status_code == 200
    html = detail.content.decode()
    assert row.hash in html
    assert 'name="_save"' not in html  # a view, not a form
    assert_read_only(client, row)


@pytest.mark.parametrize(
    ("roles", "linked"),
    [((), True), (("pay_admin",), False)],
    ids=["no-role", "no-subject"],
)
def test_a_staff_user_without_a_role_is_refused(
    row: OpsActionLog, roles: tuple[str, ...], linked: bool
) -> None:
    # a user not linked to a Molam ID subject holds no role, whatever its groups
    client = staff(*roles, linked=linked)
    assert client.get(CHANGELIST).status_code == 403
    detail = reverse("admin:audit_opsactionlog_change", args=[row.pk])
    assert client.get(detail).status_code == 403
    assert CHANGELIST not in client.get(reverse("admin:index")).content.decode()


def test_the_superuser_reads_but_cannot_write(row: OpsActionLog) -> None:
    client = staff(superuser=True)
    assert client.get(CHANGELIST).status_code == 200
    assert_read_only(client, row)


def test_checkpoints_are_read_only_for_operators_and_the_superuser() -> None:
    append(3)
    cp = sign_checkpoint()
    assert cp is not None
    changelist = reverse("admin:audit_auditcheckpoint_changelist")
    for client in (staff("ops"), staff(superuser=True)):
        resp = client.get(changelist)
        assert resp.status_code == 200
        assert cp.root_hash.encode() in resp.content
        delete = reverse("admin:audit_auditcheckpoint_delete", args=[cp.pk])
        assert client.post(delete, {"post": "yes"}).status_code == 403
        add = reverse("admin:audit_auditcheckpoint_add")
        assert client.get(add).status_code == 403
