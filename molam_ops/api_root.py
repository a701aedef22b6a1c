"""``GET /api/ops/``: the API root, what a client (or a person in the
browsable API) starts from. Built from the URL conf and the action registry
at each call, so it lists what this server really serves and cannot drift
from it. Who the caller is and which actions their roles allow is
``GET /api/ops/me``'s answer, not this one's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from molam_ops.actions.registry import all_actions
from molam_ops.identity import KNOWN_ROLES

# Django's "<uuid:plan_id>" is OpenAPI's "{plan_id}"
_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
# answered by every view, and documented by none
_IMPLICIT_METHODS = frozenset({"head", "options"})


def path_template(route: str) -> str:
    """``"api/ops/plans/<uuid:plan_id>"`` → ``"/api/ops/plans/{plan_id}"``."""
    return "/" + _PARAM.sub(r"{\1}", route)


def _routes(
    patterns: Sequence[URLPattern | URLResolver], prefix: str = ""
) -> Iterator[tuple[str, URLPattern]]:
    """Every route pattern with its full route (regex patterns, which only
    catch what nothing else matched, are left out)."""
    for p in patterns:
        if not isinstance(p.pattern, RoutePattern):
            continue
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from _routes(p.url_patterns, route)
        else:
            yield route, p


def _methods(view_class: type[Any]) -> list[str]:
    return [
        m.upper()
        for m in view_class.http_method_names
        if m not in _IMPLICIT_METHODS and hasattr(view_class, m)
    ]


class ApiRootEntry(serializers.Serializer[Any]):
    name = serializers.CharField(help_text="The action's or the URL's name.")
    path = serializers.CharField(help_text="Path parameters as {name}.")
    url = serializers.CharField(help_text="The path on this server.")


class ApiRootAction(ApiRootEntry):
    method = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    summary = serializers.CharField()


class ApiRootResource(ApiRootEntry):
    methods = serializers.ListField(child=serializers.CharField())


_RESPONSE = inline_serializer(
    "ApiRoot",
    {
        "ok": serializers.BooleanField(),
        "title": serializers.CharField(),
        "version": serializers.CharField(),
        "actions": ApiRootAction(many=True),
        "resources": ApiRootResource(many=True),
        "sockets": ApiRootEntry(many=True),
    },
)


class ApiRootApi(APIView):
    """Every endpoint of this API: the ops actions (POST, each with the roles
    that may run it; send an ``Idempotency-Key``), the resources to read,
    the OpenAPI schema and its docs, and the live KPI socket. What your own
    roles allow: ``me``."""

    # the WebSocket routes (widgets.routing), given by the URL conf: the
    # kernel does not import the apps above it
    sockets: Sequence[URLPattern] = ()

    @extend_schema(tags=["api"], operation_id="api_root", responses=_RESPONSE)
    def get(self, request: Request) -> Response:
        urlconf = getattr(request, "urlconf", None)
        routes = list(_routes(get_resolver(urlconf).url_patterns))
        actions = {spec.name: spec for spec in all_actions() if spec.http}
        # not build_absolute_uri(path): it would escape the {braces}
        base = request.build_absolute_uri("/").removesuffix("/")
        return Response(
            {
                "ok": True,
                "title": settings.SPECTACULAR_SETTINGS["TITLE"],
                "version": settings.SPECTACULAR_SETTINGS["VERSION"],
                "actions": [
                    {
                        "name": spec.name,
                        "method": "POST",
                        "path": path_template(route),
                        "url": base + path_template(route),
                        # "system" is the service's own principal, nobody's role
                        "roles": sorted(spec.roles & KNOWN_ROLES),
                        "summary": spec.summary,
                    }
                    for route, pattern in routes
                    if (spec := actions.get(pattern.name or "")) is not None
                ],
                "resources": sorted(
                    self._resources(base, routes, actions),
                    key=lambda r: r["path"],
                ),
                "sockets": [self._socket(base, p) for p in self.sockets],
            }
        )

    def _resources(
        self,
        base: str,
        routes: list[tuple[str, URLPattern]],
        actions: dict[str, Any],
    ) -> Iterator[dict[str, Any]]:
        for route, pattern in routes:
            view_class = getattr(pattern.callback, "view_class", None)
            if (
                not route.startswith("api/")
                or view_class is None
                or view_class is type(self)
                or pattern.name in actions
            ):
                continue
            yield {
                "name": pattern.name or route,
                "path": path_template(route),
                "url": base + path_template(route),
                "methods": _methods(view_class),
            }

    def _socket(self, base: str, pattern: URLPattern) -> dict[str, str]:
        path = path_template(str(pattern.pattern))
        return {
            "name": pattern.name or path.strip("/"),
            "path": path,
            "url": "ws" + base.removeprefix("http") + path,  # ws:// or wss://
        }
