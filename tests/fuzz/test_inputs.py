"""Property-based fuzzing of what a client controls, beyond the schema
(tests/fuzz/test_api_schema.py sends what the OpenAPI document describes):
JSON bodies of any shape (deep, wide, any Unicode including U+0000 and lone
surrogates, huge and odd numbers) to every ops action, any text in path
parameters and query strings of every GET endpoint, any header values.

Nothing may answer 5xx (the test client re-raises a view's exception), and
every 4xx under /api is the DESIGN §6 body. Derandomized with a fixed budget
(``FUZZ_INPUT_EXAMPLES``): CI draws the same examples every run.
"""

from __future__ import annotations

import functools
import json
import os
import re
import uuid
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from hypothesis import HealthCheck, given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from molam_ops.actions.registry import all_actions
from molam_ops.tokens import mint
from tests.helpers import SNAKE

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_INPUT_EXAMPLES", "150"))
FUZZ = fuzz_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

PATH_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


# --- JSON text --------------------------------------------------------------

# any code point, surrogates and U+0000 included
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
ODD_NUMBERS = st.sampled_from(
    [
        "1e99999",
        "-1e-99999",
        "9" * 5000,  # past Python's int-to-text digit limit
        "1" + "0" * 400,
        "0.000000000000000000000000001",
        "-0",
        "1E+2",
        "NaN",
        "Infinity",
        "-Infinity",
    ]
)
ODD_STRINGS = st.sampled_from(
    [
        "\u0661\u0660\u0660",  # Arabic-Indic 100
        "\uff11\uff10\uff10",  # fullwidth 100
        "1e99999",
        "NaN",
        "100.001",
        " 100 ",
        "0x10",
        "00000000-0000-0000-0000-000000000000",
        "\x00",
        "\ud800",
        "global",
        "XOF",
    ]
)


def _string(text: str) -> str:
    # ensure_ascii: a lone surrogate goes out as its \\u escape, as a client
    # that means harm would write it
    return json.dumps(text)


SCALARS = st.one_of(
    st.sampled_from(["null", "true", "false"]),
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(json.dumps),
    ODD_NUMBERS,
    ANY_TEXT.map(_string),
    ODD_STRINGS.map(_string),
)


def _object(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{_string(k)}:{v}" for k, v in pairs) + "}"


JSON_TEXT = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6).map(lambda xs: "[" + ",".join(xs) + "]"),
        st.lists(st.tuples(ANY_TEXT, inner), max_size=6).map(_object),
    ),
    max_leaves=25,
)
DEEP_TEXT = st.tuples(
    st.integers(min_value=20, max_value=5000), st.sampled_from(["[", '{"a":'])
).map(lambda t: t[1] * t[0] + "1" + ("]" if t[1] == "[" else "}") * t[0])
BROKEN_TEXT = st.one_of(
    st.integers(min_value=1, max_value=100_000).map(lambda n: "[" * n),
    st.text(max_size=60),
)


@st.composite
def action_bodies(draw: Any) -> tuple[str, str]:
    """An action's URL and a body: mostly an object over the action's own
    field names (so the serializers see the values), sometimes anything."""
    spec = draw(st.sampled_from([spec for spec in all_actions() if spec.http]))
    url = "/api/ops/" + PATH_PARAM.sub(str(uuid.uuid4()), spec.url)
    names = sorted(spec.input().fields)
    kind = draw(st.sampled_from(["fields", "fields", "fields", "any", "deep", "bad"]))
    if kind == "fields":
        keys = st.one_of(st.sampled_from(names), ANY_TEXT) if names else ANY_TEXT
        value = st.one_of(JSON_TEXT, DEEP_TEXT)
        body = _object(draw(st.lists(st.tuples(keys, value), max_size=len(names) + 2)))
    elif kind == "any":
        body = draw(JSON_TEXT)
    elif kind == "deep":
        body = draw(DEEP_TEXT)
    else:
        body = draw(BROKEN_TEXT)
    return url, body


# --- paths, queries, headers ------------------------------------------------


def _quoted(text: str) -> str:
    return quote(text, safe="", errors="surrogatepass")


@functools.cache
def _get_paths() -> list[str]:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {mint(sub='fuzz', roles=['ops'])}")
    schema = yaml.safe_load(client.get("/api/schema/").content)
    # the API's own paths (the document also lists the widgets' catalogue)
    return sorted(
        p
        for p, methods in schema["paths"].items()
        if "get" in methods and p.startswith("/api/")
    )


HEADER_NAMES = [
    "HTTP_IDEMPOTENCY_KEY",
    "HTTP_X_REQUEST_ID",
    "HTTP_USER_AGENT",
    "HTTP_ACCEPT_LANGUAGE",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_COOKIE",
]
HEADER_TEXT = st.one_of(
    # a server hands any byte on as the latin-1 character it stands for
    st.text(st.characters(max_codepoint=255), max_size=60),
    st.sampled_from(["*/*", "application/json", "text/html", "fr", "x" * 9000]),
)
# what an API client asks for; text/html is the browsable API's, for people
ACCEPT = st.sampled_from(
    ["*/*", "application/json", "application/xml", "text/plain", "", "a/b;q=x"]
)
HEADERS = st.builds(
    lambda some, accept: {**some, "HTTP_ACCEPT": accept},
    st.dictionaries(st.sampled_from(HEADER_NAMES), HEADER_TEXT, max_size=4),
    ACCEPT,
)
QUERIES = st.lists(st.tuples(ANY_TEXT, ANY_TEXT | ODD_STRINGS), max_size=4).map(
    lambda pairs: "&".join(f"{_quoted(k)}={_quoted(v)}" for k, v in pairs)
)


def assert_no_server_error(resp: Any, path: str) -> None:
    assert resp.status_code < 500, (path, resp.status_code, resp.content[:500])
    if 400 <= resp.status_code < 500 and path.startswith("/api/"):
        assert resp["Content-Type"].startswith("application/json"), (
            path,
            resp,
            resp.content[:3000],
        )
        body = resp.json()
        assert body["ok"] is False, body
        error = body["error"]
        assert set(error) == {"code", "message", "fields"}, body
        assert SNAKE.match(error["code"]), body
        assert isinstance(error["message"], str), body
        assert error["message"], body
        assert isinstance(error["fields"], dict), body


# --- the properties -----------------------------------------------------------


# mostly JSON; other charsets decode the UTF-8 bytes into anything
CONTENT_TYPES = st.sampled_from(
    ["application/json"] * 6
    + [
        "application/json; charset=utf-16",
        "application/json; charset=latin-1",
        "application/json; charset=bz2_codec",
        "application/json; charset=nope",
        "text/plain",
    ]
)


@FUZZ
@given(case=action_bodies(), headers=HEADERS, content_type=CONTENT_TYPES)
def test_any_body_to_any_action_is_never_a_server_error(
    pay_admin: APIClient,
    case: tuple[str, str],
    headers: dict[str, str],
    content_type: str,
) -> None:
    url, body = case
    extra = {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex, **headers}
    # bytes: the client would encode a str with the charset named
    raw = body.encode("utf-8", errors="surrogatepass")
    resp = pay_admin.post(url, raw, content_type=content_type, **extra)
    assert_no_server_error(resp, url)


@FUZZ
@given(data=st.data())
def test_any_path_and_query_of_any_get_endpoint_is_never_a_server_error(
    pay_admin: APIClient, data: Any
) -> None:
    template = data.draw(st.sampled_from(_get_paths()))
    path = re.sub(
        r"\{[^}]+\}",
        lambda _m: _quoted(data.draw(ANY_TEXT | ODD_STRINGS, label="param")),
        template,
    )
    query = data.draw(QUERIES, label="query")
    headers = data.draw(HEADERS, label="headers")
    resp = pay_admin.get(f"{path}?{query}" if query else path, **headers)
    assert_no_server_error(resp, path)


@FUZZ
@given(
    authorization=st.one_of(
        HEADER_TEXT,
        HEADER_TEXT.map(lambda t: f"Bearer {t}"),
        st.integers(min_value=0, max_value=20_000).map(lambda n: "Bearer " + "a" * n),
    ),
    path=st.sampled_from(["/api/ops/banks", "/api/ops/flags", "/api/ops/pause-bank"]),
)
def test_any_authorization_header_is_never_a_server_error(
    authorization: str, path: str
) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=authorization)
    resp = client.post(path, {}, format="json")
    assert_no_server_error(resp, path)
