"""The dashboard page, its PWA files and the JS catalogue (no browser)."""

from __future__ import annotations

from typing import Any

import pytest
from django.template.loader import render_to_string

from tests.factories import operator_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client: Any) -> Any:
    user = operator_user("alice", "pay_admin")
    client.force_login(user)
    return client


def test_dashboard_requires_login(client: Any) -> None:
    resp = client.get("/")
    assert resp.status_code == 302
    assert resp["Location"] == "/admin/login/?next=/"


def test_dashboard_renders_the_eight_widgets(operator: Any) -> None:
    resp = operator.get("/")
    assert resp.status_code == 200
    html = resp.content.decode()
    for tag in (
        "molam-balance",
        "molam-freeze-button",
        "molam-plan-panel",
        "molam-payout-summary",
        "molam-bank-health",
        "molam-suggestions",
        "molam-quick-actions",
        "molam-approvals",
    ):
        assert f"<{tag}" in html
    assert 'rel="manifest"' in html
    assert "csrftoken" in resp.cookies  # the widgets send it back


def test_dashboard_in_french(operator: Any) -> None:
    html = operator.get("/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<html lang="fr">' in html
    assert "Opérations de paiement" in html


def test_each_widget_template_renders_its_element() -> None:
    assert 'currency="XOF"' in render_to_string(
        "widgets/balance.html", {"currency": "XOF"}
    )
    assert 'scope="global"' in render_to_string("widgets/freeze_button.html")
    assert 'plan-type="risk_mitigation"' in render_to_string(
        "widgets/plan_panel.html", {"plan_type": "risk_mitigation"}
    )
    assert "<molam-approvals></molam-approvals>" in render_to_string(
        "widgets/approvals.html"
    )


def test_manifest_and_service_worker(client: Any) -> None:
    manifest = client.get("/manifest.webmanifest")
    assert manifest["Content-Type"] == "application/manifest+json"
    body = manifest.json()
    assert body["start_url"] == "/" and body["display"] == "standalone"
    assert {"192x192", "512x512"} <= {i["sizes"] for i in body["icons"]}
    sw = client.get("/sw.js")
    assert sw["Content-Type"].startswith("text/javascript")
    assert sw["Service-Worker-Allowed"] == "/"
    text = sw.content.decode()
    assert "/static/widgets/elements/freeze-button.js" in text
    assert "/static/widgets/elements/approvals.js" in text
    assert "/static/widgets/signing.js" in text
    assert '"/api/"' in text  # the API is never cached


def test_js_catalogue(client: Any) -> None:
    fr = client.get("/widgets/i18n/fr.json").json()
    assert fr["catalog"]["Sign this request?"] == "Signer cette demande ?"
    # a string with a context (pgettext), as the inbox's statuses are
    assert fr["catalog"]["approval status\x04declined"] == "refusée"
    en = client.get("/widgets/i18n/en.json").json()
    assert en["catalog"].get("Freeze payouts", "Freeze payouts") == "Freeze payouts"
    assert client.get("/widgets/i18n/xx.json").status_code == 404
