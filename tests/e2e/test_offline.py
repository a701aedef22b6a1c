"""The dashboard when the network or the socket goes away and comes back:
widgets load again by themselves, poll while the socket is down, a page
opened offline is the service worker's shell; the page names only
content-hashed static files, and no page logs a console error."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.pages import WIDGETS, login, wait_states, widget_states
from tests.e2e.server import Server

LOADED = ("ready", "empty")
HASHED = re.compile(r"/static/.+\.[0-9a-f]{12}\.\w+")


class Blocker:
    """The API and the KPI socket refused while ``on``, served otherwise."""

    def __init__(self, page: Any, *, api: bool = True) -> None:
        self.on = True
        self.summaries = 0
        if api:
            page.route("**/api/**", self.http)
        page.route_web_socket(re.compile(r"/ws/kpis/"), self.socket)
        page.on("request", self.count)

    def http(self, route: Any) -> None:
        if self.on:
            route.abort("connectionrefused")
        else:
            route.continue_()

    def socket(self, ws: Any) -> None:
        if self.on:
            ws.close(code=1011, reason="test: socket down")
        else:
            ws.connect_to_server()

    def count(self, request: Any) -> None:
        if request.url.endswith("/api/metrics/summary"):
            self.summaries += 1


def test_widgets_load_again_by_themselves_when_the_network_returns(
    browser: Any, server: Server
) -> None:
    # the service worker is not what is under test here: routes see all
    page = login(browser, server, "alice", service_workers="block")
    blocker = Blocker(page)
    page.reload()
    wait_states(page, ("error",))
    assert (
        page.locator("molam-approvals [role=alert]")
        .inner_text()
        .startswith("Could not load this widget.")
    )
    # down long enough for the retries to space out, then back: no click
    page.context.set_offline(True)
    blocker.on = False
    page.wait_for_timeout(4_000)
    assert all(s == ["error"] * len(s) for s in widget_states(page).values())
    page.context.set_offline(False)
    wait_states(page, LOADED, timeout=8_000)
    assert page.locator("molam-bank-health .tile").count() == 8
    assert page.locator("molam-balance .big").first.inner_text()
    assert page.errors == []
    page.context.close()


def test_failed_loads_are_retried_without_any_event(
    browser: Any, server: Server
) -> None:
    page = login(browser, server, "bruno", service_workers="block")
    blocker = Blocker(page)
    page.reload()
    wait_states(page, ("error",))
    blocker.on = False  # the server answers again; the browser was never offline
    wait_states(page, LOADED, timeout=15_000)
    page.context.close()


def test_widgets_poll_while_the_socket_is_down(browser: Any, server: Server) -> None:
    page = login(browser, server, "amadou", service_workers="block")
    blocker = Blocker(page, api=False)
    page.reload()
    wait_states(page, LOADED)
    summary = page.locator("molam-payout-summary .live")
    assert "Refreshing periodically" in summary.inner_text()
    # a widget asking every 2 s: the page polls that often while the socket
    # is down (the 30 s default would outlast the test)
    page.eval_on_selector(
        "molam-balance", "e => e.setAttribute('refresh-interval', '2000')"
    )
    seen = blocker.summaries
    for _ in range(40):  # 10 s at most
        if blocker.summaries >= seen + 2:
            break
        page.wait_for_timeout(250)
    assert blocker.summaries >= seen + 2, (seen, blocker.summaries)
    # the socket is back: the page says so and stops polling
    blocker.on = False
    page.context.set_offline(True)
    page.context.set_offline(False)  # `online`: reconnect now
    page.wait_for_function(
        """() => document.querySelector('molam-payout-summary').shadowRoot
            .querySelector('.live').textContent.includes('Live')""",
        timeout=10_000,
    )
    # the `online` event also fetched the summary once, before the socket
    # said hello; let that request be counted before counting polls
    page.wait_for_timeout(500)
    polled = blocker.summaries
    page.wait_for_timeout(4_000)
    assert blocker.summaries == polled
    page.context.close()


def test_a_first_visit_then_an_offline_reload_shows_the_shell(
    browser: Any, server: Server
) -> None:
    page = login(browser, server, "chloe")  # a new context: the first visit
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    cached = page.evaluate(
        """async () => {
            const cache = await caches.open((await caches.keys())[0]);
            const shell = await (await cache.match('/shell/')).text();
            const urls = (await cache.keys()).map(r => new URL(r.url).pathname);
            return {urls, shell};
        }"""
    )
    assert "/shell/" in cached["urls"]
    assert not any(u.startswith("/api/") or u == "/" for u in cached["urls"])
    assert "chloe" not in cached["shell"]
    assert "csrfmiddlewaretoken" not in cached["shell"]
    page.context.set_offline(True)
    page.reload()
    page.locator("body[data-shell]").wait_for(timeout=5_000)
    assert page.locator("h1").inner_text() == "Payout operations"
    assert "chloe" not in page.content()
    for tag in WIDGETS:
        assert page.locator(tag).count() >= 1, tag
    wait_states(page, ("error",))
    # online again: the shell becomes the dashboard, every widget loaded
    page.context.set_offline(False)
    page.locator("p.who", has_text="Signed in as chloe").wait_for(timeout=10_000)
    wait_states(page, LOADED)
    page.context.close()


def test_the_page_names_only_hashed_static_files(browser: Any, server: Server) -> None:
    page = login(browser, server, "fatou")
    urls = page.evaluate(
        "performance.getEntriesByType('resource').map(e => new URL(e.name).pathname)"
    )
    static = [u for u in urls if u.startswith("/static/")]
    scripts = [u for u in static if u.endswith(".js")]
    assert len(scripts) >= 15, scripts  # the page's modules and their imports
    assert all(HASHED.fullmatch(u) for u in static), static
    html = page.content()
    assert "/static/widgets/index.js" not in html
    assert "/static/widgets/base.js" not in html
    served = page.request.get(server.url + scripts[0])
    assert served.status == 200
    assert "javascript" in served.headers["content-type"]
    page.context.close()


def test_no_page_logs_a_console_error(browser: Any, server: Server) -> None:
    page = login(browser, server, "alice")
    page.wait_for_timeout(1_000)  # the service worker's install, the favicon
    assert page.console_errors == []
    for path in ("/shell/", "/admin/", "/admin/controls/"):
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        assert page.console_errors == [], path
    page.context.close()
    anonymous = browser.new_context()
    login_page = anonymous.new_page()
    errors: list[str] = []
    login_page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    login_page.goto(server.url + "/admin/login/")
    login_page.wait_for_load_state("networkidle")
    assert errors == []
    icon = login_page.request.get(server.url + "/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"] == "image/png"
    anonymous.close()
