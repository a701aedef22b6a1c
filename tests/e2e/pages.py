"""Signing in and waiting for the widgets, shared by the browser tests."""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import Any

from tests.e2e.server import Server

WIDGETS = (
    "molam-balance",
    "molam-payout-summary",
    "molam-freeze-button",
    "molam-quick-actions",
    "molam-bank-health",
    "molam-plan-panel",
    "molam-suggestions",
    "molam-approvals",
)


_sessions: dict[tuple[str, str], Any] = {}


def login(browser: Any, server: Server, user: str, **context: Any) -> Any:
    """A page on the dashboard signed in as ``user``; the first time through
    the login form (password hashing is slow), then with the saved cookies."""
    options = {"viewport": {"width": 1280, "height": 1000}, **context}
    saved = _sessions.get((server.url, user))
    ctx = browser.new_context(storage_state=saved, **options)
    page = ctx.new_page()
    page.errors = []  # uncaught exceptions of the page: there must be none
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.console_errors = []  # what the console shows as errors
    page.on("console", lambda msg: console_error(page, msg))
    page.goto(server.url + "/")
    if saved is None:
        assert "/admin/login/" in page.url  # login required
        page.fill("#id_username", user)
        page.fill("#id_password", "molam-demo")
        page.click("input[type=submit]")
        page.wait_for_url(server.url + "/")
        _sessions[(server.url, user)] = ctx.storage_state()
    wait_loaded(page)
    return page


def console_error(page: Any, msg: Any) -> None:
    if msg.type == "error":
        page.console_errors.append(msg.text)


def widget_states(page: Any) -> dict[str, list[str]]:
    """Each widget tag's instances' data-state."""
    return {
        tag: page.eval_on_selector_all(tag, "els => els.map(e => e.dataset.state)")
        for tag in WIDGETS
    }


def wait_states(page: Any, states: tuple[str, ...], timeout: float = 10_000) -> None:
    """Until every instance of every widget is in one of ``states``."""
    page.wait_for_function(
        """([tags, states]) => tags.every(tag => {
                const els = [...document.querySelectorAll(tag)];
                return els.length > 0
                    && els.every(e => states.includes(e.dataset.state));
            })""",
        arg=[list(WIDGETS), list(states)],
        timeout=timeout,
    )


def wait_loaded(page: Any) -> None:
    for tag in WIDGETS:
        page.wait_for_function(
            """tag => [...document.querySelectorAll(tag)].length > 0 &&
                [...document.querySelectorAll(tag)].every(
                    e => e.dataset.state && e.dataset.state !== 'loading')""",
            arg=tag,
            timeout=10_000,
        )


def api(server: Server, method: str, path: str, token: str, body: Any = None) -> Any:
    """One API call to the test's server, as a client would make it (a fresh
    Idempotency-Key each time); the JSON answer."""
    request = urllib.request.Request(  # noqa: S310 - our own local server
        server.url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": uuid.uuid4().hex,
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())
