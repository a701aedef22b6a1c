"""ops_actions_log: indexes in the list's keyset order, and on PostgreSQL the
table partitioned by ranges of seq (audit/partitions.py), rows kept.

Reversible: backwards makes the one plain table again and copies the rows
back. Both directions rewrite the table under an ACCESS EXCLUSIVE lock, in
the migration's transaction (about 10 s per million rows).
"""

from django.conf import settings
from django.db import migrations, models


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite keeps its one table
    from audit import partitions

    partitions.partition(
        schema_editor,
        apps.get_model("audit", "OpsActionLog"),
        partition_rows=settings.AUDIT_PARTITION_ROWS,
    )


def _action_id_index(schema_editor):
    """The name of the single-column index of ``action_id`` (0001's db_index)."""
    conn = schema_editor.connection
    with conn.cursor() as cur:
        found = conn.introspection.get_constraints(cur, "ops_actions_log")
    return [
        name
        for name, c in found.items()
        if c["index"] and not c["unique"] and c["columns"] == ["action_id"]
    ]


def action_index_forwards(apps, schema_editor):
    # by hand, not AlterField: SQLite would rebuild the table for it, and
    # lose the append-only triggers with the old one
    for name in _action_id_index(schema_editor):
        schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")
    schema_editor.execute(
        "CREATE INDEX audit_action_seq_idx ON ops_actions_log "
        "(action_id, created_at, seq)"
    )


def action_index_backwards(apps, schema_editor):
    schema_editor.execute("DROP INDEX audit_action_seq_idx")
    name = schema_editor._create_index_name("ops_actions_log", ["action_id"])
    schema_editor.execute(f"CREATE INDEX {name} ON ops_actions_log (action_id)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from audit import partitions

    partitions.unpartition(schema_editor, apps.get_model("audit", "OpsActionLog"))


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_merkle_checkpoints"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="opsactionlog",
            name="audit_created_idx",
        ),
        migrations.RemoveIndex(
            model_name="opsactionlog",
            name="audit_actor_idx",
        ),
        migrations.RemoveIndex(
            model_name="opsactionlog",
            name="audit_type_idx",
        ),
        migrations.RemoveIndex(
            model_name="opsactionlog",
            name="audit_status_idx",
        ),
        migrations.AddIndex(
            model_name="opsactionlog",
            index=models.Index(
                fields=["created_at", "seq"], name="audit_created_seq_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="opsactionlog",
            index=models.Index(
                fields=["actor_id", "created_at", "seq"], name="audit_actor_seq_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="opsactionlog",
            index=models.Index(
                fields=["action_type", "created_at", "seq"], name="audit_type_seq_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="opsactionlog",
            index=models.Index(
                fields=["status", "created_at", "seq"], name="audit_status_seq_idx"
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="opsactionlog",
                    name="action_id",
                    field=models.UUIDField(),
                ),
                migrations.AddIndex(
                    model_name="opsactionlog",
                    index=models.Index(
                        fields=["action_id", "created_at", "seq"],
                        name="audit_action_seq_idx",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(action_index_forwards, action_index_backwards)
            ],
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
