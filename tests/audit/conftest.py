"""Fixtures of the audit tests."""

from __future__ import annotations

import pytest

from audit.models import OpsActionLog
from tests.audit.seed import seed_five_rows


@pytest.fixture
def seeded(db: None) -> list[OpsActionLog]:
    """Five audit rows, one an hour from T0 (tests/audit/seed.py)."""
    return seed_five_rows()
