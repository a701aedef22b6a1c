"""Production settings (DESIGN §4, §10; STYLE rule 12), checked in fresh
processes with a clean environment: under pytest the settings run in test
mode (development defaults), so they cannot be observed in-process.

With ``DEBUG`` off the service refuses to start without a secret key or a JWT
public key, and says so in one line naming the variable; secrets come from
``X`` or ``X_FILE``; the JWT key is PEM text or a file path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.utils import timezone

from tests.production import REQUIRED_SECRETS

BASE_DIR = Path(settings.BASE_DIR)

# Prints the settings values under test, then verifies a token given in argv.
PROBE = """
import sys, django
django.setup()
from django.conf import settings
print(settings.DEBUG, settings.DEV_DEFAULTS)
print(settings.SECRET_KEY)
if len(sys.argv) > 1:
    from molam_ops.identity import decode_token
    print(decode_token(sys.argv[1]).id)
"""


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode()
    )
    return private, public


def production_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    """DEBUG off and nothing else from this process (no TESTING, no keys)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DEBUG": "0",
        "DJANGO_SETTINGS_MODULE": "molam_ops.settings",
        "MOLAM_VAR_DIR": str(tmp_path / "var"),
        # PLAN_DATA_KEYS="" (or another blank secret) tests its absence
        **REQUIRED_SECRETS,
        **variables,
    }


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_one_line_refusal(proc: subprocess.CompletedProcess[str], name: str) -> None:
    assert proc.returncode != 0, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert lines, "no message on stderr"
    assert lines[-1].startswith("error: "), proc.stderr
    assert name in lines[-1]
    assert "Traceback" not in proc.stderr


def token(private_pem: str, sub: str = "alice") -> str:
    exp = timezone.now() + timedelta(minutes=5)
    return jwt.encode(
        {"sub": sub, "roles": ["ops"], "exp": int(exp.timestamp())},
        private_pem,
        "RS256",
    )


# --- refusing to start -------------------------------------------------------------


def test_check_refuses_to_start_without_secret_key(tmp_path: Path) -> None:
    proc = run(["manage.py", "check"], production_env(tmp_path))
    assert_one_line_refusal(proc, "DJANGO_SECRET_KEY")
    assert proc.returncode == 1


def test_check_refuses_to_start_without_jwt_public_key(tmp_path: Path) -> None:
    env = production_env(tmp_path, DJANGO_SECRET_KEY="s3cret-for-this-test")
    proc = run(["manage.py", "check"], env)
    assert_one_line_refusal(proc, "MOLAM_ID_JWT_PUBLIC")
    assert proc.returncode == 1


def test_check_passes_with_secret_and_jwt_key(
    tmp_path: Path, key_pair: tuple[str, str]
) -> None:
    env = production_env(
        tmp_path,
        DJANGO_SECRET_KEY="s3cret-for-this-test",
        MOLAM_ID_JWT_PUBLIC=key_pair[1],
    )
    proc = run(["manage.py", "check"], env)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("module", ["molam_ops.wsgi", "molam_ops.asgi"])
def test_server_entry_point_refuses_in_one_line(tmp_path: Path, module: str) -> None:
    proc = run(["-c", f"import {module}"], production_env(tmp_path))
    assert_one_line_refusal(proc, "DJANGO_SECRET_KEY")
    assert proc.returncode == 1


def test_unreadable_secret_file_is_named(tmp_path: Path) -> None:
    env = production_env(tmp_path, DJANGO_SECRET_KEY_FILE=str(tmp_path / "missing"))
    proc = run(["manage.py", "check"], env)
    assert_one_line_refusal(proc, "DJANGO_SECRET_KEY_FILE")


def test_jwt_key_path_that_is_no_file_is_refused_at_boot(tmp_path: Path) -> None:
    env = production_env(
        tmp_path,
        DJANGO_SECRET_KEY="s3cret-for-this-test",
        MOLAM_ID_JWT_PUBLIC=str(tmp_path / "nowhere.pem"),
    )
    proc = run(["manage.py", "check"], env)
    assert_one_line_refusal(proc, "MOLAM_ID_JWT_PUBLIC")


# --- where values come from --------------------------------------------------------


def test_secret_key_is_read_from_secret_file(
    tmp_path: Path, key_pair: tuple[str, str]
) -> None:
    secret_file = tmp_path / "secret_key"
    secret_file.write_text("from-a-mounted-file\n")
    env = production_env(
        tmp_path,
        DJANGO_SECRET_KEY="overridden-by-the-file",
        DJANGO_SECRET_KEY_FILE=str(secret_file),
        MOLAM_ID_JWT_PUBLIC=key_pair[1],
    )
    proc = run(["-c", PROBE], env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[:2] == ["False False", "from-a-mounted-file"]


@pytest.mark.parametrize("how", ["pem_text", "file_path", "pem_file_variable"])
def test_jwt_public_key_from_pem_text_or_file(
    tmp_path: Path, key_pair: tuple[str, str], how: str
) -> None:
    private, public = key_pair
    pem_file = tmp_path / "molam-id.pem"
    pem_file.write_text(public)
    source: dict[str, Any] = {
        "pem_text": {"MOLAM_ID_JWT_PUBLIC": public},
        "file_path": {"MOLAM_ID_JWT_PUBLIC": str(pem_file)},
        "pem_file_variable": {"MOLAM_ID_JWT_PUBLIC_FILE": str(pem_file)},
    }[how]
    env = production_env(tmp_path, DJANGO_SECRET_KEY="s3cret-for-this-test", **source)
    proc = run(["-c", PROBE, token(private, sub="alice")], env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "alice"


EMAIL_PROBE = """
import django
django.setup()
from django.conf import settings as s
print(s.EMAIL_BACKEND.rsplit(".", 2)[-2], s.EMAIL_HOST, s.EMAIL_PORT,
      getattr(s, "EMAIL_USE_TLS", False), s.EMAIL_HOST_USER)
"""


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        # production mails through a relay, never to stdout by default
        ({}, "smtp localhost 25 False None"),
        (
            {"EMAIL_URL": "smtp+tls://ops:pw@mail.molam.example:587"},
            "smtp mail.molam.example 587 True ops",
        ),
        ({"EMAIL_URL": "consolemail://"}, "console None None False None"),
        ({"DEBUG": "1"}, "console None None False None"),
    ],
)
def test_email_comes_from_email_url(
    tmp_path: Path,
    key_pair: tuple[str, str],
    variables: dict[str, str],
    expected: str,
) -> None:
    env = production_env(
        tmp_path,
        DJANGO_SECRET_KEY="s3cret-for-this-test",
        MOLAM_ID_JWT_PUBLIC=key_pair[1],
        **variables,
    )
    proc = run(["-c", EMAIL_PROBE], env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == expected


# --- the approvals' signing key and links ----------------------------------------

APPROVAL_PROBE = """
import django
django.setup()
from django.conf import settings as s
print([k for k, _v in s.APPROVAL_SIGNING_KEYS], s.PUBLIC_BASE_URL)
"""


@pytest.mark.parametrize(
    "value",
    [
        "",
        "no-key-id-here-but-long-enough-000000000",
        "k1:short",
        "a:" + "x" * 40 + ",a:" + "y" * 40,
    ],
    ids=["unset", "no-key-id", "short-secret", "key-id-twice"],
)
def test_approval_signing_key_is_required_and_checked(
    tmp_path: Path, key_pair: tuple[str, str], value: str
) -> None:
    env = production_env(
        tmp_path,
        DJANGO_SECRET_KEY="s3cret-for-this-test",
        MOLAM_ID_JWT_PUBLIC=key_pair[1],
        APPROVAL_SIGNING_KEY=value,
    )
    proc = run(["manage.py", "check"], env)
    assert_one_line_refusal(proc, "APPROVAL_SIGNING_KEY")


RSA_PUBLIC = """-----BEGIN PUBLIC KEY-----
MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMd8ohs0fmQx8w5XU0MDw2Qnqp5eqQbm
Wd4xDpkbLfBrFY1V4zkn2vRXylYhEErsZ+c7a6y+rEH/n0HDbMuGz3cCAwEAAQ==
-----END PUBLIC KEY-----"""


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AUDIT_SIGNING_KEY", ""),
        ("AUDIT_SIGNING_KEY", "not a key"),
        ("AUDIT_SIGNING_KEY", RSA_PUBLIC),
        ("AUDIT_PREVIOUS_PUBLIC_KEYS", "no pem here"),
        ("AUDIT_PREVIOUS_PUBLIC_KEYS", RSA_PUBLIC),
    ],
    ids=["unset", "not-pem", "not-ed25519", "no-key", "previous-not-ed25519"],
)
def test_audit_signing_keys_are_required_and_checked_at_boot(
    tmp_path: Path, key_pair: tuple[str, str], name: str, value: str
) -> None:
    env = production_env(
        tmp_path,
        DJANGO_SECRET_KEY="s3cret-for-this-test",
        MOLAM_ID_JWT_PUBLIC=key_pair[1],
        **{name: value},
    )
    proc = run(["manage.py", "check"], env)
    assert_one_line_refusal(proc, name)


def test_approval_signing_keys_from_a_file_newest_first(
    tmp_path: Path, key_pair: tuple[str, str]
) -> None:
    keys = tmp_path / "approval-keys"
    keys.write_text(f"k2:{'n' * 40}\nk1:{'o' * 40}\n")
    env = production_env(
        tmp_path,
        DJANGO_SECRET_KEY="s3cret-for-this-test",
        MOLAM_ID_JWT_PUBLIC=key_pair[1],
        APPROVAL_SIGNING_KEY="",
        APPROVAL_SIGNING_KEY_FILE=str(keys),
        PORT="9011",
    )
    proc = run(["-c", APPROVAL_PROBE], env)
    assert proc.returncode == 0, proc.stderr
    # links follow PORT unless PUBLIC_BASE_URL says otherwise
    assert proc.stdout.split("\n")[-2] == "['k2', 'k1'] http://127.0.0.1:9011"


@pytest.mark.parametrize("value", ["0", "-1", "61", "often", "nan"])
def test_a_bad_heartbeat_interval_is_refused_at_boot(
    tmp_path: Path, value: str
) -> None:
    env = production_env(
        tmp_path, DJANGO_SECRET_KEY="s3cret-for-this-test", HEARTBEAT_INTERVAL=value
    )
    proc = run(["manage.py", "check"], env)
    assert_one_line_refusal(proc, "HEARTBEAT_INTERVAL")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PLAN_LEASE_SECONDS", "0"),
        ("PLAN_LEASE_SECONDS", "91"),  # with the sweep, past DESIGN's 2 minutes
        ("PLAN_LEASE_SWEEP_INTERVAL", "31"),
        ("PLAN_LEASE_SWEEP_INTERVAL", "soon"),
        ("PLAN_EXECUTION_TIME_LIMIT", "-5"),
        # not even SIRA's worst case (3 attempts x 3 x 5 s, and the backoff)
        ("PLAN_GENERATION_TIME_LIMIT", "30"),
    ],
)
def test_a_lease_or_time_limit_out_of_bounds_is_refused_at_boot(
    tmp_path: Path, name: str, value: str
) -> None:
    env = production_env(tmp_path, DJANGO_SECRET_KEY="s3cret-for-this-test")
    env[name] = value
    proc = run(["manage.py", "check"], env)
    assert_one_line_refusal(proc, name)


VISIBILITY_PROBE = """
import django
django.setup()
from django.conf import settings
print(settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"])
"""


def test_the_brokers_visibility_timeout_outlasts_the_longest_task(
    tmp_path: Path, key_pair: tuple[str, str]
) -> None:
    env = production_env(
        tmp_path,
        DJANGO_SECRET_KEY="s3cret-for-this-test",
        MOLAM_ID_JWT_PUBLIC=key_pair[1],
        REDIS_URL="redis://127.0.0.1:1/0",  # read, never dialled
        TASK_TIME_LIMIT="100",
        PLAN_GENERATION_TIME_LIMIT="200",
        PLAN_EXECUTION_TIME_LIMIT="1200",
    )
    proc = run(["-c", VISIBILITY_PROBE], env)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[-1]) == 1200 + 60
    env["BROKER_VISIBILITY_TIMEOUT"] = "7200"  # still the operator's to set
    proc = run(["-c", VISIBILITY_PROBE], env)
    assert int(proc.stdout.split()[-1]) == 7200


# --- no side effects at import; tests are told, not guessed ---------------------

IMPORT_ONLY = """
import importlib, sys
importlib.import_module(sys.argv[1])
print("imported")
"""


def test_importing_the_settings_makes_no_directory(tmp_path: Path) -> None:
    """The settings only name their directories; the process that serves
    makes them (molam_ops.boot.prepare_directories, at django.setup())."""
    var = tmp_path / "var"
    env = production_env(
        tmp_path,
        DEBUG="1",
        STATIC_ROOT=str(tmp_path / "static"),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
    )
    proc = run(["-c", IMPORT_ONLY, "molam_ops.settings"], env)
    assert proc.stdout.strip() == "imported", proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []

    proc = run(["-c", "import django; django.setup()"], env)
    assert proc.returncode == 0, proc.stderr
    assert (var / "broker").is_dir() and (var / "broker-control").is_dir()
    assert (tmp_path / "static").is_dir() and (tmp_path / "prometheus").is_dir()


def test_an_uncreatable_metrics_directory_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "file").write_text("not a directory")
    env = production_env(
        tmp_path, DEBUG="1", PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "file" / "x")
    )
    proc = run(["manage.py", "check"], env)
    assert_one_line_refusal(proc, "PROMETHEUS_MULTIPROC_DIR")


def test_pytest_being_loaded_does_not_turn_on_the_test_defaults(
    tmp_path: Path,
) -> None:
    """Only TESTING (set by tests/settings.py) does: a production process that
    happens to import pytest still needs its secrets."""
    probe = "import pytest, django; django.setup()"
    proc = run(["-c", probe], production_env(tmp_path))
    assert proc.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in proc.stderr
    proc = run(["-c", probe + "\n" + PROBE], production_env(tmp_path, TESTING="1"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "False True"


def test_this_suite_runs_on_its_own_settings_module() -> None:
    assert os.environ["DJANGO_SETTINGS_MODULE"] == "tests.settings"
    assert settings.TESTING is True
    assert settings.DEV_DEFAULTS is True
