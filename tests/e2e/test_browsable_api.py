"""The browsable API in a real browser, under the real Content-Security-Policy:
its form posts an ops action with the page's Idempotency-Key, a second
submit of the same form replays the first answer instead of acting twice,
and reloading the page gives a new key."""

from __future__ import annotations

import json
from typing import Any

from molam_ops.tokens import mint
from tests.e2e.pages import api, login
from tests.e2e.server import Server

ACTION = "/api/ops/pause-bank"


def page_key(page: Any) -> str:
    key: str = page.locator('meta[name="idempotency-key"]').get_attribute("content")
    return key


def shown(page: Any) -> tuple[str, dict[str, Any]]:
    """What the page shows of the response: its status and headers, and its
    body (after the first blank line)."""
    text: str = page.locator(".response-info pre").inner_text()
    head, _blank, body = text.partition("\n\n")
    return head, json.loads(body)


def submit(page: Any) -> Any:
    """Click the raw data form's POST; the action's response."""
    with page.expect_response(
        lambda r: r.url.endswith(ACTION) and r.request.method == "POST"
    ) as answered:
        page.locator("#post-generic-content-form button", has_text="POST").click()
    response = answered.value
    # DRF's script writes the answer over the page: wait for it
    page.wait_for_function(
        "() => document.readyState === 'complete'"
        " && document.querySelector('meta[name=\"idempotency-key\"]')"
        " && window.jQuery"
    )
    return response


def test_the_form_posts_once_replays_then_a_reload_is_a_new_key(
    browser: Any, server: Server
) -> None:
    token = mint(sub="alice", roles=["pay_admin"])
    banks = api(server, "GET", "/api/ops/banks?limit=100", token)["results"]
    bank = next(b for b in banks if not b["paused"] and not b["frozen"])
    body = {"bank_profile_id": bank["id"], "reason": "browsable API e2e"}

    page = login(browser, server, "alice")
    page.goto(server.url + ACTION)
    first_key = page_key(page)
    assert len(first_key) == 32
    page.fill("#id__content", json.dumps(body))

    first = submit(page)
    assert first.status == 200, first.text()
    assert first.request.header_value("idempotency-key") == first_key
    assert first.header_value("idempotent-replayed") is None
    head, acted = shown(page)
    assert head.startswith("HTTP 200 OK")
    assert "Idempotent-Replayed" not in head
    assert acted["control"]["key"] == f"pause_bank_{bank['id']}"

    # the page now shows the answer; its form keeps the key and the body
    assert page_key(page) == first_key
    assert json.loads(page.input_value("#id__content")) == body
    second = submit(page)
    assert second.status == 200
    assert second.request.header_value("idempotency-key") == first_key
    assert second.header_value("idempotent-replayed") == "true"
    head, replayed = shown(page)
    assert "Idempotent-Replayed: true" in head
    assert replayed == acted  # the first answer, not a second pause

    page.reload()
    assert page_key(page) not in ("", first_key)
    assert page.input_value("#id__content") == ""

    assert page.errors == []
    # nothing inline was refused by the Content-Security-Policy
    assert not [e for e in page.console_errors if "Content Security Policy" in e]
    rows = api(
        server, "GET", "/api/ops/actions?action_type=pause_bank&limit=500", token
    )["results"]
    # the form's two submits: one pause executed (a replay writes no row)
    assert [r["status"] for r in rows if r["idempotency_key"] == first_key] == [
        "executed"
    ]
    api(server, "POST", "/api/ops/resume-bank", token, {"bank_profile_id": bank["id"]})
