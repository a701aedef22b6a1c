# The planner snapshot's payout classes (plans.planner.snapshot.class_rows),
# index-backed.

from collections.abc import Callable
from typing import Any

from django.db import migrations

# PostgreSQL only, like 0005: the pending, non-disputed payouts by bank,
# currency and amount bucket, the bucket's expression stored in the index and
# the amount included, so the GROUP BY is an index-only scan that never
# computes a numeric LOG per row. It must stay the expression class_rows()
# emits (FLOOR(LOG(2, amount) * BUCKETS_PER_OCTAVE)) or PostgreSQL ignores it.
# At 1M pending payouts: 15.8 s before, 0.35 s after (benchmarks/README.md,
# "Planner end to end"). SQLite's payout tables stay small.
CREATE = [
    "CREATE INDEX IF NOT EXISTS payout_pending_class ON payouts "
    "(bank_profile_id, currency, (FLOOR(LOG(2, amount) * 4))) INCLUDE (amount) "
    "WHERE status = 'pending' AND NOT disputed",
]
DROP = ["DROP INDEX IF EXISTS payout_pending_class"]


def run(statements: list[str]) -> Callable[[Any, Any], None]:
    def apply(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("payouts", "0005_kpi_summary_indexes"),
    ]

    operations = [migrations.RunPython(run(CREATE), run(DROP))]
