"""Process entry points (manage.py, ASGI, WSGI) load the settings through here.

A missing or bad variable raises ``ImproperlyConfigured`` in ``settings.py``;
an operator starting the service should see one line naming the variable,
not a traceback through Django's import machinery.
"""

from __future__ import annotations

import os
import sys

from django.core.exceptions import ImproperlyConfigured


def load_settings() -> None:
    """Import the settings now; on a configuration error print
    ``error: <message>`` on stderr and exit with status 1."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "molam_ops.settings")
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018  (the first access imports settings.py)
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.stderr.flush()
        raise SystemExit(1) from None
