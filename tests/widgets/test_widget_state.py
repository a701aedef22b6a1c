"""GET/PUT /api/widgets/state/<widget_type>: per caller, validated, §6 errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from audit.models import OpsActionLog
from widgets.models import WidgetState

pytestmark = pytest.mark.django_db
URL = "/api/widgets/state/"


def put(client: Any, widget_type: str, body: Any, **kw: Any) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.put(URL + widget_type, data, content_type="application/json", **kw)


def test_empty_then_saved_then_replaced(ops: Any) -> None:
    resp = ops.get(URL + "balance")
    assert resp.status_code == 200
    assert resp.json() == {
        "ok": True,
        "widget_state": {"widget_type": "balance", "state": {}, "updated_at": None},
    }
    resp = put(ops, "balance", {"currency": "XOF", "collapsed": True})
    assert resp.status_code == 200
    assert resp.json()["widget_state"]["state"] == {
        "currency": "XOF",
        "collapsed": True,
    }
    put(ops, "balance", {"currency": "USD"})
    got = ops.get(URL + "balance").json()["widget_state"]
    assert got["state"] == {"currency": "USD"}
    assert got["updated_at"].endswith("Z")
    assert WidgetState.objects.filter(user="chloe").count() == 1


def test_state_is_per_caller(ops: Any, pay_admin: Any) -> None:
    put(ops, "bank_health", {"sort": "status"})
    assert pay_admin.get(URL + "bank_health").json()["widget_state"]["state"] == {}


def test_not_an_audited_ops_action(ops: Any) -> None:
    put(ops, "quick_actions", {"open": True})
    assert not OpsActionLog.objects.exists()


def test_unknown_widget_type_is_404(ops: Any) -> None:
    for resp in (ops.get(URL + "nope"), put(ops, "nope", {})):
        assert resp.status_code == 404
        assert resp.json()["error"]["code"] == "not_found"


def test_invalid_json_is_400(ops: Any) -> None:
    resp = put(ops, "balance", '{"currency": ')
    assert resp.status_code == 400
    assert resp.json()["ok"] is False
    assert resp.json()["error"]["code"] == "malformed_json"


@pytest.mark.parametrize("body", [[1, 2], "just text", 3])
def test_state_must_be_an_object(ops: Any, body: Any) -> None:
    resp = put(ops, "balance", json.dumps(body))
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "validation_error"


def test_larger_than_64_kib_is_413(ops: Any) -> None:
    resp = put(ops, "balance", {"blob": "x" * (64 * 1024)})
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "state_too_large"
    assert not WidgetState.objects.exists()
    # just under the limit is fine
    assert put(ops, "balance", {"blob": "x" * (60 * 1024)}).status_code == 200


def test_body_over_the_upload_limit_is_413_too(ops: Any) -> None:
    resp = put(ops, "balance", {"blob": "x" * (2 * 1024 * 1024)})
    assert resp.status_code == 413
    body = resp.json()
    assert body["ok"] is False
    # refused before the view when the API's body limit (molam_ops.hardening)
    # is the smaller: the same §6 answer, under that limit's code
    assert body["error"]["code"] in {"state_too_large", "request_too_large"}
    assert body["error"]["message"]
    assert not WidgetState.objects.exists()


def test_preferences_accept_known_languages_only(ops: Any) -> None:
    assert put(ops, "preferences", {"lang": "fr"}).status_code == 200
    resp = put(ops, "preferences", {"lang": "xx"})
    assert resp.status_code == 400
    assert "lang" in resp.json()["error"]["fields"]


def test_anonymous_and_outsiders_refused(anonymous: Any, outsider: Any) -> None:
    assert put(anonymous, "balance", {}).status_code == 401
    assert put(outsider, "balance", {}).status_code == 403
