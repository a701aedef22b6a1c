"""The Dockerfile (issue 6): linted by hadolint, read instruction by
instruction (multi-stage, non-root, no compilers in the final image, the
HEALTHCHECK, the CMD), and its CMD and healthcheck script run for real: the
production ASGI server answers the check. No Docker engine runs here."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import free_port
from tests.production import REQUIRED_SECRETS

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
HEALTHCHECK = ROOT / "deploy" / "docker" / "healthcheck.py"
BIN = Path(sys.executable).parent
BUILD_TOOLS = re.compile(r"\b(build-essential|gcc|g\+\+|make|libpq-dev|apt-get)\b")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def stages() -> dict[str, list[tuple[str, str]]]:
    args = dict(
        rest.split("=", 1)
        for word, rest in instructions()
        if word == "ARG" and "=" in rest
    )
    result: dict[str, list[tuple[str, str]]] = {}
    current = None
    for word, rest in instructions():
        if word == "FROM":
            image, _, name = rest.partition(" AS ")
            image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
            current = name.strip() or image
            result[current] = [("FROM", image)]
        elif current:
            result[current].append((word, rest))
    return result


def exec_form(rest: str) -> list[str]:
    return json.loads(rest)


def test_hadolint_is_clean():
    hadolint = shutil.which("hadolint") or str(BIN / "hadolint")
    if not Path(hadolint).exists():
        pytest.fail("hadolint missing: pip install -r requirements-dev.txt")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_builder_and_a_slim_final_stage_without_build_tools():
    all_stages = stages()
    assert list(all_stages) == ["builder", "runtime"]
    builder, runtime = all_stages["builder"], all_stages["runtime"]
    assert runtime[0] == ("FROM", "python:3.11-slim")
    assert any("build-essential" in rest for word, rest in builder if word == "RUN")
    assert any(
        "pip install" in rest and "requirements.txt" in rest
        for word, rest in builder
        if word == "RUN"
    )
    for word, rest in runtime:
        if word == "RUN":
            assert not BUILD_TOOLS.search(rest), rest
    copies = [rest for word, rest in runtime if word == "COPY"]
    assert "--from=builder /opt/venv /opt/venv" in copies


def test_runs_as_a_non_root_user():
    runtime = stages()["runtime"]
    users = [rest for word, rest in runtime if word == "USER"]
    assert users == ["10001:10001"]
    useradd = next(
        rest for word, rest in runtime if word == "RUN" and "useradd" in rest
    )
    assert "--uid 10001" in useradd
    # every RUN after USER would run unprivileged; the static files are
    # collected before, with throw-away secrets that stay out of ENV
    user_at = [word for word, _ in runtime].index("USER")
    collect = next(
        i for i, (word, rest) in enumerate(runtime) if "collectstatic" in rest
    )
    assert collect < user_at
    # with a throw-away value for each secret production requires
    collect_run = runtime[collect][1]
    for name in ("DJANGO_SECRET_KEY", "MOLAM_ID_JWT_PUBLIC", *REQUIRED_SECRETS):
        assert f"{name}=" in collect_run, name
    env_lines = " ".join(rest for word, rest in runtime if word == "ENV")
    assert "SECRET_KEY" not in env_lines and "JWT" not in env_lines
    assert "STATIC_ROOT=/app/static" in env_lines
    assert "MOLAM_VAR_DIR=/app/var" in env_lines


def test_exposes_8084_with_a_healthcheck_and_the_asgi_server():
    runtime = dict(stages()["runtime"])
    assert runtime["EXPOSE"] == "8084"
    check = runtime["HEALTHCHECK"]
    assert check.split(" CMD ")[1] == json.dumps(
        ["python", "/app/deploy/docker/healthcheck.py"]
    )
    assert exec_form(runtime["CMD"]) == shlex.split(
        "gunicorn molam_ops.asgi:application -k uvicorn_worker.UvicornWorker "
        "-w 2 -b 0.0.0.0:8084"
    )


def test_dockerignore_keeps_secrets_and_dev_state_out_of_the_image():
    lines = (ROOT / ".dockerignore").read_text().split()
    for path in (".git", ".venv", ".env", "var", "tests", "deploy"):
        assert path in lines, path
    # ... but the healthcheck script goes in
    assert "!deploy/docker" in lines
    assert lines.index("!deploy/docker") > lines.index("deploy")


def test_healthcheck_fails_when_nothing_answers():
    env = {**os.environ, "PORT": str(free_port())}
    result = subprocess.run([sys.executable, str(HEALTHCHECK)], env=env, check=False)
    assert result.returncode == 1


def test_the_image_command_serves_and_passes_its_healthcheck(tmp_path):
    """The CMD (bound to loopback here) with production settings: DEBUG off,
    secrets given, ALLOWED_HOSTS without 127.0.0.1 — the check's Host header
    must still get through."""
    port = free_port()
    cmd = exec_form(dict(stages()["runtime"])["CMD"])
    cmd[cmd.index("-b") + 1] = f"127.0.0.1:{port}"
    env = {
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "DEBUG": "0",
        "DJANGO_SECRET_KEY": "a-test-secret-key-for-the-image-command",
        "MOLAM_ID_JWT_PUBLIC": "-----BEGIN PUBLIC KEY----- (not used by /healthz)",
        **REQUIRED_SECRETS,
        "MOLAM_VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "XDG_RUNTIME_DIR": str(tmp_path),
        "ALLOWED_HOSTS": "ops.molam.example,localhost",
        "PORT": str(port),
    }
    server = subprocess.Popen(
        [str(BIN / cmd[0]), *cmd[1:]],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            check = subprocess.run(
                [sys.executable, str(HEALTHCHECK)], env=env, check=False
            )
            if check.returncode == 0 or server.poll() is not None:
                break
            assert time.monotonic() < deadline, "no answer from the server in 60 s"
            time.sleep(0.2)
        assert check.returncode == 0, server.stderr.read().decode()[-2000:]
        ready = subprocess.run(
            [sys.executable, str(HEALTHCHECK), "/readyz"], env=env, check=False
        )
        assert ready.returncode == 0
        # a host that is not allowed is refused: the Host header matters
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert refused.value.code == 400
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
