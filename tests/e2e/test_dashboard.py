"""The dashboard in a real browser: each widget leaves its skeleton, a bank
freeze shows up live, a global freeze waits for its signatures, French,
bad attributes, and axe-core finds no serious or critical violation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import shot
from tests.e2e.pages import WIDGETS, login, wait_loaded
from tests.e2e.server import Server

AXE = Path(__file__).parent / "vendor" / "axe.min.js"


def states(page: Any) -> dict[str, list[str]]:
    return {
        tag: page.eval_on_selector_all(tag, "els => els.map(e => e.dataset.state)")
        for tag in WIDGETS
    }


@pytest.fixture
def admin(browser: Any, server: Server) -> Iterator[Any]:
    page = login(browser, server, "alice")
    yield page
    assert page.errors == []
    page.context.close()


def test_every_widget_leaves_its_skeleton(admin: Any) -> None:
    for tag, found in states(admin).items():
        assert found and all(s in {"ready", "empty"} for s in found), (tag, found)
    assert admin.locator("molam-balance .big").first.inner_text()
    assert admin.locator("molam-bank-health .tile").count() == 8
    shot(admin, "dashboard-light.png")


def test_dark_scheme(browser: Any, server: Server) -> None:
    page = login(browser, server, "amadou", color_scheme="dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(3, 7, 18)"
    shot(page, "dashboard-dark.png")
    page.context.close()


def test_bank_freeze_through_the_dialog_shows_up_live(admin: Any) -> None:
    admin.evaluate("window.__noReload = true")
    freezes = admin.locator('molam-payout-summary [data-field="freezes"]')
    assert freezes.inner_text() == "0"
    tile = admin.locator("molam-bank-health .tile").first
    bank_id = tile.get_attribute("data-bank")
    tile.click()
    detail = admin.locator("molam-bank-health dialog[open]")
    detail.locator("molam-freeze-button button.act").click()
    confirm = admin.locator("molam-freeze-button dialog[open]")
    assert re.match(r"Freeze payouts to .+\?", confirm.locator("h3").inner_text())
    confirm.locator("textarea").fill("reconciliation gap")
    confirm.locator("button.confirm").click()
    outcome = detail.locator('molam-freeze-button [data-outcome="done"]')
    outcome.wait_for(timeout=5_000)
    detail.locator("button.close").click()
    # no reload: the socket brought the new summary to every widget
    frozen_tile = admin.locator(f'molam-bank-health .tile[data-bank="{bank_id}"]')
    frozen_tile.locator(".pill.red", has_text="Frozen").wait_for(timeout=5_000)
    admin.wait_for_function(
        """() => document.querySelector('molam-payout-summary').shadowRoot
            .querySelector('[data-field=freezes]').textContent === '1'""",
        timeout=5_000,
    )
    assert admin.evaluate("window.__noReload") is True
    assert "Live" in admin.locator("molam-payout-summary .live").inner_text()


def test_global_freeze_waits_for_two_signatures(admin: Any) -> None:
    button = admin.locator("main molam-freeze-button button.act")
    assert button.inner_text() == "Freeze all payouts"
    button.click()
    dialog = admin.locator("main molam-freeze-button dialog[open]")
    assert dialog.locator("h3").inner_text() == "Freeze all payouts?"
    dialog.locator("textarea").fill("incident 42")
    dialog.locator("button.confirm").click()
    waiting = admin.locator('main molam-freeze-button [data-outcome="waiting"]')
    waiting.wait_for(timeout=5_000)
    assert waiting.inner_text().startswith("Waiting: 0 of 2 signatures · ")
    assert admin.locator("main molam-freeze-button button.act").is_disabled()
    admin.wait_for_function(
        """() => document.querySelector('molam-payout-summary').shadowRoot
            .querySelector('[data-field=approvals]').textContent === '1'""",
        timeout=5_000,
    )


def test_roles_that_do_not_allow_it_disable_the_button(
    browser: Any, server: Server
) -> None:
    page = login(browser, server, "chloe")  # ops: may not freeze
    button = page.locator("main molam-freeze-button button.act")
    assert button.is_disabled()
    assert "do not allow" in page.locator("main molam-freeze-button #why").inner_text()
    page.context.close()


def test_bad_attributes_show_a_message_not_a_broken_page(admin: Any) -> None:
    admin.evaluate(
        """() => {
            const box = document.createElement('div');
            box.id = 'bad';
            box.innerHTML = '<molam-balance currency="ZZZ"></molam-balance>' +
                '<molam-balance currency="JPY"></molam-balance>' +
                '<molam-freeze-button scope="not-a-scope"></molam-freeze-button>' +
                '<molam-freeze-button scope="00000000-0000-4000-8000-000000000000">' +
                '</molam-freeze-button>' +
                '<molam-plan-panel plan-type="nonsense"></molam-plan-panel>';
            document.querySelector('main').append(box);
        }"""
    )
    bad = admin.locator("#bad")
    admin.wait_for_function(
        """() => [...document.querySelectorAll('#bad > *')]
            .every(e => e.dataset.state && e.dataset.state !== 'loading')"""
    )

    def text(tag: str, i: int = 0) -> str:
        return bad.locator(tag).nth(i).locator("section").inner_text()

    assert "Unknown currency “ZZZ”" in text("molam-balance")
    assert "No treasury account holds JPY" in text("molam-balance", 1)
    assert "Unknown scope" in text("molam-freeze-button")
    assert "Unknown scope" in text("molam-freeze-button", 1)
    assert "Unknown plan type" in text("molam-plan-panel")
    # the rest of the page still works
    assert admin.locator("molam-bank-health .tile").count() == 8


def run_axe(page: Any) -> list[dict[str, Any]]:
    # evaluated through DevTools: the page's CSP (script-src 'self') refuses
    # an inline <script>, and axe is a test tool, not part of the page
    page.evaluate(AXE.read_text() + ";0")
    result = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])}
        for v in result["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


def test_axe_finds_no_serious_violation(browser: Any, server: Server) -> None:
    for scheme in ("light", "dark"):
        page = login(browser, server, "bruno", color_scheme=scheme)
        assert run_axe(page) == [], scheme
        page.locator("molam-bank-health .tile").first.click()  # a dialog open
        assert run_axe(page) == [], scheme
        page.context.close()


def test_french(browser: Any, server: Server) -> None:
    page = login(browser, server, "fatou", locale="en-US")
    page.select_option("#lang", "fr")
    page.click("#lang-form button")
    page.wait_for_load_state("load")
    page.wait_for_function("() => document.documentElement.lang === 'fr'")
    wait_loaded(page)
    assert page.locator("h1").inner_text() == "Opérations de paiement"
    xof = page.locator('molam-balance[currency="XOF"]')
    assert "Solde XOF" in xof.locator("h2").text_content()
    amount = xof.locator('[data-field="balance"]').inner_text()
    # French grouping with (narrow) no-break spaces, no decimals, F CFA
    assert re.fullmatch(
        r"\d{1,3}([\u202f\u00a0 ]\d{3})+[\u202f\u00a0 ]F[\u202f\u00a0 ]CFA", amount
    ), amount
    assert "En attente" in page.locator("molam-payout-summary section").inner_text()
    assert "Santé des banques" in page.locator("molam-bank-health h2").text_content()
    shot(page, "dashboard-fr.png")
    # stored suggestion texts in French too (modeltranslation), refreshed
    # by whichever language asked first
    page.locator("molam-suggestions button.badge").click()
    titles = page.locator("molam-suggestions li[data-id] h3")
    titles.first.wait_for(timeout=5_000)
    french = ("Mettre en pause", "Reprendre", "Rééquilibrer", "Rediriger")
    for title in titles.all_inner_texts():
        assert title.startswith(french), title
    page.context.close()


def test_generate_plan_fires_plan_generated(admin: Any) -> None:
    admin.evaluate(
        """() => { window.__plans = [];
            document.addEventListener('plan-generated',
                e => window.__plans.push(e.detail)); }"""
    )
    panel = admin.locator("molam-plan-panel")
    panel.locator("select#timeframe").select_option("72")
    panel.locator("form button[type=submit]").click()
    admin.wait_for_function("() => window.__plans.length === 1", timeout=20_000)
    plan = admin.evaluate("window.__plans[0]")
    assert plan["plan_type"] == "float_rebalance"
    assert plan["status"] not in {"generating"}
    assert "Status:" in panel.locator(".plan").inner_text()
