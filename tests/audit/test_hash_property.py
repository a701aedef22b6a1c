"""Whatever JSON a caller sends, the row that records it verifies: bodies
drawn by Hypothesis go through real requests into a refusal's audit row
(``target`` holds ``plan_params`` as sent), on either database (DESIGN §3)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.chain import row_hash
from audit.models import OpsActionLog
from audit.selectors import action_log_verify
from tests.helpers import post_action

pytestmark = pytest.mark.django_db

EDGE_NUMBERS = st.sampled_from(
    [
        2**53 - 1,
        2**53,
        -(2**53),
        2**63,
        -(2**63),
        10**16,
        1e16,
        1e308,
        -1e308,
        1.5e300,
        5e-324,
        -0.0,
        0.1,
        2.0**53,
        1e-7,
        123.0,
    ]
)
NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    EDGE_NUMBERS,
)
# what the parser accepts: no U+0000, no lone surrogate
TEXT = st.text(
    st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=12
)
JSON = st.recursive(
    st.none() | st.booleans() | NUMBERS | TEXT,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=JSON)
def test_any_recorded_body_verifies(outsider: Any, value: Any) -> None:
    resp = post_action(outsider, "generate-plan", {"plan_params": value})
    assert resp.status_code == 403, resp.content
    row = OpsActionLog.objects.order_by("-seq").first()
    assert row is not None and row.actor_id == "mallory"
    assert row_hash(row) == row.hash
    report = action_log_verify()
    assert report.valid, report.broken
