"""``GET /metrics``.

One process (no ``PROMETHEUS_MULTIPROC_DIR``): the default registry, where the
metrics live and where the apps' ``ready()`` registered their database-computed
collectors.

Several processes: the default registry only knows the share of the process
that happens to answer, so the page is built from every process's files
(counters and histograms summed) plus the collectors named by
``METRICS_SCRAPE_COLLECTORS``, run once here: they read the database, which is
the same truth in every process, so exporting them per process (or summing
them) would be wrong. django-prometheus's own view handles the files but not
those collectors.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.registry import CollectorRegistry

from molam_ops.metrics import (
    export_known_labels,
    multiprocess_dir,
    multiprocess_registry,
)


@functools.cache
def _multiprocess_registry() -> CollectorRegistry:
    registry = multiprocess_registry()
    for path in settings.METRICS_SCRAPE_COLLECTORS:
        import_string(path)(registry)  # install(registry), e.g. controls.metrics
    return registry


def scrape_registry() -> CollectorRegistry:
    """The registry a scrape of this process must read."""
    return _multiprocess_registry() if multiprocess_dir() else REGISTRY


def metrics(request: HttpRequest) -> HttpResponse:
    export_known_labels()
    return HttpResponse(
        generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST
    )
