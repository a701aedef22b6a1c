"""An OpenAPI postprocessing hook: the widgets' translation catalogue, a plain
Django view (``widgets.views.js_catalog``) that the SDK and the native
widgets load like the API."""

from __future__ import annotations

from typing import Any

from django.conf import settings


def document_catalog(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular's POSTPROCESSING_HOOKS signature."""
    result["components"]["schemas"]["WidgetCatalog"] = {
        "type": "object",
        "description": "Django's JSON catalogue (JSONCatalog).",
        "required": ["catalog", "formats", "plural"],
        "properties": {
            "catalog": {
                "type": "object",
                "description": "Message id → its translation (a list for plurals).",
                "additionalProperties": {
                    "oneOf": [
                        {"type": "string"},
                        {"type": "array", "items": {"type": "string"}},
                    ]
                },
            },
            "formats": {
                "type": "object",
                "additionalProperties": {
                    "oneOf": [
                        {"type": "string"},
                        {"type": "integer"},
                        {"type": "array", "items": {"type": "string"}},
                    ]
                },
            },
            "plural": {"type": "string", "nullable": True},
        },
    }
    result["paths"]["/widgets/i18n/{lang}.json"] = {
        "get": {
            "operationId": "widgets_i18n_catalog",
            "summary": "The widgets' strings in one UI language.",
            "tags": ["widgets"],
            "security": [{}],
            "parameters": [
                {
                    "name": "lang",
                    "in": "path",
                    "required": True,
                    "schema": {
                        "type": "string",
                        "enum": [code for code, _label in settings.LANGUAGES],
                    },
                }
            ],
            "responses": {
                "200": {
                    "description": "Cached for an hour.",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/WidgetCatalog"}
                        }
                    },
                },
                "404": {"description": "Not a UI language (an HTML page)."},
            },
        }
    }
    return result
