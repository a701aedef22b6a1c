"""The snapshot's payout-class aggregate is index-backed on PostgreSQL: the
partial index of payouts migration 0006 holds the very bucket expression
``class_rows()`` emits, so the GROUP BY reads the index alone (at 1M pending
payouts 15 s become 0.35 s, benchmarks/README.md). If the expression or
``BUCKETS_PER_OCTAVE`` changes without the index, this fails."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from plans.planner.snapshot import class_rows, read_snapshot
from tests.factories import BankProfileFactory, PayoutFactory, TreasuryAccountFactory

pytestmark = pytest.mark.django_db


@pytest.mark.postgres
def test_the_class_aggregate_is_an_index_only_scan() -> None:
    bank = BankProfileFactory()
    for amount in ("10.00", "10.50", "1000.00"):
        PayoutFactory(bank_profile=bank, amount=Decimal(amount))
    PayoutFactory(bank_profile=bank, disputed=True)
    sql, params = class_rows().query.sql_with_params()
    with connection.cursor() as cur:
        # a tiny table would be read whole, or through whichever index its
        # statistics of the moment favour (other tests write payouts too);
        # what matters is that this index can answer the query alone, which
        # a mismatched expression would not
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("SET LOCAL enable_bitmapscan = off")
        cur.execute("SET LOCAL enable_indexscan = off")
        cur.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cur.fetchall())
    assert "Index Only Scan using payout_pending_class" in plan, plan
    classes = read_snapshot("routing_optimization").payout_classes
    assert sorted(c.count for c in classes) == [1, 2]  # the disputed one left out


def test_a_disputed_payout_is_no_forecast_outflow() -> None:
    bank = BankProfileFactory()
    TreasuryAccountFactory(bank_profile=bank, currency="XOF")
    PayoutFactory(bank_profile=bank, amount=Decimal("700.00"))
    PayoutFactory(bank_profile=bank, amount=Decimal("5000.00"), disputed=True)
    (account,) = read_snapshot("float_rebalance").accounts
    assert account.forecast_outflow == Decimal("700.00")
