"""The approvals inbox and the freeze card in a real browser: a global freeze
asked for on one dashboard, signed on two others and seen frozen on a fourth
without a reload; the pending request shown across reloads, never asked for
twice; a decline with its reason; the mail's link opening the dialog; the
ops role that may follow but not sign; French; axe-core."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from molam_ops.tokens import mint
from tests.e2e.conftest import shot
from tests.e2e.pages import login, wait_loaded
from tests.e2e.server import Server, live_server
from tests.e2e.test_dashboard import run_axe

CARD = "main molam-freeze-button"
INBOX = "molam-approvals"
ROLES = {
    "alice": "pay_admin",
    "amadou": "pay_admin",
    "bruno": "finance_ops",
    "fatou": "finance_ops",
    "chloe": "ops",
}


def api(
    server: Server, user: str, method: str, path: str, body: Any = None
) -> tuple[int, dict[str, Any]]:
    """(status, body) of a call with ``user``'s token, errors included."""
    request = urllib.request.Request(  # noqa: S310 - our own local server
        server.url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={
            "Authorization": f"Bearer {mint(sub=user, roles=[ROLES[user]])}",
            "Content-Type": "application/json",
            "Idempotency-Key": uuid.uuid4().hex,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def no_global_freeze(server: Server) -> None:
    """Neither a global freeze nor a request for one: each test starts from
    there, whichever ran before it on this server (xdist spreads them)."""
    _status, body = api(
        server, "alice", "GET", "/api/ops/pending-approvals?action_type=freeze_payouts"
    )
    for waiting in body["results"]:
        signed = {s["signer_id"] for s in waiting["approvers"]}
        decliner = next(u for u in ("bruno", "amadou", "fatou") if u not in signed)
        status, answer = api(
            server,
            decliner,
            "POST",
            f"/api/ops/approve/{waiting['id']}",
            {"decision": "decline", "comment": "clean slate"},
        )
        assert status == 200, answer
    status, answer = api(
        server,
        "fatou",
        "POST",
        "/api/ops/unfreeze-payouts",
        {"scope": "global", "reason": "clean slate"},
    )
    assert status == 200 or answer["error"]["code"] == "not_frozen", answer


def pending_freeze(server: Server) -> str:
    """The id of a new global freeze request of alice's, unsigned."""
    no_global_freeze(server)
    status, body = api(
        server,
        "alice",
        "POST",
        "/api/ops/freeze-payouts",
        {"scope": "global", "reason": "card skimming wave"},
    )
    assert status == 202, body
    return str(body["approval"]["id"])


def count_frames(page: Any) -> None:
    """window.__frames: how many live summaries reached the page's widgets."""
    page.evaluate(
        r"""async () => {
            // the page's own module: its hashed name, as index.js imports it
            const url = performance.getEntriesByType('resource').map(e => e.name)
                .find(name => /\/widgets\/live\.[0-9a-f]{12}\.js$/.test(name));
            const live = await import(url);
            window.__frames = 0;
            live.subscribe(() => window.__frames++);
        }"""
    )


def some_bank(server: Server) -> str:
    _status, body = api(server, "alice", "GET", "/api/ops/banks")
    return str(next(b for b in body["results"] if not b["paused"])["id"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # its own server: these tests freeze everything, which the others must
    # not find frozen
    with live_server(tmp_path_factory.mktemp("e2e-approvals")) as running:
        yield running


@pytest.fixture
def pages(browser: Any, server: Server) -> Iterator[list[Any]]:
    """Pages opened by a test; none may end with a page error or a console
    error (but the 409 a test expects: a page sets ``allowed_console``)."""
    opened: list[Any] = []
    yield opened
    for page in opened:
        allowed = getattr(page, "allowed_console", ())
        assert page.errors == []
        assert [
            m for m in page.console_errors if not any(a in m for a in allowed)
        ] == []
        page.context.close()


def open_as(
    browser: Any, server: Server, pages: list[Any], user: str, **kw: Any
) -> Any:
    page = login(browser, server, user, **kw)
    pages.append(page)
    return page


def test_freeze_card_waits_across_reloads_and_asks_once(
    browser: Any, server: Server, pages: list[Any]
) -> None:
    no_global_freeze(server)
    alice = open_as(browser, server, pages, "alice")
    card = alice.locator(CARD)
    needed = card.locator('[data-field="needed"]')
    assert needed.inner_text() == (
        "A global freeze takes effect once 2 other people have signed it."
    )
    posts: list[str] = []
    alice.on(
        "request",
        lambda r: (
            r.method == "POST" and "/freeze-payouts" in r.url and posts.append(r.url)
        ),
    )
    count_frames(alice)

    # two clicks before the first dialog is up: one dialog (a real double
    # click lands its second click on the dialog itself)
    card.locator("button.act").evaluate("b => { b.click(); b.click(); }")
    dialog = card.locator("dialog[open]")
    dialog.wait_for()
    assert card.locator("dialog").count() == 1
    assert "2 other people" in dialog.locator("p").first.inner_text()
    dialog.locator("textarea").fill("incident 7")

    # a live frame while the dialog is open (a bank paused meanwhile) leaves
    # it open, with what was typed
    frames = alice.evaluate("window.__frames")
    bank = some_bank(server)
    assert (
        api(
            server,
            "amadou",
            "POST",
            "/api/ops/pause-bank",
            {"bank_profile_id": bank, "reason": "frame"},
        )[0]
        == 200
    )
    alice.wait_for_function("n => window.__frames > n", arg=frames, timeout=10_000)
    assert dialog.is_visible()
    assert dialog.locator("textarea").input_value() == "incident 7"

    dialog.locator("button.confirm").dblclick()
    waiting = card.locator('[data-outcome="waiting"]')
    waiting.wait_for(timeout=5_000)
    assert re.fullmatch(
        r"Waiting: 0 of 2 signatures · 2[34] h \d\d min left", waiting.inner_text()
    ), waiting.inner_text()
    assert len(posts) == 1
    assert card.locator("button.act").is_disabled()
    assert "no second request" in card.locator("#why").inner_text()
    approval_id = waiting.get_attribute("data-approval")

    # after a reload, read from the API: still waiting, still no second one
    alice.reload()
    wait_loaded(alice)
    waiting.wait_for(timeout=5_000)
    assert waiting.get_attribute("data-approval") == approval_id
    assert card.locator("button.act").is_disabled()
    assert len(posts) == 1
    api(server, "amadou", "POST", "/api/ops/resume-bank", {"bank_profile_id": bank})


def test_a_409_approval_pending_shows_the_waiting_request(
    browser: Any, server: Server, pages: list[Any]
) -> None:
    approval_id = pending_freeze(server)
    amadou = open_as(browser, server, pages, "amadou")
    amadou.allowed_console = ["status of 409"]
    # a card that has not heard of the request yet (its read answers nothing)
    amadou.route(
        lambda url: "pending-approvals" in url and "action_type=freeze_payouts" in url,
        lambda route: route.fulfill(
            json={"ok": True, "count": 0, "next": None, "results": []}
        ),
    )
    amadou.reload()
    wait_loaded(amadou)
    card = amadou.locator(CARD)
    card.locator("button.act").click()
    dialog = card.locator("dialog[open]")
    dialog.locator("textarea").fill("same incident")
    dialog.locator("button.confirm").click()
    waiting = card.locator('[data-outcome="waiting"]')
    waiting.wait_for(timeout=5_000)
    amadou.unroute_all()
    assert waiting.get_attribute("data-approval") == approval_id
    assert "Waiting: 0 of 2 signatures" in waiting.inner_text()
    assert (
        "already been asked for"
        in card.locator('[data-outcome="already-asked"]').inner_text()
    )
    assert card.locator("[role=alert]").count() == 0  # not an error
    assert card.locator("button.act").is_disabled()

    # amadou may sign it: the card's button opens the inbox's dialog
    card.locator("button.review").click()
    dialog = amadou.locator(f"{INBOX} dialog[open]")
    dialog.wait_for(timeout=5_000)
    assert dialog.get_attribute("data-approval") == approval_id
    dialog.locator("button.cancel").click()
    # a page without an inbox: the same dialog, in the card
    amadou.evaluate("document.querySelector('molam-approvals').remove()")
    card.locator("button.review").click()
    dialog = card.locator(f'dialog[open][data-approval="{approval_id}"]')
    dialog.wait_for(timeout=5_000)
    assert dialog.locator("h3").inner_text() == "Sign this request?"
    dialog.locator("button.confirm").click()
    signed = card.locator('[data-outcome="signed"]')
    signed.wait_for(timeout=5_000)
    assert signed.inner_text() == "Signed: 1 of 2 signatures, by amadou."
    card.locator(
        '[data-outcome="waiting"]', has_text="1 of 2 signatures, by amadou"
    ).wait_for(timeout=10_000)


def inbox_item(page: Any, approval_id: str) -> Any:
    return page.locator(f'{INBOX} .to-sign li[data-approval="{approval_id}"]')


def test_decline_needs_a_reason_and_the_requester_sees_it(
    browser: Any, server: Server, pages: list[Any]
) -> None:
    approval_id = pending_freeze(server)
    alice = open_as(browser, server, pages, "alice")
    alice.evaluate("window.__noReload = true")
    own = alice.locator(f'{INBOX} .mine li[data-approval="{approval_id}"]')
    assert own.get_attribute("data-status") == "pending"
    assert alice.locator(CARD).locator("button.act").is_disabled()
    # one's own request is followed, never offered for signing
    assert inbox_item(alice, approval_id).count() == 0

    bruno = open_as(browser, server, pages, "bruno")
    item = inbox_item(bruno, approval_id)
    assert "alice asks to freeze all payouts" in item.inner_text()
    item.locator('button[data-decision="decline"]').click()
    dialog = bruno.locator(f"{INBOX} dialog[open]")
    assert dialog.locator("h3").inner_text() == "Decline this request?"
    assert item.locator("p").first.inner_text() in dialog.inner_text()  # the summary
    dialog.locator("textarea").fill("   ")
    dialog.locator("button.confirm").click()  # spaces are no reason: not sent
    assert dialog.locator("textarea:invalid").count() == 1
    assert dialog.is_visible()
    dialog.locator("textarea").fill("not an incident: a test campaign")
    dialog.locator("button.confirm").click()
    notice = bruno.locator(f"{INBOX} .notice .message.ok")
    notice.wait_for(timeout=5_000)
    assert notice.inner_text() == "Declined: the request is closed."
    item.wait_for(state="detached", timeout=5_000)

    # the requester learns it live: the outcome, and the card offers a freeze
    declined = alice.locator(
        f'{INBOX} .mine li[data-approval="{approval_id}"][data-status="declined"]'
    )
    declined.wait_for(timeout=10_000)
    assert "declined by bruno: “not an incident: a test campaign”" in (
        declined.inner_text()
    )
    alice.locator(f"{CARD} button.act:not([disabled])").wait_for(timeout=10_000)
    assert alice.evaluate("window.__noReload") is True


def sign_in_inbox(page: Any, approval_id: str, comment: str) -> str:
    item = inbox_item(page, approval_id)
    item.locator('button[data-decision="approve"]').click()
    dialog = page.locator(f"{INBOX} dialog[open]")
    assert dialog.locator("h3").inner_text() == "Sign this request?"
    dialog.locator("textarea").fill(comment)
    dialog.locator("button.confirm").click()
    notice = page.locator(f"{INBOX} .notice .message.ok")
    notice.wait_for(timeout=5_000)
    item.wait_for(state="detached", timeout=5_000)
    return str(notice.inner_text())


def test_two_signatures_from_two_dashboards_freeze_a_third_live(
    browser: Any, server: Server, pages: list[Any]
) -> None:
    no_global_freeze(server)
    # fatou's dashboard is open before anything happens, and never reloads
    fatou = open_as(browser, server, pages, "fatou")
    fatou.evaluate("window.__noReload = true")
    fatou_card = fatou.locator(CARD)
    assert fatou_card.locator(".pill").inner_text() == "Payouts flowing"

    alice = open_as(browser, server, pages, "alice")
    card = alice.locator(CARD)
    card.locator("button.act").click()
    dialog = card.locator("dialog[open]")
    dialog.locator("textarea").fill("fraud wave on card payouts")
    dialog.locator("button.confirm").click()
    waiting = card.locator('[data-outcome="waiting"]')
    waiting.wait_for(timeout=5_000)
    approval_id = str(waiting.get_attribute("data-approval"))

    bruno = open_as(browser, server, pages, "bruno")
    assert sign_in_inbox(bruno, approval_id, "confirmed with risk") == (
        "Signed: 1 of 2 signatures, by bruno."
    )
    # everyone's card follows the signatures
    fatou_card.locator(
        '[data-outcome="waiting"]', has_text="Waiting: 1 of 2 signatures, by bruno ·"
    ).wait_for(timeout=10_000)

    amadou = open_as(browser, server, pages, "amadou")
    signers = inbox_item(amadou, approval_id).locator('[data-field="signatures"]')
    assert signers.inner_text() == "1 of 2 signatures, by bruno"
    assert sign_in_inbox(amadou, approval_id, "") == (
        "Signed: the signatures are complete and the action was executed."
    )

    fatou_card.locator(".pill.red", has_text="Frozen").wait_for(timeout=10_000)
    assert fatou_card.locator('[data-outcome="waiting"]').count() == 0
    assert fatou_card.locator("button.act").inner_text() == "Unfreeze all payouts"
    assert fatou.evaluate("window.__noReload") is True
    executed = alice.locator(
        f'{INBOX} .mine li[data-approval="{approval_id}"][data-status="executed"]'
    )
    executed.wait_for(timeout=10_000)
    assert "2 of 2 signatures, by bruno, amadou" in executed.inner_text()


def test_the_mail_link_opens_the_sign_dialog(
    browser: Any, server: Server, pages: list[Any]
) -> None:
    approval_id = pending_freeze(server)
    bruno = open_as(browser, server, pages, "bruno")
    bruno.goto(f"{server.url}/?approval={approval_id}")
    wait_loaded(bruno)
    dialog = bruno.locator(f"{INBOX} dialog[open]")
    dialog.wait_for(timeout=5_000)
    assert dialog.get_attribute("data-approval") == approval_id
    assert dialog.locator("h3").inner_text() == "Sign this request?"
    assert "alice asks to freeze all payouts" in dialog.inner_text()
    assert "Yours would be signature 1 of 2." in dialog.inner_text()
    assert "approval=" not in bruno.url  # a reload does not open it again

    # fatou signs meanwhile: the inbox reloads under the open dialog
    dialog.locator("textarea").fill("checking with risk")
    status, _body = api(
        server,
        "fatou",
        "POST",
        f"/api/ops/approve/{approval_id}",
        {"decision": "approve"},
    )
    assert status == 200
    inbox_item(bruno, approval_id).locator(
        '[data-field="signatures"]', has_text="1 of 2 signatures, by fatou"
    ).wait_for(timeout=10_000)
    assert dialog.is_visible()
    assert dialog.locator("textarea").input_value() == "checking with risk"
    dialog.locator("button.cancel").click()
    assert inbox_item(bruno, approval_id).is_visible()  # still to sign

    # the requester, and whoever may not sign, are told why instead
    alice = open_as(browser, server, pages, "alice")
    alice.goto(f"{server.url}/?approval={approval_id}")
    wait_loaded(alice)
    notice = alice.locator(f"{INBOX} .notice .message.info")
    notice.wait_for(timeout=5_000)
    assert notice.inner_text().startswith(
        "You asked for this request: other people sign it."
    )
    assert alice.locator(f"{INBOX} dialog").count() == 0

    missing = str(uuid.uuid4())
    bruno.goto(f"{server.url}/?approval={missing}")
    wait_loaded(bruno)
    bruno.allowed_console = ["status of 404"]
    error = bruno.locator(f"{INBOX} .notice .message.error")
    error.wait_for(timeout=5_000)
    assert error.inner_text() == "No approval request with this id."


def test_ops_follow_the_requests_but_may_not_sign(
    browser: Any, server: Server, pages: list[Any]
) -> None:
    approval_id = pending_freeze(server)
    chloe = open_as(browser, server, pages, "chloe")
    inbox = chloe.locator(INBOX)
    assert inbox.get_attribute("data-state") == "ready"
    assert inbox.locator("h3").first.inner_text() == "Waiting for signatures"
    why = inbox.locator("#sign-why").inner_text()
    assert "signing needs the pay_admin or finance_ops role (yours: ops)" in why
    item = inbox_item(chloe, approval_id)
    for button in item.locator("button").all():
        assert button.is_disabled()
        assert "sign-why" in str(button.get_attribute("aria-describedby"))
    assert inbox.locator('.mine [data-empty="mine"]').inner_text() == (
        "None in the last 24 hours."
    )


def test_time_left_counts_down(browser: Any, server: Server, pages: list[Any]) -> None:
    approval_id = pending_freeze(server)
    bruno = open_as(browser, server, pages, "bruno")
    bruno.clock.install()
    bruno.reload()
    wait_loaded(bruno)
    left = inbox_item(bruno, approval_id).locator("[data-expires]")
    before = left.inner_text()
    hours = int(re.fullmatch(r"(\d+) h \d\d min left", before).group(1))  # type: ignore[union-attr]
    bruno.clock.fast_forward("02:00:00")
    bruno.wait_for_function(
        "([el, text]) => el.textContent !== text",
        arg=[left.element_handle(), before],
        timeout=5_000,
    )
    assert left.inner_text().startswith(f"{hours - 2} h ")


def test_in_french(browser: Any, server: Server, pages: list[Any]) -> None:
    approval_id = pending_freeze(server)
    # no saved preference: the browser's language decides
    amadou = open_as(browser, server, pages, "amadou", locale="fr-FR")
    inbox = amadou.locator(INBOX)
    assert inbox.locator("h2").inner_text() == "APPROBATIONS"
    item = inbox_item(amadou, approval_id)
    text = item.inner_text()
    assert "alice demande : geler tous les paiements" in text
    assert re.search(r"0 sur 2 signatures · il reste \d+ h \d\d min", text), text
    assert item.locator('button[data-decision="approve"]').inner_text() == "Signer"
    assert item.locator('button[data-decision="decline"]').inner_text() == "Refuser"
    card = amadou.locator(CARD)
    assert (
        "En attente : 0 sur 2 signatures"
        in card.locator('[data-outcome="waiting"]').inner_text()
    )
    item.locator('button[data-decision="decline"]').click()
    dialog = inbox.locator("dialog[open]")
    assert dialog.locator("h3").inner_text() == "Refuser cette demande ?"
    dialog.locator("button.cancel").click()


def test_axe_with_the_inbox_populated(
    browser: Any, server: Server, pages: list[Any]
) -> None:
    approval_id = pending_freeze(server)
    for scheme in ("light", "dark"):
        bruno = open_as(browser, server, pages, "bruno", color_scheme=scheme)
        item = inbox_item(bruno, approval_id)
        assert item.is_visible()
        assert run_axe(bruno) == [], scheme
        if scheme == "light":
            # the window as an approver sees it: the waiting freeze, the inbox
            bruno.evaluate("document.querySelector('main .grid').scrollIntoView()")
            shot(bruno, "approvals-inbox.png", full_page=False)
        item.locator('button[data-decision="approve"]').click()
        bruno.locator(f"{INBOX} dialog[open]").wait_for()
        assert run_axe(bruno) == [], scheme
        bruno.locator(f"{INBOX} dialog[open] button.cancel").click()


def test_empty_and_error_states(browser: Any, server: Server, pages: list[Any]) -> None:
    no_global_freeze(server)
    bruno = open_as(browser, server, pages, "bruno")
    inbox = bruno.locator(INBOX)
    assert inbox.get_attribute("data-state") == "empty"
    assert inbox.locator('[data-empty="to-sign"]').inner_text() == (
        "Nothing waits for your signature."
    )

    # the API down when the inbox loads: the §6 message and a retry
    bruno.allowed_console = ["status of 503"]
    bruno.route(
        lambda url: "/api/ops/pending-approvals" in url,
        lambda route: route.fulfill(
            status=503,
            json={
                "ok": False,
                "error": {
                    "code": "service_unavailable",
                    "message": "The database is unreachable.",
                    "fields": {},
                },
            },
        ),
    )
    bruno.reload()
    wait_loaded(bruno)
    assert inbox.get_attribute("data-state") == "error"
    assert "The database is unreachable." in inbox.locator("[role=alert]").inner_text()
    bruno.unroute_all()
    inbox.locator("button.retry").click()
    bruno.wait_for_function(
        "() => document.querySelector('molam-approvals').dataset.state === 'empty'",
        timeout=5_000,
    )


def test_a_retried_signature_keeps_its_idempotency_key(
    browser: Any, server: Server, pages: list[Any]
) -> None:
    approval_id = pending_freeze(server)
    fatou = open_as(browser, server, pages, "fatou")
    fatou.allowed_console = ["net::ERR_FAILED"]
    keys: list[str] = []
    fatou.on(
        "request",
        lambda r: (
            "/api/ops/approve/" in r.url and keys.append(r.headers["idempotency-key"])
        ),
    )
    # the first attempt never reaches the server (a dropped connection)
    fatou.route("**/api/ops/approve/**", lambda route: route.abort())
    inbox_item(fatou, approval_id).locator('button[data-decision="approve"]').click()
    dialog = fatou.locator(f"{INBOX} dialog[open]")
    dialog.locator("button.confirm").click()
    alert = dialog.locator("[role=alert]")
    alert.wait_for(timeout=5_000)
    assert "could not be reached" in alert.inner_text()
    assert dialog.locator("button.confirm").inner_text() == "Retry"
    fatou.unroute_all()
    dialog.locator("button.confirm").click()
    notice = fatou.locator(f"{INBOX} .notice .message.ok")
    notice.wait_for(timeout=5_000)
    assert notice.inner_text() == "Signed: 1 of 2 signatures, by fatou."
    assert len(keys) == 2 and keys[0] == keys[1], keys


def test_inbox_reads_again_when_the_network_returns(
    browser: Any, server: Server, pages: list[Any]
) -> None:
    no_global_freeze(server)
    bruno = open_as(browser, server, pages, "bruno", service_workers="block")
    bruno.allowed_console = ("Failed to load resource",)
    blocked = {"on": True}

    def approvals(route: Any) -> None:
        if blocked["on"]:
            route.abort("internetdisconnected")
        else:
            route.continue_()

    bruno.route(re.compile(r"/api/ops/(pending-)?approvals\?"), approvals)
    approval_id = pending_freeze(server)  # the revision moves: the inbox reads
    inbox = bruno.locator(INBOX)
    inbox.locator(".load-error [role=alert]").wait_for(timeout=10_000)
    assert (
        "Could not refresh the requests." in inbox.locator(".load-error").inner_text()
    )
    # the network drops and returns; nothing else changes (same revision)
    bruno.context.set_offline(True)
    blocked["on"] = False
    bruno.context.set_offline(False)
    inbox.locator(f'.to-sign [data-approval="{approval_id}"]').wait_for(timeout=10_000)
    assert inbox.locator(".load-error").inner_text() == ""
