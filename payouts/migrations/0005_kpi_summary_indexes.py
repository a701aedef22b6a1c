# Partial indexes for the KPI summary (issue 5, widgets.selectors.payout_figures).

from collections.abc import Callable
from typing import Any

from django.db import migrations

# PostgreSQL only: INCLUDE makes both scans index-only, so the summary reads
# ~20k open and ~15k recent index entries at 1M payouts, never the table
# (benchmarks/kpi_summary.py: uncached p50 67 ms before, 13.5 ms after).
# They are created by SQL rather than declared in Payout.Meta.indexes because
# SQLite has no INCLUDE and its payout tables stay small; the model state is
# therefore unchanged and makemigrations proposes nothing.
OPEN = "('pending', 'processing', 'failed')"
DONE = "('sent', 'settled')"
CREATE = [
    # the open statuses: a few % of a mature table, whatever its age
    f"CREATE INDEX IF NOT EXISTS payout_open_kpi ON payouts (status, currency) "
    f"WHERE status IN {OPEN}",
    # sent/settled by last change: the 24 h window is one range at its end
    f"CREATE INDEX IF NOT EXISTS payout_done_kpi ON payouts "
    f"(updated_at) INCLUDE (status, currency, amount) WHERE status IN {DONE}",
]
DROP = ["DROP INDEX IF EXISTS payout_open_kpi", "DROP INDEX IF EXISTS payout_done_kpi"]


def run(statements: list[str]) -> Callable[[Any, Any], None]:
    def apply(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("payouts", "0004_modeltranslation"),
    ]

    operations = [migrations.RunPython(run(CREATE), run(DROP))]
