"""docker-compose.yml (issue 6): parsed and checked against the Compose
Specification schema (vendored in deploy/schemas/), then its topology: one
image for every app process, exactly one beat, migrations as the owner role
and the app as ``molam_app``, health-gated start order. No Docker engine runs
here; these tests need no database either."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.production import REQUIRED_SECRETS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = ROOT / "deploy" / "schemas" / "compose-spec.json"
APP_SERVICES = {"migrate", "web", "worker", "beat", "dispatcher", "sira"}
LONG_RUNNING = {"web", "worker", "beat", "dispatcher"}
WEB_CMD = (
    "gunicorn -c /app/gunicorn.conf.py molam_ops.asgi:application "
    "-k uvicorn_worker.UvicornWorker -w 2 -b 0.0.0.0:8084"
)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def command(service: dict[str, Any]) -> str:
    cmd = service.get("command", "")
    return cmd if isinstance(cmd, str) else shlex.join(cmd)


def env(service: dict[str, Any]) -> dict[str, str]:
    return service.get("environment") or {}


def test_valid_against_the_compose_specification(compose, validator):
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(compose)
    ]
    assert errors == []


@pytest.mark.parametrize(
    ("where", "bad"),
    [
        ("web", {"portz": ["8084:8084"]}),
        ("web", {"depends_on": {"postgres": {"condition": "healthy"}}}),
        ("beat", {"deploy": {"replica": 1}}),
    ],
)
def test_the_schema_refuses_a_broken_file(compose, validator, where, bad):
    broken = json.loads(json.dumps(compose))
    broken["services"][where].update(bad)
    assert list(validator.iter_errors(broken)), "the schema accepted a broken file"


def test_services(compose):
    assert set(compose["services"]) == APP_SERVICES | {"postgres", "redis"}
    assert compose["services"]["postgres"]["image"] == "postgres:16"
    assert compose["services"]["redis"]["image"] == "redis:7"


def test_every_app_process_runs_the_one_image_build(compose):
    services = compose["services"]
    images = {services[name].get("image") for name in APP_SERVICES}
    builds = {
        json.dumps(services[name].get("build"), sort_keys=True) for name in APP_SERVICES
    }
    assert len(images) == 1 and None not in images
    assert len(builds) == 1
    assert services["web"]["build"]["context"] == "."
    assert (ROOT / services["web"]["build"]["dockerfile"]).is_file()


def test_exactly_one_beat_and_never_scaled(compose):
    services = compose["services"]
    beats = [n for n, s in services.items() if re.search(r"\bbeat\b", command(s))]
    assert beats == ["beat"]
    beat = services["beat"]
    assert "scale" not in beat
    assert "replicas" not in beat.get("deploy", {})
    # nor a worker with an embedded beat (celery worker -B)
    for name, service in services.items():
        assert not re.search(r"(^|\s)(-B|--beat)(\s|$)", command(service)), name


def test_web_is_the_asgi_server_on_8084_with_a_healthcheck(compose):
    web = compose["services"]["web"]
    assert command(web) == WEB_CMD
    assert "8084:8084" in web["ports"]
    check = web["healthcheck"]
    assert not check.get("disable")
    assert check["test"][:3] == ["CMD", "python", "/app/deploy/docker/healthcheck.py"]
    assert "/healthz" in check["test"]
    assert (ROOT / "deploy" / "docker" / "healthcheck.py").is_file()


def test_process_commands(compose):
    services = compose["services"]
    assert command(services["worker"]).startswith("celery -A molam_ops worker")
    assert command(services["beat"]).startswith("celery -A molam_ops beat")
    assert command(services["dispatcher"]) == (
        "python manage.py dispatch_payouts --for-real"
    )
    assert command(services["sira"]) == "python -m plans.sira_devserver --port 8085"
    assert env(services["worker"])["SIRA_URL"] == "http://sira:8085"


def test_migrations_run_as_the_owner_and_every_process_as_the_app_role(compose):
    services = compose["services"]
    migrate = services["migrate"]
    assert "postgres://molam_owner:" in env(migrate)["DATABASE_URL"]
    assert command(migrate) == (
        "sh -c 'python manage.py migrate --noinput && "
        "python manage.py grant_app_role molam_app'"
    )
    assert migrate["restart"] == "no"
    for name in APP_SERVICES - {"migrate"}:
        url = env(services[name])["DATABASE_URL"]
        assert url.startswith("postgres://molam_app:"), name
        assert "molam_owner" not in json.dumps(services[name]), name
    initdb = services["postgres"]["volumes"]
    assert "./deploy/postgres/initdb:/docker-entrypoint-initdb.d:ro" in initdb
    script = (ROOT / "deploy/postgres/initdb/10-molam-roles.sh").read_text()
    assert "MOLAM_OWNER_DB_ROLE:-molam_owner" in script
    assert "MOLAM_APP_DB_ROLE:-molam_app" in script


def test_production_settings_and_secrets_as_files(compose):
    top_secrets = compose["secrets"]
    for name in APP_SERVICES:
        service = compose["services"][name]
        variables = env(service)
        assert variables["DEBUG"] == "0", name
        assert variables["REDIS_URL"] == "redis://redis:6379/0", name
        assert "DJANGO_SECRET_KEY" not in variables, name
        assert "MOLAM_ID_JWT_PUBLIC" not in variables, name
        for var in ("DJANGO_SECRET_KEY_FILE", "MOLAM_ID_JWT_PUBLIC_FILE"):
            secret = variables[var].removeprefix("/run/secrets/")
            assert secret in service["secrets"], (name, var)
            assert secret in top_secrets
    script = (ROOT / "deploy/compose/init-secrets.sh").read_text()
    for secret in top_secrets.values():
        # git-ignored (deploy/compose/secrets/.gitignore), written by init-secrets.sh
        assert secret["file"].startswith("./deploy/compose/secrets/")
        name = secret["file"].removeprefix("./deploy/compose/secrets/")
        assert f'"$dir/{name}"' in script, name
    # what production refuses to start without, as files
    for name in APP_SERVICES:
        variables = env(compose["services"][name])
        for var in REQUIRED_SECRETS:
            assert f"{var}_FILE" in variables, (name, var)


def test_every_required_variable_is_written_by_init_secrets(compose):
    """``${X:?…}`` stops ``docker compose up`` unless X is set: each such X
    must be one that deploy/compose/init-secrets.sh puts in .env."""
    required = set(re.findall(r"\$\{(\w+):\?", COMPOSE.read_text()))
    script = (ROOT / "deploy/compose/init-secrets.sh").read_text()
    written = set(re.findall(r'echo "(\w+)=\$\(rand\)"', script))
    assert (
        required
        == written
        == {
            "POSTGRES_PASSWORD",
            "MOLAM_OWNER_DB_PASSWORD",
            "MOLAM_APP_DB_PASSWORD",
        }
    )


def test_start_order_waits_for_healthy_dependencies(compose):
    services = compose["services"]
    for name in LONG_RUNNING:
        deps = services[name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy", name
        assert deps["redis"]["condition"] == "service_healthy", name
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
    for name, service in services.items():
        for dep, rule in (service.get("depends_on") or {}).items():
            if rule["condition"] == "service_healthy":
                check = services[dep].get("healthcheck", {})
                assert check.get("test") and not check.get("disable"), (name, dep)
    # the image's HEALTHCHECK polls /healthz: processes that serve no HTTP
    # must replace or disable it, or they would always be "unhealthy"
    for name in ("migrate", "worker", "beat", "dispatcher", "sira"):
        check = services[name]["healthcheck"]
        assert check.get("disable") or "healthcheck.py" not in json.dumps(check), name


@pytest.mark.parametrize("name", ["worker", "beat", "dispatcher"])
def test_heartbeat_healthchecks(compose, name):
    """The processes that serve no HTTP are checked by the age of their
    heartbeat file (molam_ops/heartbeat.py), with sh and stat only."""
    check = compose["services"][name]["healthcheck"]
    assert not check.get("disable")
    assert check["test"] == [
        "CMD",
        "sh",
        "/app/deploy/docker/heartbeat-fresh.sh",
        f"/app/var/heartbeat/{name}",
        "60",
    ]
    assert (ROOT / "deploy" / "docker" / "heartbeat-fresh.sh").is_file()
    assert "inspect ping" not in COMPOSE.read_text()


def test_metrics_multiprocess_directories(compose):
    """Web and worker each write their processes' counters to a tmpfs of their
    own (README "Metrics"); the worker serves its sum on its own port."""
    services = compose["services"]
    for name in ("web", "worker"):
        directory = env(services[name])["PROMETHEUS_MULTIPROC_DIR"]
        (mount,) = [v for v in services[name]["volumes"] if v["target"] == directory]
        assert mount["type"] == "tmpfs", name
    port = env(services["worker"])["WORKER_METRICS_PORT"]
    assert port in services["worker"]["expose"]
    assert "WORKER_METRICS_PORT" not in env(services["web"])
    for name in APP_SERVICES - {"web", "worker"}:
        assert "PROMETHEUS_MULTIPROC_DIR" not in env(services[name]), name
    assert (ROOT / "gunicorn.conf.py").is_file()


def test_web_and_worker_share_the_audit_job_volume(compose):
    """The worker writes an audit job's file, the web server serves it."""
    for name in ("web", "worker"):
        mounts = {
            m["target"]: m.get("source")
            for m in compose["services"][name]["volumes"]
            if isinstance(m, dict)
        }
        assert mounts["/app/var/audit-jobs"] == "auditjobs"
    assert "auditjobs" in compose["volumes"]
