from django.db import migrations


def forwards(apps, schema_editor):
    from audit import triggers

    triggers.install(schema_editor.connection, ["ops_actions_log"])


def backwards(apps, schema_editor):
    from audit import triggers

    triggers.drop(schema_editor.connection, ["ops_actions_log"])


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
