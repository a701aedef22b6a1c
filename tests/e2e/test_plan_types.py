"""The dashboard's plan panel in a real browser, for each plan type, in
English and in French: pick the type (and a constraint) in the panel,
generate, read the preview (bank names, numbers in the reader's language),
have it signed through the approvals inbox by two other people when it needs
signatures, execute it and watch every step's progress. Then the SIRA
bubble: its count is the API's, its panel is as tall as its content, Accept
shows the action and target before running, Decline needs a reason."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from molam_ops.tokens import mint
from tests.e2e.pages import api as api_call
from tests.e2e.pages import login, wait_loaded
from tests.e2e.plan_data import carried
from tests.e2e.server import Server, live_server

PANEL = "main molam-plan-panel"
INBOX = "molam-approvals"
BUBBLE = "molam-suggestions"
TYPES = ("routing_optimization", "float_rebalance", "risk_mitigation")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# who generates, and the two others who sign, in each language (a language
# is a preference of the operator's, kept on the server)
PEOPLE = {"en": ("alice", ("bruno", "fatou")), "fr": ("amadou", ("fatou", "bruno"))}
DONE = {"en": "steps done", "fr": "étape(s) sur"}
MOVED = {"en": "payouts moved", "fr": "paiements déplacés"}


def api(server: Server, method: str, path: str, body: Any = None) -> Any:
    """A call as a pay_admin who is not one of the browser's users."""
    return api_call(
        server, method, path, mint(sub="e2e-reader", roles=["pay_admin"]), body
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with live_server(tmp_path_factory.mktemp("e2e-plan-types")) as running:
        yield running


# Something for each plan type to do on the demo rails: CBAO's breaker is
# open (XOF has other banks: risk pauses it, routing moves its payouts) and
# an XOF float account is empty (rebalance refills it).
TROUBLE = """
from payouts.models import BankProfile, TreasuryAccount
BankProfile.objects.filter(code="cbao-sn").update(circuit_state="open", status="red")
empty = TreasuryAccount.objects.filter(currency="XOF").exclude(
    bank_profile__code="cbao-sn").order_by("balance").first()
TreasuryAccount.objects.filter(pk=empty.pk).update(balance=0)
"""


@pytest.fixture
def troubled(tmp_path: Any) -> Iterator[Server]:
    """A server of its own per language: each generates and runs all three
    plans on the same starting rails."""
    with live_server(tmp_path) as running:
        running.manage("shell", "-c", TROUBLE)
        yield running


@pytest.fixture
def pages(browser: Any) -> Iterator[dict[str, Any]]:
    opened: dict[str, Any] = {}
    yield opened
    for page in opened.values():
        assert page.errors == []
        page.context.close()


def open_as(browser: Any, server: Server, pages: dict[str, Any], user: str) -> Any:
    if user not in pages:
        pages[user] = login(browser, server, user)
    return pages[user]


def in_language(page: Any, lang: str) -> None:
    if page.evaluate("document.documentElement.lang") == lang:
        return
    page.select_option("#lang", lang)
    page.click("#lang-form button")
    page.wait_for_function(f"() => document.documentElement.lang === '{lang}'")
    wait_loaded(page)


def intl(page: Any, amount: str, currency: str, lang: str) -> str:
    """The amount as the panel must show it: Intl in the page's language,
    the ISO code for the CFA francs (both are "F CFA" in French)."""
    return str(
        page.evaluate(
            """([amount, currency, lang]) => new Intl.NumberFormat(lang, {
                style: 'currency', currency,
                currencyDisplay: ['XOF', 'XAF'].includes(currency) ? 'code' : 'symbol',
            }).format(Number(amount))""",
            [amount, currency, lang],
        )
    )


def sign_in_inbox(page: Any, approval_id: str) -> None:
    item = page.locator(f'{INBOX} .to-sign li[data-approval="{approval_id}"]')
    item.wait_for(timeout=10_000)
    item.locator('button[data-decision="approve"]').click()
    dialog = page.locator(f"{INBOX} dialog[open]")
    dialog.locator("textarea").fill("checked the preview")
    dialog.locator("button.confirm").click()
    page.locator(f"{INBOX} .notice .message.ok").wait_for(timeout=5_000)
    item.wait_for(state="detached", timeout=5_000)


def generate(page: Any, plan_type: str, **constraints: str) -> dict[str, Any]:
    panel = page.locator(PANEL)
    count = page.evaluate("window.__plans.length")
    panel.locator("#plan-type").select_option(plan_type)
    for name, value in constraints.items():
        panel.locator(f"#{name}").fill(value)
    panel.locator("form button[type=submit]").click()
    page.wait_for_function(
        f"() => window.__plans.length === {count + 1}", timeout=30_000
    )
    plan: dict[str, Any] = page.evaluate("window.__plans.at(-1)")
    return plan


def check_preview(page: Any, server: Server, plan: dict[str, Any], lang: str) -> None:
    preview = page.locator(f"{PANEL} .plan")
    rows = preview.locator("table.steps tbody tr")
    assert rows.count() == len(plan["steps"])
    names = {
        b["id"]: b["name"]
        for b in api(server, "GET", "/api/metrics/summary")["summary"]["banks"]
    }
    for step, text in zip(
        plan["steps"],
        rows.locator('[data-field="step"]').all_inner_texts(),
        strict=True,
    ):
        # bank names, never bare ids
        assert not UUID.search(text), text
        for key in ("from_bank_id", "to_bank_id", "bank_profile_id"):
            if step.get(key) in names:
                assert names[step[key]] in text, (step, text)
    currency = plan["currency"] or "USD"
    total = preview.locator('[data-field="total"]').inner_text()
    assert total == intl(page, plan["total_amount"] or "0", currency, lang)
    if lang == "fr" and currency not in {"XOF", "XAF"}:
        # French: decimal comma, groups of three with a (narrow) no-break space
        assert re.search(r"\d,\d{2}", total), total
        if float(plan["total_amount"] or 0) >= 1000:
            assert re.search(r"\d[\u202f\u00a0]\d{3}", total), total
    table = plan["details"].get("preview")
    if table:  # plans that carry their preview show it per bank and currency
        shown = preview.locator("section.preview tbody tr")
        assert shown.count() == len(table["rows"])
        for row, text in zip(table["rows"], shown.all_inner_texts(), strict=True):
            assert row["bank_name"] in text and row["currency"] in text


def execute_and_follow(
    page: Any, server: Server, plan: dict[str, Any], lang: str
) -> None:
    panel = page.locator(PANEL)
    preview = panel.locator(".plan")
    execute = preview.locator("button.execute")
    execute.wait_for(timeout=15_000)
    execute.click()
    panel.locator("dialog[open] button.confirm").click()
    page.wait_for_function(
        f"""() => ['executed', 'failed'].includes(
            document.querySelector('{PANEL}').dataset.plan)""",
        timeout=60_000,
    )
    progress = preview.locator('[data-field="progress"]').inner_text()
    assert DONE[lang] in progress, progress
    states = preview.locator("table.steps tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.state)"
    )
    assert len(states) == len(plan["steps"])
    assert all(s in {"done", "noop", "failed", "blocked"} for s in states), states
    final = api(server, "GET", f"/api/ops/plans/{plan['id']}")["plan"]
    # a step that moved fewer payouts than it meant to says so, in figures
    for step in (final["details"].get("progress") or {}).get("steps", []):
        if step.get("expected") is not None and step.get("moved") is not None:
            row = preview.locator(f'table.steps tr[data-step="{step["index"]}"]')
            cell = row.locator('[data-field="step-progress"]').inner_text()
            assert MOVED[lang] in cell, cell
    assert preview.locator("button.execute").count() == 0


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_each_plan_type_from_the_panel(
    browser: Any, troubled: Server, pages: dict[str, Any], lang: str
) -> None:
    server = troubled
    author, signers = PEOPLE[lang]
    page = open_as(browser, server, pages, author)
    in_language(page, lang)
    page.evaluate(
        """() => { window.__plans = [];
            document.addEventListener('plan-generated',
                e => window.__plans.push(e.detail)); }"""
    )
    panel = page.locator(PANEL)
    seen: list[tuple[str, int, bool]] = []
    for plan_type in TYPES:
        # constraints from the form reach the plan (as fractions); one bank
        # may hold a whole currency (the demo serves some through one bank)
        plan = generate(page, plan_type, min_success_rate="90", max_bank_share="100")
        assert plan["plan_type"] == plan_type
        assert plan["status"] == "pending", plan
        assert plan["params"]["constraints"]["min_success_rate"] == "0.9"
        assert plan["params"]["constraints"]["max_bank_share"] == "1"
        # Generate is offered again once the plan is there
        assert panel.locator("form button[type=submit]").is_enabled()
        check_preview(page, server, plan, lang)
        seen.append((plan_type, len(plan["steps"]), plan["approval_required"]))
        if not plan["steps"]:
            # nothing to run: said so, and no execute button
            assert panel.locator('.plan [data-field="empty"]').is_visible()
            assert panel.locator(".plan button.execute").count() == 0
            continue
        if plan["approval_required"]:
            needed = plan["approval"]["required_approvals"]
            for signer in signers[:needed]:
                sign_in_inbox(
                    open_as(browser, server, pages, signer), plan["approval"]["id"]
                )
        execute_and_follow(page, server, plan, lang)
    # each type had something to do: previewed, signed when needed, run
    assert all(steps for _t, steps, _a in seen), seen


def test_the_sira_bubble(browser: Any, server: Server, pages: dict[str, Any]) -> None:
    page = open_as(browser, server, pages, "alice")
    in_language(page, "en")
    listed = api(server, "GET", "/api/ops/suggestions")
    # the badge counts what the API lists (refreshed by the server, not by
    # this read)
    count = page.locator(f"{BUBBLE} .count")
    page.wait_for_function(
        f"""() => document.querySelector('{BUBBLE}').shadowRoot
            .querySelector('.count').textContent === '{listed["count"]}'""",
        timeout=15_000,
    )
    assert int(count.inner_text()) >= 2, "the demo's failing banks make suggestions"
    page.locator(f"{BUBBLE} button.badge").click()
    items = page.locator(f"{BUBBLE} li[data-id]")
    items.first.wait_for(timeout=5_000)
    assert items.count() == listed["count"]
    # as tall as its content, not squashed to a line
    panel = page.locator(f"{BUBBLE} #panel").bounding_box()
    first = items.first.bounding_box()
    assert panel["height"] > first["height"] + 40, (panel, first)

    # accept: the confirmation names the action and its target first
    names = {
        b["id"]: b["name"]
        for b in api(server, "GET", "/api/metrics/summary")["summary"]["banks"]
    }
    pause = next(
        s for s in listed["results"] if s["action"]["action_type"] == "pause_bank"
    )
    bank = names[pause["action"]["payload"]["bank_profile_id"]]
    item = page.locator(f'{BUBBLE} li[data-id="{pause["id"]}"]')
    assert (
        f"Pause the bank — {bank}"
        in item.locator('[data-field="proposed"]').inner_text()
    )
    item.locator("button.accept").click()
    dialog = page.locator(f"{BUBBLE} dialog[open]")
    assert dialog.locator("h3").inner_text() == "Accept this suggestion?"
    assert dialog.locator('[data-field="action"]').inner_text() == "Pause the bank"
    assert dialog.locator('[data-field="target"]').inner_text() == bank
    dialog.locator("button.cancel").click()  # nothing runs on cancel
    assert api(server, "GET", "/api/ops/suggestions?status=accepted")["results"] == []
    item.locator("button.accept").click()
    dialog.locator("button.confirm").click()
    item.wait_for(state="detached", timeout=10_000)
    assert count.inner_text() == str(listed["count"] - 1)
    (accepted,) = api(server, "GET", "/api/ops/suggestions?status=accepted")["results"]
    assert accepted["id"] == pause["id"]
    paused = {
        b["id"]: b["paused"]
        for b in api(server, "GET", "/api/metrics/summary")["summary"]["banks"]
    }
    assert paused[pause["action"]["payload"]["bank_profile_id"]] is True

    # decline: a reason is required (spaces are none), and it is sent
    other_id = page.locator(f"{BUBBLE} li[data-id]").first.get_attribute("data-id")
    other = page.locator(f'{BUBBLE} li[data-id="{other_id}"]')
    other.locator("button.decline").click()
    assert dialog.locator("h3").inner_text() == "Decline this suggestion?"
    dialog.locator("textarea").fill("   ")
    dialog.locator("button.confirm").click()
    assert dialog.locator("textarea:invalid").count() == 1
    assert dialog.is_visible()
    dialog.locator("textarea").fill("maintenance window announced by the bank")
    dialog.locator("button.confirm").click()
    other.wait_for(state="detached", timeout=10_000)
    (declined,) = api(server, "GET", "/api/ops/suggestions?status=declined")["results"]
    assert declined["id"] == other_id
    assert declined["result"] == {"reason": "maintenance window announced by the bank"}


@pytest.mark.parametrize(
    ("lang", "moved", "why", "usd"),
    [
        ("en", "18 of 26 payouts moved", "5 no longer pending", "$1,234.56"),
        (
            "fr",
            "18 paiements déplacés sur 26",
            "5 plus en attente",
            "1\u202f234,56\u00a0$US",
        ),
    ],
)
def test_a_plan_with_its_preview_and_progress_reads_true(
    browser: Any,
    server: Server,
    pages: dict[str, Any],
    lang: str,
    moved: str,
    why: str,
    usd: str,
) -> None:
    page = open_as(browser, server, pages, "fatou")
    in_language(page, lang)
    banks = api(server, "GET", "/api/metrics/summary")["summary"]["banks"]
    plan = carried([b["id"] for b in banks])
    page.evaluate(f"p => document.querySelector('{PANEL}').preview(p)", plan)
    shown = page.locator(f"{PANEL} .plan")
    step = shown.locator('table.steps tr[data-step="0"]')
    assert banks[0]["name"] in step.inner_text()
    assert banks[1]["name"] in step.inner_text()
    assert step.get_attribute("data-partial") == ""
    progress = step.locator('[data-field="step-progress"]').inner_text()
    assert moved in progress and why in progress, progress
    # the CFA francs by their ISO codes, French grouping in French
    rows = shown.locator("section.preview tbody tr")
    assert "XOF" in rows.nth(0).locator('[data-field="amount"]').inner_text()
    assert "XAF" in rows.nth(1).locator('[data-field="balance"]').inner_text()
    assert rows.nth(0).locator('[data-field="balance"]').inner_text() == "\u2013"
    assert shown.locator('[data-field="amount-moved"]').inner_text() == usd
    assert shown.locator('[data-field="total"]').inner_text() == usd
    # executed: nothing more to run
    assert shown.locator("button.execute").count() == 0
