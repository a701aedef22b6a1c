"""The live service for the tests of the ``clients/`` workspace.

``python -m tests.clients_server`` starts the same server as the browser tests
(uvicorn on a free port, its own SQLite database migrated and seeded with the
demo data, tasks inline), prints one JSON line::

    {"url": "http://127.0.0.1:PORT",
     "tokens": {"alice": "<jwt>", "bruno": "<jwt>", ...}}

with a token for each demo operator (their roles as seeded), then serves until
its standard input closes or it is terminated. The npm test runners start it
in their global set-up, so the SDK and the widgets are tested against the real
API, not a mock.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "molam_ops.settings")
os.environ.setdefault("DEBUG", "1")


def main() -> None:
    import django

    django.setup()
    from molam_ops.demo import DEMO_OPERATORS
    from molam_ops.tokens import mint
    from tests.e2e.server import live_server

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def wait_for_stdin_eof() -> None:
        sys.stdin.read()
        stop.set()

    with tempfile.TemporaryDirectory(prefix="molam-clients-") as tmp:
        extra = {"CORS_ALLOWED_ORIGINS": os.environ.get("CORS_ALLOWED_ORIGINS", "")}
        with live_server(Path(tmp), **extra) as server:
            tokens = {
                name: mint(sub=name, roles=roles)
                for name, roles in DEMO_OPERATORS.items()
            }
            # the one line the npm test runners read
            sys.stdout.write(json.dumps({"url": server.url, "tokens": tokens}) + "\n")
            sys.stdout.flush()
            threading.Thread(target=wait_for_stdin_eof, daemon=True).start()
            stop.wait()


if __name__ == "__main__":
    main()
