"""The two database roles of production (issue 6, DESIGN §3), on a real
PostgreSQL: the compose init script makes the owner and the app role, and
``manage.py grant_app_role`` leaves the app role able to run the service
but not to UPDATE, DELETE or TRUNCATE ops_actions_log."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import F
from django.db.utils import ProgrammingError

from audit.models import OpsActionLog
from payouts.models import BankProfile
from tests.helpers import as_role, post_action

ROOT = Path(__file__).resolve().parents[2]
INIT_SCRIPT = ROOT / "deploy" / "postgres" / "initdb" / "10-molam-roles.sh"

pytestmark = pytest.mark.postgres


def refused(sql: str) -> str:
    with (
        pytest.raises(ProgrammingError) as error,
        transaction.atomic(),
        connection.cursor() as cur,
    ):
        cur.execute(sql)
    return str(error.value)


def test_the_app_role_runs_actions(app_role, pay_admin, bank):
    as_role(app_role)
    resp = post_action(
        pay_admin,
        "pause-bank",
        {"bank_profile_id": str(bank.id), "reason": "connector timeouts"},
    )
    assert resp.status_code == 200, resp.json()
    with connection.cursor() as cur:
        cur.execute("SELECT current_user")
        assert cur.fetchone()[0] == app_role
    assert OpsActionLog.objects.filter(action_type="pause_bank").count() == 1


def test_the_app_role_may_not_rewrite_the_audit_log(app_role, pay_admin, bank):
    post_action(
        pay_admin, "pause-bank", {"bank_profile_id": str(bank.id), "reason": "x"}
    )
    as_role(app_role)
    for sql in (
        "UPDATE ops_actions_log SET status = 'executed'",
        "DELETE FROM ops_actions_log",
        "TRUNCATE ops_actions_log",
    ):
        # refused by privileges, before the append-only triggers
        assert "permission denied for table ops_actions_log" in refused(sql), sql
    assert "permission denied for schema" in refused("CREATE TABLE evil (i int)")
    # the rest of the schema stays writable
    assert BankProfile.objects.filter(id=bank.id).update(name=F("name")) == 1


def test_grant_app_role_refuses_an_unknown_or_odd_role(db):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("grant_app_role", "no_such_role_here")
    with pytest.raises(CommandError, match="not a plain role name"):
        call_command("grant_app_role", 'x"; DROP TABLE ops_actions_log; --')


def test_the_compose_init_script_makes_the_owner_and_the_app_role():
    """The script of /docker-entrypoint-initdb.d, run against this server with
    names of its own, then everything it made is dropped."""
    if not shutil.which("psql"):
        pytest.skip("psql not installed")
    settings = connection.settings_dict
    tag = uuid.uuid4().hex[:10]
    db, owner, app = f"molam_init_{tag}", f"molam_owner_{tag}", f"molam_app_{tag}"
    env = {
        **os.environ,
        "PGHOST": settings["HOST"] or "127.0.0.1",
        "PGPORT": str(settings["PORT"] or 5432),
        "POSTGRES_USER": settings["USER"],
        "MOLAM_DB_NAME": db,
        "MOLAM_OWNER_DB_ROLE": owner,
        "MOLAM_APP_DB_ROLE": app,
        "MOLAM_OWNER_DB_PASSWORD": "it's a 'quoted' secret",
        "MOLAM_APP_DB_PASSWORD": "another secret",
    }
    if settings["PASSWORD"]:
        env["PGPASSWORD"] = settings["PASSWORD"]
    admin = psycopg.connect(
        host=env["PGHOST"],
        port=env["PGPORT"],
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    try:
        result = subprocess.run(
            ["bash", str(INIT_SCRIPT)], env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        row = admin.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [db]
        ).fetchone()
        assert row == (owner,)
        roles = dict(
            admin.execute(
                "SELECT rolname, rolsuper OR rolcreatedb OR rolcreaterole "
                "FROM pg_roles WHERE rolname IN (%s, %s)",
                [owner, app],
            ).fetchall()
        )
        assert roles == {owner: False, app: False}
        with psycopg.connect(
            host=env["PGHOST"],
            port=env["PGPORT"],
            user=settings["USER"],
            password=settings["PASSWORD"] or None,
            dbname=db,
        ) as target:
            schema_owner, app_may_create = target.execute(
                "SELECT pg_get_userbyid(nspowner), "
                "has_schema_privilege(%s, 'public', 'CREATE') "
                "FROM pg_namespace WHERE nspname = 'public'",
                [app],
            ).fetchone()
        assert (schema_owner, app_may_create) == (owner, False)
        # a second run fails loudly rather than half-applying
        again = subprocess.run(
            ["bash", str(INIT_SCRIPT)], env=env, capture_output=True, text=True
        )
        assert again.returncode != 0
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{db}"')
        admin.execute(f'DROP ROLE IF EXISTS "{app}"')
        admin.execute(f'DROP ROLE IF EXISTS "{owner}"')
        admin.close()
