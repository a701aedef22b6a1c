"""``manage.py seed_demo``: the demo's operators and rails, in development
only. Run in fresh processes: under pytest ``DEBUG`` is whatever the test
sets, and the point is what an operator's shell gets."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.molam_ops.test_settings import production_env, run


@pytest.fixture
def migrated(tmp_path: Path) -> dict[str, str]:
    env = production_env(
        tmp_path,
        DJANGO_SECRET_KEY="s3cret-for-this-test",
        MOLAM_ID_JWT_PUBLIC="-----BEGIN PUBLIC KEY----- not used here",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        LOG_LEVEL="WARNING",
    )
    done = run(["manage.py", "migrate", "--noinput"], env)
    assert done.returncode == 0, done.stderr
    return env


def counts(env: dict[str, str]) -> tuple[int, int, int]:
    with sqlite3.connect(env["DATABASE_URL"].removeprefix("sqlite:///")) as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("auth_user", "bank_profiles", "payouts")
        )


def test_refuses_with_debug_off_and_creates_nothing(migrated: dict[str, str]) -> None:
    done = run(["manage.py", "seed_demo", "--payouts", "5"], migrated)
    assert done.returncode == 1
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert "seed_demo refuses to run with DEBUG off" in line
    assert "Traceback" not in done.stderr
    assert counts(migrated) == (0, 0, 0)


def test_seeds_with_debug_on(migrated: dict[str, str]) -> None:
    done = run(["manage.py", "seed_demo", "--payouts", "5"], {**migrated, "DEBUG": "1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("seeded 5 operators")
    assert counts(migrated)[0] == 5
