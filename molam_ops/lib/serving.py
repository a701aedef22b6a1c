"""How uvicorn parses HTTP for this app, alone (``scripts/run_local.py``) or as
gunicorn's worker (``gunicorn.conf.py``): with h11, whose request head (the
request line and every header) may not grow past ``HTTP_MAX_HEAD_BYTES``.

uvicorn's default (``http="auto"``) picks httptools when it is installed, and
httptools buffers a head of any size: a 1 MB Authorization header was read in
full before the app could refuse it. h11 answers 400 once the buffered head
passes the bound, without reading the rest. Standard library only, like
:mod:`molam_ops.lib.addresses`: it runs before Django is configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

HTTP_IMPLEMENTATION = "h11"
# h11's own default: room for a token, cookies and a long URL
DEFAULT_MAX_HEAD_BYTES = 16_384


def max_head_bytes(environ: Mapping[str, str]) -> int:
    """``HTTP_MAX_HEAD_BYTES``; a one-line ``ValueError`` naming it if bad."""
    raw = environ.get("HTTP_MAX_HEAD_BYTES", "").strip()
    if not raw:
        return DEFAULT_MAX_HEAD_BYTES
    try:
        value = int(raw)
    except ValueError:
        value = 0
    # below 4 kB a browser's ordinary head (cookies, a token) would not fit
    if not 4096 <= value <= 1_048_576:
        raise ValueError("HTTP_MAX_HEAD_BYTES must be from 4096 to 1048576")
    return value


def uvicorn_options(environ: Mapping[str, str]) -> dict[str, Any]:
    """The ``uvicorn.Config`` settings that bound the request head."""
    return {
        "http": HTTP_IMPLEMENTATION,
        "h11_max_incomplete_event_size": max_head_bytes(environ),
    }


def uvicorn_argv(environ: Mapping[str, str]) -> list[str]:
    """The same, as uvicorn's command-line options."""
    options = uvicorn_options(environ)
    return [
        "--http",
        options["http"],
        "--h11-max-incomplete-event-size",
        str(options["h11_max_incomplete_event_size"]),
    ]
