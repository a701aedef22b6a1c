"""The content-hashed static files (collectstatic into a directory of the
test's own), the service worker's list of them, the offline shell and the
site icon."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings

from tests.factories import operator_user

pytestmark = pytest.mark.django_db

HASHED = "molam_ops.lib.staticfiles.HashedStaticFilesStorage"
HASHED_JS = re.compile(r"/static/widgets/(?:elements/)?[\w-]+\.[0-9a-f]{12}\.js")


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("static")
    with override_settings(
        STATIC_ROOT=str(root),
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": HASHED},
        },
    ):
        call_command("collectstatic", "--noinput", "--verbosity", "0")
    return root


@pytest.fixture
def hashed(collected: Path, settings: Any) -> Path:
    settings.STATIC_ROOT = str(collected)
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": HASHED}}
    return collected


@pytest.fixture
def operator(client: Any) -> Any:
    client.force_login(operator_user("alice", "pay_admin"))
    return client


def test_the_dashboard_names_only_hashed_scripts(hashed: Path, operator: Any) -> None:
    html = operator.get("/").content.decode()
    scripts = re.findall(r'src="([^"]+\.js)"', html)
    assert scripts and all(HASHED_JS.fullmatch(s) for s in scripts), scripts
    assert re.search(r'href="/static/widgets/dashboard\.[0-9a-f]{12}\.css"', html)


def test_module_imports_are_rewritten_to_hashed_names(hashed: Path) -> None:
    index = next((hashed / "widgets").glob("index.*.js")).read_text()
    imports = re.findall(r'(?:from |import)\s*"([^"]+)"', index)
    assert len(imports) == 9  # api.js and the eight elements
    for name in imports:
        assert re.fullmatch(r"\./(elements/)?[\w-]+\.[0-9a-f]{12}\.js", name), name
        assert (hashed / "widgets" / name).is_file()
    element = next((hashed / "widgets" / "elements").glob("balance.*.js")).read_text()
    assert re.search(r'from "\.\./base\.[0-9a-f]{12}\.js"', element)
    assert 'from "../base.js"' not in element


def test_the_service_worker_precaches_the_shell_and_hashed_files(
    hashed: Path, client: Any
) -> None:
    text = client.get("/sw.js").content.decode()
    listed = re.search(r"const SHELL = (\[.*?\]);", text)
    assert listed
    files = re.findall(r'"([^"]+)"', listed.group(1))
    assert files[0] == "/shell/"
    scripts = [f for f in files if f.endswith(".js")]
    # the 8 modules (plan-view.js among them) and the 8 elements
    assert len(scripts) == 16 and all(HASHED_JS.fullmatch(s) for s in scripts)
    assert "/static/widgets/base.js" not in text
    # a release (another hash) is another cache: browsers install it anew
    assert re.search(r'const CACHE = "molam-ops-shell-[0-9a-f]{16}";', text)


def test_the_offline_shell_holds_nothing_of_an_operator(operator: Any) -> None:
    page = operator.get("/").content.decode()
    shell = operator.get("/shell/")
    html = shell.content.decode()
    assert "alice" in page and "alice" not in html
    assert "csrfmiddlewaretoken" in page and "csrfmiddlewaretoken" not in html
    assert "pay_admin" not in html
    assert "data-shell" in html and "<molam-approvals" in html
    assert "no-cache" in shell["Cache-Control"]


def test_favicon_is_the_dashboard_icon(hashed: Path, client: Any) -> None:
    resp = client.get("/favicon.ico")
    assert resp.status_code == 302
    icon = r"/static/widgets/icon-192\.[0-9a-f]{12}\.png"
    assert re.fullmatch(icon, resp["Location"])
