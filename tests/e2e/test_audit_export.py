"""The dashboard's audit export, on a log too long for one request: the
server answers 202 with a job, the widget waits for it and downloads its
file — the same rows a streamed export gives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.pages import login
from tests.e2e.server import Server, live_server


@pytest.fixture(scope="module")
def jobs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # every export is "too long" here: it goes through a job
    var_dir = tmp_path_factory.mktemp("e2e-audit-jobs")
    with live_server(var_dir, AUDIT_SYNC_MAX_ROWS="0") as running:
        yield running


def export_through_the_widget(page: Any, fmt: str) -> Path:
    page.locator('molam-quick-actions button[data-action="export"]').click()
    dialog = page.locator("molam-quick-actions dialog[open]")
    dialog.locator("select").select_option(fmt)
    with page.expect_download(timeout=15_000) as download:
        dialog.locator("button.confirm").click()
    return Path(download.value.path())


def test_a_long_export_is_a_job_the_widget_downloads(
    browser: Any, jobs_server: Server
) -> None:
    page = login(browser, jobs_server, "alice")
    saved = export_through_the_widget(page, "json")
    rows = json.loads(saved.read_text())
    assert rows, "the demo data leaves audit rows"
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert all(len(r["hash"]) == 64 for r in rows)
    message = page.locator("molam-quick-actions .message.ok")
    message.wait_for(timeout=5_000)
    assert "Audit log exported" in message.inner_text()
    assert page.errors == []
    done = jobs_server.manage(
        "shell",
        "-c",
        "from audit.models import AuditJob; "
        "print(AuditJob.objects.filter(kind='export', status='done').count())",
    )
    assert done.strip().splitlines()[-1] == "1", done  # it went through a job


def test_a_short_export_streams(browser: Any, server: Server) -> None:
    page = login(browser, server, "alice")
    saved = export_through_the_widget(page, "csv")
    lines = saved.read_text().splitlines()
    assert lines[0].startswith("id,seq,action_id")
    assert len(lines) > 1
    assert page.errors == []
