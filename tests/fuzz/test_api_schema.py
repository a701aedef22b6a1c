"""API fuzzing (issue 6): every operation of /api/schema/, as pay_admin.

Schemathesis reads the OpenAPI document the app serves and sends generated
requests (valid and invalid) to the app in-process (WSGI): no answer may be a
5xx, carry a status code or content type the document does not list, or a body
that violates its documented schema. ``FUZZ_EXAMPLES`` bounds the examples per
operation (CI runs it on PostgreSQL and SQLite through ``make test``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from molam_ops.tokens import mint
from molam_ops.wsgi import application
from tests.factories import BankProfileFactory

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# Loaded once at collection: generating the document needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def _keep_test_connection() -> Iterator[None]:
    """The raw WSGI app closes the database connection after each request when
    it is not in autocommit, i.e. inside the test's transaction (PostgreSQL).
    Django's own test client avoids that the same way: by not listening."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def auth_headers(db: None, _keep_test_connection: None) -> dict[str, str]:
    # a bank, so list endpoints have a row to render through their serializers
    BankProfileFactory()
    return {"Authorization": f"Bearer {mint(sub='fuzz-admin', roles=['pay_admin'])}"}


@schema.parametrize()
# the audit export streams asynchronously (for ASGI, as served); only this WSGI
# harness consumes it synchronously
@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume asynchronous")
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,  # no .hypothesis/ directory: every run starts fresh
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any, auth_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=auth_headers, checks=CHECKS)
