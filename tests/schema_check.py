"""Every /api response the suite sees is checked against the OpenAPI document.

The document is generated once per test process (it takes seconds) by the
code that serves ``/api/schema/``. :func:`install` wraps Django's test client
(DRF's ``APIClient`` goes through the same ``Client.request``), so each
answer to an ``/api/`` request is validated by openapi-core for its path,
method and status: an undocumented path or status, a missing or mistyped
field, a value outside an enum (an error ``code`` the document does not list)
or a missing documented header fails the test that made the request, with
the reason and the body.

Only responses are validated, never requests: a test that sends a broken
request on purpose still gets its answer checked.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from django.http import HttpResponse, StreamingHttpResponse
from django.test.client import Client
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

# Not described by the OpenAPI document on purpose: the documents themselves
# and the Swagger UI.
UNDOCUMENTED = ("/api/schema/", "/api/docs/")
JSON_TYPES = {"application/json"}
# what the middleware answers before a URL is resolved (molam_ops.hardening,
# molam_ops.input_bounds, the rate limit, an outage), on any /api path
BEFORE_ROUTING = {400, 403, 413, 429, 431, 503}

_state = {"enabled": 0, "checked": 0}


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The document ``/api/schema/?format=json`` serves, as plain JSON."""
    from molam_ops.schema_views import openapi_dict

    return openapi_dict()


@functools.cache
def _openapi() -> OpenAPI:
    return OpenAPI.from_dict(openapi_document())


@functools.cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    """Each documented path as a regex, literal paths first (``flags/{name}``
    must not take what another template spells out)."""
    paths = sorted(openapi_document()["paths"], key=lambda p: (p.count("{"), p))
    return [
        (re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(p)) + "$"), p)
        for p in paths
    ]


def operation_of(method: str, path: str) -> tuple[str | None, dict[str, Any] | None]:
    """The documented path template and operation that ``method path`` hits
    (the template alone when the method is not documented there)."""
    for pattern, template in _templates():
        if pattern.match(path):
            return template, openapi_document()["paths"][template].get(method.lower())
    return None, None


@functools.cache
def _error_validator() -> Any:
    """The §6 error body's schema, for answers to what the document does not
    list: an unknown /api path (404) or method (405)."""
    document = openapi_document()
    resource = Resource.from_contents(document, default_specification=DRAFT4)
    registry = Registry().with_resource("urn:openapi", resource)
    return OAS30Validator(
        {"$ref": "urn:openapi#/components/schemas/Error"}, registry=registry
    )


def _check_undocumented(
    where: str, response: HttpResponse | StreamingHttpResponse, known: str | None
) -> None:
    """Only a 404 (no such path) or 405 (no such method) may answer what the
    document does not describe, or a refusal made before routing, and with
    the §6 error body."""
    # on a known path, the credentials are checked before the method
    allowed = BEFORE_ROUTING | ({401, 405} if known else {404})
    if response.status_code not in allowed or _media_type(response) not in JSON_TYPES:
        what = (
            f"the method is not documented on {known}"
            if known
            else ("no such path in the OpenAPI document")
        )
        raise AssertionError(f"{where}: {what}\n{_short(response)}")
    errors = list(_error_validator().iter_errors(json.loads(response.content)))
    if errors:
        raise AssertionError(
            f"{where}: not the documented error body: "
            + "; ".join(e.message for e in errors)
        )


def _media_type(response: HttpResponse | StreamingHttpResponse) -> str:
    return response.get("Content-Type", "").split(";")[0].strip()


def check_response(
    method: str, path: str, query: str, response: HttpResponse | StreamingHttpResponse
) -> None:
    """Raise AssertionError when ``response`` is not what the document says
    ``method path`` answers with its status."""
    if _media_type(response) == "text/html":
        return  # the browsable API: the same answer rendered for a person
    template, operation = operation_of(method, path)
    status = str(response.status_code)
    where = f"{method} {path} → {status}"
    if operation is None:
        _check_undocumented(where, response, template)
        return
    documented = operation["responses"].get(status) or operation["responses"].get(
        "default"
    )
    if documented is None:
        raise AssertionError(
            f"{where}: status not documented for {method} {template} "
            f"(documented: {sorted(operation['responses'])})\n{_short(response)}"
        )
    media = _media_type(response)
    content = documented.get("content") or {}
    if content and media not in content:
        raise AssertionError(
            f"{where}: Content-Type {media!r} not documented ({sorted(content)})"
        )
    if isinstance(response, StreamingHttpResponse) or media not in JSON_TYPES:
        return  # a stream or a file: its status and type are what is checked
    request = MockRequest(
        "http://testserver",
        method,
        path,
        path_pattern=template,
        args=dict(parse_qsl(query, keep_blank_values=True)),
    )
    result = _openapi().unmarshal_response(
        request,
        MockResponse(
            response.content,
            status_code=response.status_code,
            headers=dict(response.headers.items()),
            content_type=media,
        ),
    )
    if result.errors:
        raise AssertionError(
            f"{where}: the response does not match the OpenAPI document:\n"
            + "\n".join(_reasons(e) for e in result.errors)
            + f"\n{_short(response)}"
        )


def _reasons(error: BaseException) -> str:
    """openapi-core's error, with the schema errors it wraps spelled out."""
    lines = [f"  {type(error).__name__}: {error}"]
    cause = error.__cause__
    for schema_error in getattr(cause, "schema_errors", None) or []:
        at = "/".join(str(p) for p in schema_error.absolute_path) or "(body)"
        lines.append(f"    at {at}: {schema_error.message[:500]}")
    if cause is not None and not getattr(cause, "schema_errors", None):
        lines.append(f"    {type(cause).__name__}: {str(cause)[:500]}")
    return "\n".join(lines)


def _short(response: HttpResponse | StreamingHttpResponse) -> str:
    if isinstance(response, StreamingHttpResponse):
        return "(streamed body)"
    try:
        return json.dumps(json.loads(response.content), indent=1)[:3000]
    except ValueError:
        return response.content[:1000].decode("utf-8", "replace")


def warm() -> None:
    """Build the document and its validators (seconds, once per process)."""
    _openapi()
    _templates()
    _error_validator()


def checked() -> int:
    """How many answers this process has checked."""
    return _state["checked"]


def install() -> Callable[[], None]:
    """Wrap ``Client.request``; returns what undoes it."""
    original = Client.request

    @functools.wraps(original)
    def request(self: Client, **kwargs: Any) -> Any:
        response = original(self, **kwargs)
        path = kwargs.get("PATH_INFO", "")
        if (
            _state["enabled"] > 0
            and path.startswith("/api/")
            and not path.startswith(UNDOCUMENTED)
        ):
            _state["checked"] += 1
            check_response(
                kwargs.get("REQUEST_METHOD", "GET"),
                path,
                kwargs.get("QUERY_STRING", ""),
                response,
            )
        return response

    Client.request = request  # type: ignore[method-assign]
    _state["enabled"] += 1

    def uninstall() -> None:
        Client.request = original  # type: ignore[method-assign]
        _state["enabled"] -= 1

    return uninstall
