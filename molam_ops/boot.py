"""Process entry points (manage.py, ASGI, WSGI) load the settings through here.

A missing or bad variable raises ``ImproperlyConfigured`` in ``settings.py``;
an operator starting the service should see one line naming the variable,
not a traceback through Django's import machinery.

Importing the settings touches nothing on disk; the directories they name are
made by :func:`prepare_directories`, here and in the kernel app's ``ready()``
(which every process, the Celery worker and beat included, goes through).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def load_settings() -> None:
    """Import the settings now; on a configuration error print
    ``error: <message>`` on stderr and exit with status 1."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "molam_ops.settings")
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018  (the first access imports settings.py)
        prepare_directories()
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.stderr.flush()
        raise SystemExit(1) from None


def prepare_directories() -> None:
    """Make the writable directories the settings name, if missing: var/ (the
    SQLite file, the beat schedule, development keys), the static root (the
    web process serves it), the audit jobs' result files (audit/jobs.py), the
    filesystem broker's folders and the Prometheus multi-process directory
    (prometheus_client writes there from the first metric on). Idempotent."""
    from django.conf import settings

    folders = [
        Path(settings.VAR_DIR),
        Path(settings.STATIC_ROOT),
        Path(settings.AUDIT_JOB_DIR),
    ]
    if settings.CELERY_BROKER_URL.startswith("filesystem:"):
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        folders += [Path(options[k]) for k in ("data_folder_in", "control_folder")]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    if settings.PROMETHEUS_MULTIPROC_DIR:
        try:
            Path(settings.PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ImproperlyConfigured(
                f"PROMETHEUS_MULTIPROC_DIR: cannot create"
                f" {settings.PROMETHEUS_MULTIPROC_DIR} ({exc.strerror})"
            ) from exc
