"""Without Chromium the browser tests skip on a workstation, and fail in CI
(env ``CI``), where a skipped browser test would hide a broken dashboard."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# its first fixture is the browser: no server is started before the check
A_BROWSER_TEST = "tests/e2e/test_dashboard.py::test_dark_scheme"


def run_without_chromium(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"CI", "SCREENSHOTS"}}
    clean.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
            "-rs",
            A_BROWSER_TEST,
        ],
        cwd=ROOT,
        env={**clean, "E2E_CHROMIUM": "/nonexistent/chromium", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("ci", "code", "outcome"), [("", 0, "1 skipped"), ("true", 1, "1 error")]
)
def test_missing_chromium_skips_or_fails_in_ci(
    ci: str, code: int, outcome: str
) -> None:
    done = run_without_chromium(**({"CI": ci} if ci else {}))
    assert done.returncode == code, done.stdout + done.stderr
    assert outcome in done.stdout
    assert "/nonexistent/chromium is missing" in done.stdout
