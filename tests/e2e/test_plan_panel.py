"""The generate-plan panel in a real browser, end to end: generate a plan
through its form (progress, then the preview with steps and totals, and
``plan-generated``), a second operator signs it in their own browser, a third
through the API, the first sees the execute button appear without reloading,
executes it, and watches the steps reach done. The second operator signs
through the panel's approve button, which opens the approvals inbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from molam_ops.tokens import mint
from tests.e2e.pages import api, login
from tests.e2e.server import Server, live_server

# A routing plan over the demo data moves more than 10,000 USD: two
# signatures (DESIGN §7), besides the operator who generated it.
PANEL = "#routing molam-plan-panel"


def add_panel(page: Any, **attributes: str) -> Any:
    """A routing panel added to the page, as any page would embed it; every
    status it shows is recorded (with whether a progress bar showed it)."""
    page.evaluate(
        """attributes => {
            window.__plans = [];
            window.__seen = [];
            document.addEventListener('plan-generated',
                e => window.__plans.push(e.detail));
            const box = document.createElement('div');
            box.id = 'routing';
            const panel = document.createElement('molam-plan-panel');
            panel.setAttribute('plan-type', 'routing_optimization');
            for (const [k, v] of Object.entries(attributes)) panel.setAttribute(k, v);
            new MutationObserver(() => window.__seen.push({
                status: panel.dataset.plan,
                progress: Boolean(panel.shadowRoot.querySelector('progress')),
            })).observe(panel, {attributes: true, attributeFilter: ['data-plan']});
            box.append(panel);
            document.querySelector('main').prepend(box);
        }""",
        attributes,
    )
    page.wait_for_function(
        "() => document.querySelector('#routing molam-plan-panel')"
        ".dataset.state === 'ready'",
        timeout=10_000,
    )
    return page.locator(PANEL)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # its own server: the dashboard tests freeze a bank, and a plan step
    # touching a frozen bank waits (blocked) instead of reaching done
    with live_server(tmp_path_factory.mktemp("e2e-plans")) as running:
        yield running


@pytest.fixture
def pages(browser: Any, server: Server) -> Iterator[list[Any]]:
    opened: list[Any] = []
    yield opened
    for page in opened:
        assert page.errors == []
        page.context.close()


def test_generate_approve_and_execute_from_the_panel(
    browser: Any, server: Server, pages: list[Any]
) -> None:
    alice = login(browser, server, "alice")
    pages.append(alice)
    panel = add_panel(alice)
    panel.locator("form button[type=submit]").click()
    # progress first (before the answer, then while it generates)
    panel.locator("progress").first.wait_for(timeout=5_000)
    alice.wait_for_function("() => window.__plans.length === 1", timeout=20_000)
    plan = alice.evaluate("window.__plans[0]")
    assert plan["plan_type"] == "routing_optimization"
    assert plan["status"] == "pending"
    assert plan["approval_required"] is True
    assert plan["approval"]["required_approvals"] == 2
    assert {"status": "generating", "progress": True} in alice.evaluate("window.__seen")

    # the preview: every step, the totals, the signatures, no execute yet
    preview = panel.locator(".plan")
    assert preview.locator("table.steps tbody tr").count() == len(plan["steps"]) > 0
    total = alice.evaluate(
        """p => new Intl.NumberFormat('en', {style: 'currency', currency: p.currency})
            .format(Number(p.total_amount))""",
        plan,
    )
    assert preview.locator('[data-field="total"]').inner_text() == total
    assert preview.locator('dd[data-field="payouts"]').inner_text() == (
        f"{plan['payout_count']:,}"
    )
    assert preview.locator('[data-field="signatures"]').inner_text() == "0 of 2"
    assert "Waiting for other approvers" in preview.inner_text()
    assert preview.locator("button.execute").count() == 0
    assert preview.locator("button.approve").count() == 0  # not one's own

    # a second operator opens the same plan in their browser and signs it
    amadou = login(browser, server, "amadou")
    pages.append(amadou)
    theirs = add_panel(amadou, **{"plan-id": plan["id"]})
    # its approve button opens the approvals inbox's sign dialog: one way
    # to sign, whichever widget asks
    theirs.locator(".plan button.approve").click()
    dialog = amadou.locator("molam-approvals dialog[open]")
    dialog.wait_for(timeout=5_000)
    assert theirs.locator("dialog").count() == 0
    assert dialog.get_attribute("data-approval") == plan["approval"]["id"]
    assert dialog.locator("h3").inner_text() == "Sign this request?"
    assert "alice asks to execute" in dialog.inner_text()
    dialog.locator("button.confirm").click()
    notice = amadou.locator("molam-approvals .notice .message.ok")
    notice.wait_for(timeout=5_000)
    assert notice.inner_text() == "Signed: 1 of 2 signatures, by amadou."
    theirs.locator('.plan [data-field="signatures"]', has_text="1 of 2").wait_for(
        timeout=5_000
    )
    assert theirs.locator(".plan button.approve").count() == 0  # signed once

    # a third signs through the API: quorum, the plan is approved
    bruno = mint(sub="bruno-api", roles=["finance_ops"])
    signed = api(
        server,
        "POST",
        f"/api/ops/approve/{plan['approval']['id']}",
        bruno,
        {"decision": "approve"},
    )
    assert signed["ok"] is True

    # the first operator's panel learns it from the live summary: no reload
    alice.evaluate("window.__noReload = true")
    execute = preview.locator("button.execute")
    execute.wait_for(timeout=10_000)
    assert preview.locator('[data-field="signatures"]').inner_text() == "2 of 2"
    execute.click()
    confirm = panel.locator("dialog[open]")
    assert confirm.locator("h3").inner_text() == "Execute this plan?"
    confirm.locator("button.confirm").click()

    alice.wait_for_function(
        "() => document.querySelector('#routing molam-plan-panel')"
        ".dataset.plan === 'executed'",
        timeout=30_000,
    )
    seen = [s["status"] for s in alice.evaluate("window.__seen")]
    assert "executing" in seen
    assert seen[-1] == "executed"
    states = preview.locator("table.steps tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.state)"
    )
    assert states == ["done"] * len(plan["steps"])
    assert preview.locator('[data-field="progress"]').inner_text() == (
        f"{len(plan['steps'])} of {len(plan['steps'])} steps done"
    )
    assert preview.locator("button.execute").count() == 0
    assert alice.evaluate("window.__noReload") is True
    # generated once: approving and executing do not announce it again
    assert alice.evaluate("window.__plans.length") == 1
