"""The dashboard page, its offline shell, and what the web components load:
the JS message catalogue, the web app manifest, the service worker and the
site's icon."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.i18n import JSONCatalog

from molam_ops.identity import principal_from_user
from widgets.selectors import kpi_summary_cached

PREFERRED = ("XOF", "XAF", "USD", "EUR")
ELEMENTS = (
    "balance",
    "freeze-button",
    "plan-panel",
    "payout-summary",
    "bank-health",
    "suggestions",
    "quick-actions",
    "approvals",
)


def shell_files() -> list[str]:
    files = [
        "widgets/dashboard.css",
        "widgets/dashboard.js",
        "widgets/index.js",
        "widgets/base.js",
        "widgets/api.js",
        "widgets/live.js",
        "widgets/i18n.js",
        "widgets/signing.js",
        "widgets/plan-view.js",
        "widgets/icon.svg",
        "widgets/icon-192.png",
    ]
    files += [f"widgets/elements/{name}.js" for name in ELEMENTS]
    # static(): the content-hashed names, as the pages ask for them
    return [static(f) for f in files]


@login_required
@ensure_csrf_cookie  # the widgets send it back with their POSTs and PUTs
def dashboard(request: HttpRequest) -> HttpResponse:
    principal = principal_from_user(request.user)
    summary = kpi_summary_cached()
    held = [row["currency"] for row in summary["treasury"]]
    # the currencies most operators watch first, then the others
    currencies = sorted(
        held, key=lambda c: (PREFERRED.index(c) if c in PREFERRED else 9, c)
    )
    return render(
        request,
        "widgets/dashboard.html",
        {
            "principal": principal,
            "roles": sorted(principal.roles) if principal else [],
            "balance_currencies": currencies[:4] or ["USD"],
            "languages": settings.LANGUAGES,
        },
    )


@cache_control(no_cache=True)
def shell(request: HttpRequest) -> HttpResponse:
    """The dashboard without anything of an operator's (no name, roles,
    balances chosen from the treasury, CSRF token): what the service worker
    keeps and shows when a page is opened offline. Its widgets load once the
    network is back, and the page then becomes the dashboard itself."""
    return render(
        request,
        "widgets/dashboard.html",
        {
            "shell": True,
            "roles": [],
            "balance_currencies": list(PREFERRED),
            "languages": settings.LANGUAGES,
        },
    )


class _Catalog(JSONCatalog):
    domain = "djangojs"


@cache_control(max_age=3600, public=True)
def js_catalog(request: HttpRequest, lang: str) -> HttpResponseBase:
    """The web components' strings in ``lang`` (``{"catalog": {...}, ...}``)."""
    if lang not in {code for code, _label in settings.LANGUAGES}:
        raise Http404
    with translation.override(lang):
        return _Catalog.as_view(packages=["widgets"])(request)


def manifest(request: HttpRequest) -> JsonResponse:
    icon = static("widgets/icon.svg")
    body: dict[str, Any] = {
        "name": _("Molam Ops Controls"),
        "short_name": _("Molam Ops"),
        "description": _("Freeze, pause and follow Molam Pay payouts."),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#0f172a",
        "theme_color": "#0f172a",
        "icons": [
            {"src": icon, "sizes": "any", "type": "image/svg+xml"},
            {
                "src": static("widgets/icon-192.png"),
                "sizes": "192x192",
                "type": "image/png",
            },
            {
                "src": static("widgets/icon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
            },
        ],
    }
    return JsonResponse(body, content_type="application/manifest+json")


def service_worker(request: HttpRequest) -> HttpResponse:
    """Served from ``/sw.js`` so that its scope is the whole site. Its cache
    is named after the hashed file names: a release that changes a file
    changes this script, so browsers install it and drop the old cache."""
    files = [reverse("shell"), *shell_files()]
    listed = json.dumps(files)
    version = hashlib.sha256(listed.encode()).hexdigest()[:16]
    response = render(
        request,
        "widgets/sw.js",
        {
            "version": f"molam-ops-shell-{version}",
            "files": listed,
            "shell": reverse("shell"),
        },
        content_type="text/javascript",
    )
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/"
    return response


@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """``/favicon.ico``, which browsers ask for on pages naming no icon (the
    admin's): the dashboard's icon, rather than a 404 in the console."""
    return HttpResponseRedirect(static("widgets/icon-192.png"))
