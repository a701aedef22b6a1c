"""GET /api/ops/me and the language of a request: JWT ``lang``, then the
operator's preference, then Accept-Language."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.factories import operator_user
from tests.helpers import bearer_client

pytestmark = pytest.mark.django_db


def test_me_lists_roles_and_allowed_actions(ops: Any, pay_admin: Any) -> None:
    me = ops.get("/api/ops/me").json()
    assert me["ok"] is True
    assert me["id"] == "chloe"
    assert me["roles"] == ["ops"]
    assert "freeze_payouts" not in me["actions"]
    admin = pay_admin.get("/api/ops/me").json()
    assert admin["actions"]["freeze_payouts"] == "/api/ops/freeze-payouts"
    assert admin["actions"]["approve"] == "/api/ops/approve/{approval_id}"


def test_me_says_how_many_signatures_a_global_freeze_needs(
    ops: Any, settings: Any
) -> None:
    # what the freeze card tells the operator before they ask
    assert ops.get("/api/ops/me").json()["approval_rules"] == {"freeze_global": 2}
    settings.APPROVAL_GLOBAL_FREEZE_SIGNATURES = 3
    assert ops.get("/api/ops/me").json()["approval_rules"] == {"freeze_global": 3}


def test_me_documents_its_approval_rules(client: Any) -> None:
    schema = client.get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    ).json()
    me = schema["components"]["schemas"]["Me"]
    assert "approval_rules" in me["required"]
    rules = schema["components"]["schemas"]["ApprovalRules"]
    assert rules["properties"]["freeze_global"]["type"] == "integer"


def test_me_for_no_role_and_anonymous(outsider: Any, anonymous: Any) -> None:
    resp = outsider.get("/api/ops/me")  # every GET under /api/ops/: 403
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "forbidden"
    assert anonymous.get("/api/ops/me").status_code == 401


def test_jwt_lang_claim_wins(make_token: Any) -> None:
    token = make_token(sub="awa", roles=["ops"], lang="fr")
    client = bearer_client(token, HTTP_ACCEPT_LANGUAGE="en")
    resp = client.get("/api/ops/me")
    assert resp.json()["lang"] == "fr"
    assert resp["Content-Language"] == "fr"
    # API error messages are translated too
    resp = client.get("/api/widgets/state/nope")
    assert resp.json()["error"]["message"] == "Aucun type de widget de ce nom."


def test_preference_then_accept_language(make_token: Any) -> None:
    client = bearer_client(
        make_token(sub="omar", roles=["ops"], lang=""), HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert client.get("/api/ops/me").json()["lang"] == "fr"  # Accept-Language
    client.put(
        "/api/widgets/state/preferences",
        json.dumps({"lang": "en"}),
        content_type="application/json",
    )
    assert client.get("/api/ops/me").json()["lang"] == "en"  # the preference


def test_bad_token_changes_nothing_and_is_refused(anonymous: Any) -> None:
    client = bearer_client("not-a-token", HTTP_ACCEPT_LANGUAGE="fr")
    resp = client.get("/api/ops/me")
    assert resp.status_code == 401
    assert resp["Content-Language"] == "fr"


def test_session_user_preference(client: Any) -> None:
    user = operator_user("fatou", "finance_ops")
    client.force_login(user)
    assert client.get("/api/ops/me", HTTP_ACCEPT_LANGUAGE="en").json()["lang"] == "en"
    resp = client.put(
        "/api/widgets/state/preferences",
        json.dumps({"lang": "fr"}),
        content_type="application/json",
    )
    assert resp.status_code == 200
    me = client.get("/api/ops/me", HTTP_ACCEPT_LANGUAGE="en").json()
    assert me == {
        "ok": True,
        "id": "fatou",
        "roles": ["finance_ops"],
        "lang": "fr",
        "actions": me["actions"],
        "available_actions": me["available_actions"],
        "approval_rules": {"freeze_global": 2},
    }
    assert "pause_bank" in me["available_actions"]
    assert "freeze_payouts" in me["actions"]
