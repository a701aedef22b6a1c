"""The payout dispatcher's per-payout check as a PL/pgSQL function (PostgreSQL).

The dispatcher asks before every send whether the payout may go (a freeze, its
bank's pause, a dispute since the claim). Sent as plain SQL, PostgreSQL plans
that query afresh every time — Django disables prepared statements, for
connection poolers — and planning costs more than running it. A PL/pgSQL
function keeps its queries' plans for the session, so the call costs little
more than a round trip, with or without a pooler. SQLite runs the same query
inline (controls/dispatch_gate.py); the gate's tests run on both.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION molam_dispatch_hold(
    freeze_key text, pause_key text, at timestamptz, payout uuid
) RETURNS text[] LANGUAGE plpgsql STABLE AS $$
DECLARE
    held text[];
BEGIN
    -- the controls in force that stop this payout (active_q at "at")
    held := ARRAY(
        SELECT key::text FROM treasury_controls
         WHERE key IN ('freeze_global', freeze_key, pause_key) AND enabled
           AND (expires_at IS NULL OR expires_at > at));
    -- still claimed by the dispatcher, and not disputed since the claim
    IF NOT EXISTS (
        SELECT 1 FROM payouts
         WHERE id = payout AND status = 'processing' AND NOT disputed
    ) THEN
        held := held || 'disputed_or_moved'::text;
    END IF;
    RETURN held;
END
$$;
"""
DROP = "DROP FUNCTION IF EXISTS molam_dispatch_hold(text, text, timestamptz, uuid);"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("controls", "0002_modeltranslation"),
        ("payouts", "0003_dispatcher_breaker_simulated_bank"),
    ]

    operations = [migrations.RunPython(create, drop)]
