"""The browsable API's pages: a new Idempotency-Key per load, kept (with the
body) by the page that shows a POST's answer, sent by a static script, and
nothing inline for the Content-Security-Policy to refuse. The browser side
is tests/e2e/test_browsable_api.py."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from tests.factories import operator_user

pytestmark = pytest.mark.django_db

KEY = re.compile(r'<meta name="idempotency-key" content="([^"]*)">')


@pytest.fixture
def alice() -> Client:
    client = Client()
    client.force_login(operator_user("alice", "pay_admin"))
    return client


def html(client: Client, method: str, path: str, **kw: Any) -> tuple[Any, str]:
    resp = getattr(client, method)(path, HTTP_ACCEPT="text/html", **kw)
    assert resp["Content-Type"].startswith("text/html"), resp.content[:300]
    return resp, resp.content.decode()


def key_of(page: str) -> str:
    [key] = KEY.findall(page)
    return key


def textarea(page: str) -> str:
    [content] = re.findall(r'id="id__content"[^>]*>\n?(.*?)</textarea>', page, re.S)
    return content.replace("&quot;", '"')


def test_each_load_of_a_page_has_a_new_key(alice: Client) -> None:
    keys = {key_of(html(alice, "get", "/api/ops/pause-bank")[1]) for _ in range(3)}
    assert len(keys) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}", k) for k in keys)


def test_the_answer_page_keeps_the_key_and_the_body(alice: Client, bank: Any) -> None:
    body = {"bank_profile_id": str(bank.id), "reason": "timeouts"}
    sent = {"data": json.dumps(body), "content_type": "application/json"}
    resp, page = html(
        alice, "post", "/api/ops/pause-bank", HTTP_IDEMPOTENCY_KEY="k-1", **sent
    )
    assert resp.status_code == 200
    assert key_of(page) == "k-1"
    assert json.loads(textarea(page)) == body
    again, page = html(
        alice, "post", "/api/ops/pause-bank", HTTP_IDEMPOTENCY_KEY="k-1", **sent
    )
    assert again["Idempotent-Replayed"] == "true"
    assert re.search(r"<b>Idempotent-Replayed:</b>\s*<span[^>]*>true<", page)
    assert key_of(page) == "k-1"


def test_a_refused_post_keeps_its_key_so_the_corrected_form_can_use_it(
    alice: Client,
) -> None:
    sent = {"data": json.dumps({"reason": "x"}), "content_type": "application/json"}
    resp, page = html(
        alice, "post", "/api/ops/pause-bank", HTTP_IDEMPOTENCY_KEY="k-2", **sent
    )
    assert resp.status_code == 400  # validation: not stored under the key
    assert key_of(page) == "k-2"
    assert json.loads(textarea(page)) == {"reason": "x"}


def test_without_a_usable_key_the_answer_page_gets_a_new_one(alice: Client) -> None:
    sent = {"data": "{}", "content_type": "application/json"}
    _resp, page = html(alice, "post", "/api/ops/pause-bank", **sent)
    assert re.fullmatch(r"[0-9a-f]{32}", key_of(page))
    long_key = "k" * 256
    _resp, page = html(
        alice, "post", "/api/ops/pause-bank", HTTP_IDEMPOTENCY_KEY=long_key, **sent
    )
    assert key_of(page) not in (long_key, "")


def test_the_page_runs_no_inline_script_and_loads_ours(alice: Client) -> None:
    _resp, page = html(alice, "get", "/api/ops/")
    scripts = re.findall(r"<script([^>]*)>", page)
    assert all("src=" in s or 'type="application/json"' in s for s in scripts)
    assert any("molam_ops/browsable-api.js" in s for s in scripts)
    assert finders.find("molam_ops/browsable-api.js")
    # no inline event handler (DRF's own "Log out" link has one: replaced)
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", page)
    [logout] = re.findall(
        r'<form method="post" action="(/api-auth/logout/[^"]*)"', page
    )
    assert Client().post(logout).status_code in (200, 302)  # a plain form post
