"""Fixtures of the kernel's tests that serve the project as a process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.served import base_env, manage


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated, seeded SQLite file; each test serves a copy of it."""
    var_dir = tmp_path_factory.mktemp("metrics-template")
    db = var_dir / "template.sqlite3"
    env = base_env(var_dir, db)
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo", "--payouts", "0")
    return db
