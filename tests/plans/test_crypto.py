"""plan_data at rest (issue 4 point 4): no plaintext in the column, keys that
rotate (the first encrypts, all decrypt), ``reencrypt_plan_data`` (a dry run
unless --for-real, audited batches), the development key, and the refusal to
start in production without keys."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from audit.models import OpsActionLog
from plans import crypto
from plans.models import Plan
from tests.factories import BankProfileFactory
from tests.production import REQUIRED_SECRETS

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def make_plan(data: Any) -> Plan:
    now = timezone.now()
    return Plan.objects.create(
        plan_type="routing_optimization",
        status="pending",
        created_by="alice",
        plan_data=crypto.encrypt_json(data),
        created_at=now,
        updated_at=now,
    )


def test_the_column_holds_no_plaintext(db: None, settings: Any) -> None:
    settings.PLAN_DATA_KEYS = [OLD]
    bank = BankProfileFactory(name="Banque Atlantique Secrète")
    snapshot = {"banks": [{"id": str(bank.id), "name": bank.name}], "amount": "1234.56"}
    plan = make_plan({"snapshot": snapshot})
    with connection.cursor() as cur:
        cur.execute("SELECT plan_data FROM sira_plans")
        (raw,) = (row[0] for row in cur.fetchall())
    assert raw.startswith("gAAAA")  # a Fernet token
    for plaintext in (str(bank.id), bank.id.hex, "Atlantique", "1234.56", "banks"):
        assert plaintext not in raw
    assert crypto.decrypt_json(raw) == {"snapshot": snapshot}
    assert Plan.objects.get(pk=plan.pk).plan_data == raw


def test_a_tampered_token_does_not_decrypt(db: None, settings: Any) -> None:
    settings.PLAN_DATA_KEYS = [OLD]
    token = crypto.encrypt_json({"a": 1})
    forged = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(InvalidToken):
        crypto.decrypt_json(forged)


def test_rotation_new_key_first_reencrypt_then_drop_the_old(
    db: None, settings: Any
) -> None:
    settings.PLAN_DATA_KEYS = [OLD]
    plans = [make_plan({"n": n, "bank": f"b-{n}"}) for n in range(3)]
    before = {p.pk: Plan.objects.get(pk=p.pk).plan_data for p in plans}

    settings.PLAN_DATA_KEYS = [NEW, OLD]  # new first: encrypts; old still decrypts
    assert all(crypto.decrypt_json(t)["n"] == i for i, t in enumerate(before.values()))
    assert not any(crypto.is_current(t) for t in before.values())

    out = StringIO()
    call_command("reencrypt_plan_data", stdout=out)  # a dry run
    assert "3 to re-encrypt" in out.getvalue() and "dry run" in out.getvalue()
    assert {p.pk: Plan.objects.get(pk=p.pk).plan_data for p in plans} == before
    assert not OpsActionLog.objects.filter(action_type="reencrypt_plan_data").exists()

    out = StringIO()
    call_command("reencrypt_plan_data", "--for-real", "--batch-size", "2", stdout=out)
    assert "re-encrypted 3 plan(s)" in out.getvalue()
    after = {p.pk: Plan.objects.get(pk=p.pk).plan_data for p in plans}
    assert all(after[k] != before[k] for k in before)
    # batches of 2: two that rotate, then one that finds the end
    log = OpsActionLog.objects.filter(action_type="reencrypt_plan_data").order_by("seq")
    assert [r.details["rotated"] for r in log] == [2, 1, 0]
    assert {(r.status, r.actor_role) for r in log} == {("executed", "system")}

    settings.PLAN_DATA_KEYS = [NEW]  # the old key is gone: everything still opens
    assert [crypto.decrypt_json(after[p.pk])["n"] for p in plans] == [0, 1, 2]
    settings.PLAN_DATA_KEYS = [OLD]
    with pytest.raises(InvalidToken):
        crypto.decrypt_json(after[plans[0].pk])

    settings.PLAN_DATA_KEYS = [NEW]  # running again finds nothing to do
    out = StringIO()
    call_command("reencrypt_plan_data", "--for-real", stdout=out)
    assert "3 plan(s) under the first key, 0 to re-encrypt" in out.getvalue()


def test_a_plan_no_key_opens_is_reported_not_lost(db: None, settings: Any) -> None:
    settings.PLAN_DATA_KEYS = [OLD]
    lost = make_plan({"x": 1})
    settings.PLAN_DATA_KEYS = [NEW]
    kept = make_plan({"x": 2})
    err = StringIO()
    with pytest.raises(Exception, match="could not be decrypted"):
        call_command("reencrypt_plan_data", "--for-real", stdout=StringIO(), stderr=err)
    assert str(lost.pk) in err.getvalue()
    assert crypto.decrypt_json(Plan.objects.get(pk=kept.pk).plan_data) == {"x": 2}
    log = OpsActionLog.objects.filter(action_type="reencrypt_plan_data")
    assert [r.details["unreadable"] for r in log if r.details["unreadable"]] == [
        [str(lost.pk)]
    ]


def test_the_development_key_is_made_once(settings: Any, tmp_path: Path) -> None:
    settings.PLAN_DATA_KEYS = []
    settings.DEV_PLAN_DATA_KEY_PATH = tmp_path / "dev" / "fernet.key"
    token = crypto.encrypt_json({"dev": True})
    key = settings.DEV_PLAN_DATA_KEY_PATH.read_text().strip()
    assert oct(settings.DEV_PLAN_DATA_KEY_PATH.stat().st_mode & 0o777) == "0o600"
    assert crypto.configured_keys() == [key]
    assert crypto.decrypt_json(token) == {"dev": True}
    assert list(settings.DEV_PLAN_DATA_KEY_PATH.parent.iterdir()) == [
        settings.DEV_PLAN_DATA_KEY_PATH
    ]


# --- production settings (fresh processes: under pytest, settings are in test mode)


def check(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    public = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode()
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DEBUG": "0",
        "DJANGO_SETTINGS_MODULE": "molam_ops.settings",
        "MOLAM_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SECRET_KEY": "s3cret-for-this-test",
        "MOLAM_ID_JWT_PUBLIC": public,
        "APPROVAL_SIGNING_KEY": REQUIRED_SECRETS["APPROVAL_SIGNING_KEY"],
        "AUDIT_SIGNING_KEY": REQUIRED_SECRETS["AUDIT_SIGNING_KEY"],
        **variables,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "variables",
    [{}, {"PLAN_DATA_KEYS": ""}, {"PLAN_DATA_KEYS": "not-a-fernet-key"}],
    ids=["unset", "empty", "malformed"],
)
def test_production_refuses_to_start_without_good_keys(
    tmp_path: Path, variables: dict[str, str]
) -> None:
    proc = check(tmp_path, **variables)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "PLAN_DATA_KEYS" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_production_starts_with_keys_from_a_file(tmp_path: Path) -> None:
    keys = tmp_path / "plan_data_keys"
    keys.write_text(f"{NEW},{OLD}\n")
    proc = check(tmp_path, PLAN_DATA_KEYS_FILE=str(keys))
    assert proc.returncode == 0, proc.stderr
