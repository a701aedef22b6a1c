"""One real server for the browser and socket tests of this package, and a
headless Chromium (Debian's /usr/bin/chromium, `make e2e-deps`) driven by
Playwright. Without that binary the browser tests skip, saying so; in CI
(env ``CI`` set) they fail instead.

The tests that show a screen save it to docs/screenshots/ only when asked
(``SCREENSHOTS=1``: ``make screenshots``), so a test run leaves the
working tree as it found it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.e2e.server import Server, live_server

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shot(page: Any, name: str, *, full_page: bool = True) -> None:
    """Save the page (or what the window shows of it) as
    docs/screenshots/<name>, when the run was asked to (``SCREENSHOTS=1``)."""
    if os.environ.get("SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=full_page)


def missing(reason: str) -> NoReturn:
    """A browser test cannot run here: it skips, or fails in CI."""
    if os.environ.get("CI"):
        pytest.fail(reason + " (CI: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with live_server(tmp_path_factory.mktemp("e2e-server")) as running:
        yield running


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        missing(f"{CHROMIUM} is missing: run `make e2e-deps` (apt chromium)")
    try:
        from playwright import sync_api
    except ImportError:
        missing("playwright is not installed: run `make venv`")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
