"""The AsyncAPI 3.0 document of the live-KPI socket ``/ws/kpis/``
(``widgets.consumers``, ``widgets.auth``), served beside the OpenAPI document
at ``/api/schema/asyncapi.json``.

Its payload schemas are not written twice: they are the OpenAPI document's
components (``KpiSummary`` and what it references, generated from
``widgets.api.serializers``), copied in at request time and declared in the
OpenAPI 3.0 schema format.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from molam_ops.schema_views import openapi_dict
from widgets.auth import SUBPROTOCOL
from widgets.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED

OPENAPI_SCHEMA_FORMAT = "application/vnd.oai.openapi+json;version=3.0.0"


def _frame(frame_type: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", *properties],
        "properties": {
            "type": {"type": "string", "enum": [frame_type]},
            **properties,
        },
    }


# the frames around the summary; the summary itself is the OpenAPI component
FRAMES = {
    "KpiSummaryFrame": _frame(
        "summary", summary={"$ref": "#/components/schemas/KpiSummary"}
    ),
    "KpiRefreshFrame": _frame("refresh"),
}


def referenced(schemas: dict[str, Any], roots: list[str]) -> dict[str, Any]:
    """``roots`` and every component they reference, transitively."""
    found: dict[str, Any] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found[name] = schemas[name]
        todo += _refs(schemas[name])
    return dict(sorted(found.items()))


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        own = [ref.rsplit("/", 1)[-1]] if isinstance(ref, str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _message(name: str, title: str, summary: str) -> dict[str, Any]:
    return {
        "name": name,
        "title": title,
        "summary": summary,
        "contentType": "application/json",
        "payload": {
            "schemaFormat": OPENAPI_SCHEMA_FORMAT,
            "schema": {"$ref": f"#/components/schemas/{name}"},
        },
    }


def asyncapi_document(openapi: dict[str, Any] | None = None) -> dict[str, Any]:
    """The document, its schemas taken from ``openapi`` (else generated)."""
    openapi = openapi if openapi is not None else openapi_dict()
    schemas = referenced(openapi["components"]["schemas"], ["KpiSummary"])
    base = urlsplit(settings.PUBLIC_BASE_URL)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Molam Ops Controls live KPIs",
            "version": openapi["info"]["version"],
            "description": (
                "The KPI summary of the widgets, pushed on connect and whenever "
                "its content changes. Closes with 4401 when the credentials are "
                "missing, invalid or expire (the socket lives no longer than its "
                "token), 4403 when they carry no operator role."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "service": {
                "host": base.netloc,
                "protocol": "wss" if base.scheme == "https" else "ws",
                "description": "The service (PUBLIC_BASE_URL).",
                "security": [
                    {"$ref": "#/components/securitySchemes/tokenSubprotocol"},
                    {"$ref": "#/components/securitySchemes/tokenQuery"},
                    {"$ref": "#/components/securitySchemes/session"},
                ],
            }
        },
        "channels": {
            "kpis": {
                "address": "/ws/kpis/",
                "title": "Live KPI summary",
                "servers": [{"$ref": "#/servers/service"}],
                "messages": {
                    "summary": {"$ref": "#/components/messages/KpiSummaryFrame"},
                    "refresh": {"$ref": "#/components/messages/KpiRefreshFrame"},
                },
                "bindings": {
                    "ws": {
                        "method": "GET",
                        "query": {
                            "type": "object",
                            "properties": {
                                "token": {
                                    "type": "string",
                                    "description": "A Molam ID JWT (instead of "
                                    "the subprotocol).",
                                }
                            },
                        },
                        "headers": {
                            "type": "object",
                            "properties": {
                                "Sec-WebSocket-Protocol": {
                                    "type": "string",
                                    "description": f"``{SUBPROTOCOL}, <jwt>``: "
                                    f"the server answers ``{SUBPROTOCOL}``.",
                                }
                            },
                        },
                        "bindingVersion": "0.1.0",
                    }
                },
            }
        },
        "operations": {
            "receiveSummary": {
                "action": "send",
                "channel": {"$ref": "#/channels/kpis"},
                "summary": "The server sends the summary on connect and on change.",
                "messages": [{"$ref": "#/channels/kpis/messages/summary"}],
            },
            "requestRefresh": {
                "action": "receive",
                "channel": {"$ref": "#/channels/kpis"},
                "summary": "A client asks for the latest summary (answered from "
                "the cache, even if unchanged).",
                "messages": [{"$ref": "#/channels/kpis/messages/refresh"}],
            },
        },
        "components": {
            "schemas": {**FRAMES, **schemas},
            "messages": {
                "KpiSummaryFrame": _message(
                    "KpiSummaryFrame",
                    "KPI summary",
                    '{"type": "summary", "summary": {...}}',
                ),
                "KpiRefreshFrame": _message(
                    "KpiRefreshFrame", "Refresh request", '{"type": "refresh"}'
                ),
            },
            "securitySchemes": {
                "tokenSubprotocol": {
                    "type": "httpApiKey",
                    "name": "Sec-WebSocket-Protocol",
                    "in": "header",
                    "description": f"Subprotocols ``{SUBPROTOCOL}`` then the "
                    "Molam ID JWT.",
                },
                "tokenQuery": {
                    "type": "httpApiKey",
                    "name": "token",
                    "in": "query",
                    "description": "The Molam ID JWT in the query.",
                },
                "session": {
                    "type": "httpApiKey",
                    "name": "sessionid",
                    "in": "cookie",
                    "description": "The dashboard's session, from an allowed "
                    "Origin only.",
                },
            },
        },
        "x-close-codes": {
            str(CLOSE_UNAUTHENTICATED): "no valid credentials, or the token expired",
            str(CLOSE_FORBIDDEN): "no operator role",
        },
    }


class AsyncApiDocumentView(APIView):
    """Served like the OpenAPI document: to anyone, as JSON."""

    permission_classes = SpectacularAPIView.permission_classes
    authentication_classes = SpectacularAPIView.authentication_classes
    renderer_classes = [JSONRenderer]

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response(asyncapi_document())
