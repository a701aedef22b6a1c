"""The API's machine-readable descriptions: the OpenAPI document at
``/api/schema/`` (YAML; JSON with ``?format=json`` or by ``Accept``) and the
AsyncAPI document of the live-KPI socket at ``/api/schema/asyncapi.json``
(``widgets.asyncapi``).

``?format=`` is read here only: DRF's own ``URL_FORMAT_OVERRIDE`` stays off
because ``?format=`` is the audit export's parameter.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from drf_spectacular.views import SpectacularAPIView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

FORMATS = {"json": OpenApiJsonRenderer, "yaml": OpenApiYamlRenderer}


class _FormatParameterNegotiation(DefaultContentNegotiation):
    """``?format=json|yaml`` picks the renderer; else ``Accept`` decides."""

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        wanted = FORMATS.get(request.query_params.get("format", ""))
        if wanted is not None:
            renderer = next(r for r in renderers if type(r) is wanted)
            return renderer, str(renderer.media_type)
        chosen: tuple[BaseRenderer, str] = super().select_renderer(
            request, renderers, format_suffix
        )
        return chosen


class OpenApiDocumentView(SpectacularAPIView):
    content_negotiation_class = _FormatParameterNegotiation


def openapi_dict() -> dict[str, Any]:
    """The OpenAPI document as plain JSON values (lazy translations and
    decimals rendered as the served document has them)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    document: dict[str, Any] = json.loads(OpenApiJsonRenderer().render(schema))
    return document
