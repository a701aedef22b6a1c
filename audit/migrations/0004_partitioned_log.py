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


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from audit import partitions

    partitions.unpartition(schema_editor, apps.get_model("audit", "OpsActionLog"))


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only_triggers"),
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
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
