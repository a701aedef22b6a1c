"""``manage.py verify_audit``: an export against signed checkpoints, offline
(DESIGN §3). It must run with no database at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.checkpoints import sign_checkpoint
from tests.audit.checkpoint_helpers import append, delete_and_rehash, export

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def files(pay_admin: Any, tmp_path: Path) -> dict[str, Path]:
    """An export of 13 rows, three checkpoints (the list response) and the
    public key, as an auditor downloads them."""
    for n in (4, 6, 3):
        append(n)
        assert sign_checkpoint() is not None
    paths = {n: tmp_path / n for n in ("export", "checkpoints", "key")}
    paths["export"].write_text(json.dumps(export(pay_admin)))
    listed = pay_admin.get("/api/ops/audit/checkpoints").json()
    paths["checkpoints"].write_text(json.dumps(listed))
    key = pay_admin.get("/api/ops/audit/checkpoint-key").json()["public_key"]
    paths["key"].write_text(key)
    return paths


def run(paths: dict[str, Path], *, key: bool = True) -> tuple[int, str]:
    from io import StringIO

    out = StringIO()
    args = [
        "--export",
        str(paths["export"]),
        "--checkpoints",
        str(paths["checkpoints"]),
    ]
    if key:
        args += ["--public-key", str(paths["key"])]
    try:
        call_command("verify_audit", *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_a_true_export_is_valid(files: dict[str, Path]) -> None:
    code, out = run(files)
    assert code == 0, out
    assert "VALID: 13 rows, 3 checkpoints" in out
    assert "consistency 4 -> 10: verified" in out
    assert "consistency 10 -> 13: verified" in out


def test_a_bare_array_and_the_configured_keys(files: dict[str, Path]) -> None:
    listed = json.loads(files["checkpoints"].read_text())
    files["checkpoints"].write_text(json.dumps(listed["results"]))
    assert run(files, key=False)[0] == 0


def test_a_rewrite_shows_against_the_earlier_checkpoint(
    pay_admin: Any, files: dict[str, Path]
) -> None:
    delete_and_rehash(2)
    files["export"].write_text(json.dumps(export(pay_admin)))
    code, out = run(files)
    assert code == 1
    assert "INVALID checkpoint 4 " in out
    assert "rows it covers were changed, removed or added" in out
    assert "the export has only 12 rows" in out


def test_an_edited_row_and_a_forged_signature(files: dict[str, Path]) -> None:
    rows = json.loads(files["export"].read_text())
    rows[5]["actor_id"] = "mallory"
    files["export"].write_text(json.dumps(rows))
    cps = json.loads(files["checkpoints"].read_text())
    cps["results"][0]["timestamp"] = "2000-01-01T00:00:00Z"
    files["checkpoints"].write_text(json.dumps(cps))
    code, out = run(files)
    assert code == 1
    assert "INVALID row seq 6: content does not match its hash" in out
    assert "INVALID checkpoint 13: signature does not verify" in out


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("export", "not json"),
        ("export", '{"rows": []}'),
        ("checkpoints", '[{"tree_size": 1}]'),
        ("key", "no key here"),
    ],
)
def test_bad_input_exits_2(files: dict[str, Path], name: str, content: str) -> None:
    files[name].write_text(content)
    with pytest.raises(CommandError) as exc:
        run(files)
    assert exc.value.returncode == 2


def offline_run(
    files: dict[str, Path], tmp_path: Path, *, key: bool = True
) -> subprocess.CompletedProcess[str]:
    """``manage.py verify_audit`` as an auditor runs it: none of the
    service's variables or secrets, a DATABASE_URL nobody answers on."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": "postgres://nobody@127.0.0.1:9/nowhere",
        "DATABASE_CONNECT_TIMEOUT": "1",
        "MOLAM_VAR_DIR": str(tmp_path / "var"),
    }
    args = [
        *("--export", str(files["export"])),
        *("--checkpoints", str(files["checkpoints"])),
        *(("--public-key", str(files["key"])) if key else ()),
    ]
    return subprocess.run(
        [sys.executable, "manage.py", "verify_audit", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_it_needs_no_database_and_no_secret(
    files: dict[str, Path], tmp_path: Path
) -> None:
    proc = offline_run(files, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "VALID: 13 rows" in proc.stdout


def test_offline_without_a_key_asks_for_one(
    files: dict[str, Path], tmp_path: Path
) -> None:
    proc = offline_run(files, tmp_path, key=False)
    assert proc.returncode == 2, proc.stdout
    assert "--public-key" in proc.stderr
