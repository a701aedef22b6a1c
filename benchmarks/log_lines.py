"""Cost of one structured log line: the console handler as
settings.LOGGING builds it (context filter, redaction, JSON), next to two
floors measured in the same run: the stdlib formatter (plain text lines),
and python-json-logger with no filter. Each figure is the best of ``--repeat``
runs of ``--lines`` records, in microseconds per line, with its ratio.

    .venv/bin/python -m benchmarks.log_lines
    .venv/bin/python -m benchmarks.log_lines --lines 50000 --repeat 7

Records are the runner's line (``action pause_bank executed`` with its extra
fields) and, as a second case, a line carrying a bearer token to scrub.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
import timeit
from collections.abc import Callable

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "molam_ops.settings")
os.environ.setdefault("TESTING", "1")  # development defaults: no secrets needed

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"  # noqa: S105 - a made-up token, to be scrubbed


def _record(msg: str, args: tuple[object, ...]) -> logging.LogRecord:
    record = logging.LogRecord(
        "molam_ops.actions", logging.INFO, __file__, 1, msg, args, None
    )
    record.outcome, record.duration_ms = "executed", 3.21
    return record


def _handler(kind: str) -> logging.Handler:
    from pythonjsonlogger.json import JsonFormatter as BareJson

    from molam_ops.logs import ContextFilter, JsonFormatter, RedactFilter

    handler = logging.StreamHandler(io.StringIO())
    if kind == "ours":
        handler.addFilter(ContextFilter())
        handler.addFilter(RedactFilter())
        handler.setFormatter(JsonFormatter())
    elif kind == "bare-json":
        handler.setFormatter(BareJson("%(levelname)s %(name)s %(message)s"))
    else:
        fmt = "%(asctime)s %(levelname)s %(name)s %(message)s"
        handler.setFormatter(logging.Formatter(fmt))
    return handler


def _per_line(
    handler: logging.Handler,
    make: Callable[[], logging.LogRecord],
    lines: int,
    repeat: int,
) -> float:
    best = min(
        timeit.repeat(lambda: handler.handle(make()), number=lines, repeat=repeat)
    )
    return best / lines * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import django

    django.setup()
    cases = {
        "runner line": lambda: _record("action %s %s", ("pause_bank", "executed")),
        "line with a token": lambda: _record("refused Bearer %s", (TOKEN,)),
    }
    for case, make in cases.items():
        floor = _per_line(_handler("stdlib"), make, args.lines, args.repeat)
        bare = _per_line(_handler("bare-json"), make, args.lines, args.repeat)
        ours = _per_line(_handler("ours"), make, args.lines, args.repeat)
        print(
            f"{case}: ours {ours:.1f} us/line | floor stdlib {floor:.1f} us "
            f"(x{ours / floor:.1f}) | bare python-json-logger {bare:.1f} us "
            f"(x{ours / bare:.1f})"
        )
    print("repeat: .venv/bin/python -m benchmarks.log_lines", *sys.argv[1:])


if __name__ == "__main__":
    main()
