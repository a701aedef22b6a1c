"""The container's HEALTHCHECK: exit 0 when ``/healthz`` answers 200.

The slim image has no curl. The Host header is ``localhost`` so the check
passes Django's ALLOWED_HOSTS whatever public host name production sets
(keep ``localhost`` in ALLOWED_HOSTS).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("PORT", "8084")
    path = sys.argv[1] if len(sys.argv) > 1 else "/healthz"
    # a fixed http URL on loopback, so S310 (file:/custom schemes) cannot apply
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Host": "localhost"}
    )
    try:
        with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError):
        return 1


if __name__ == "__main__":
    sys.exit(main())
