"""Approvals bound by a keyed MAC instead of an unkeyed hash, tokens derived
instead of stored, one pending request per action and target, and facts to
render the summary in the reader's language."""

import hashlib
import json

import rfc8785
from django.core.serializers.json import DjangoJSONEncoder
from django.db import migrations, models

OPEN = ("pending", "approved")


def _target_key(action_type, payload):
    from molam_ops.actions.registry import get_action

    try:
        target = get_action(action_type).target_of(payload)
    except KeyError:
        return None
    target = json.loads(json.dumps(target, cls=DjangoJSONEncoder, sort_keys=True))
    return hashlib.sha256(rfc8785.dumps([action_type, target])).hexdigest()


def forwards(apps, schema_editor):
    """Existing requests keep working: the open ones are sealed with the
    configured key as they stand now, their signatures too; a second pending
    request for one target (allowed until now) keeps waiting under a key of
    its own."""
    from approvals import binding

    ApprovalRequest = apps.get_model("approvals", "ApprovalRequest")
    ApprovalSignature = apps.get_model("approvals", "ApprovalSignature")
    seen = set()
    for approval in ApprovalRequest.objects.order_by("created_at", "id"):
        old = dict(approval.summary or {})
        old.pop("action", None)
        approval.facts = {"target": old}
        key = _target_key(approval.action_type, approval.payload)
        if key is None or (approval.status == "pending" and key in seen):
            key = f"legacy:{approval.id}"[:64]
        if approval.status == "pending":
            seen.add(key)
        approval.target_key = key
        if approval.status in OPEN:
            binding.seal(approval)
        approval.save(
            update_fields=["facts", "target_key", "binding", "binding_key_id"]
        )
    for signature in ApprovalSignature.objects.filter(approval__status__in=OPEN):
        binding.seal_signature(signature)
        signature.save(update_fields=["mac", "key_id"])


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="approvalrequest",
            name="target_key",
            field=models.CharField(
                default="",
                help_text="SHA-256 of the action type and its target",
                max_length=64,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="approvalrequest",
            name="binding",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="approvalrequest",
            name="binding_key_id",
            field=models.CharField(default="", max_length=32),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="approvalrequest",
            name="facts",
            field=models.JSONField(
                default=dict, help_text="what the summary sentence is rendered from"
            ),
        ),
        migrations.AddField(
            model_name="approvalsignature",
            name="mac",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="approvalsignature",
            name="key_id",
            field=models.CharField(default="", max_length=32),
            preserve_default=False,
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.RemoveField(model_name="approvalrequest", name="payload_hash"),
        migrations.RemoveField(model_name="approvalrequest", name="approval_token"),
        migrations.RemoveField(model_name="approvalrequest", name="summary"),
        migrations.AlterField(
            model_name="approvalrequest",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "pending"),
                    ("approved", "approved"),
                    ("executed", "executed"),
                    ("declined", "declined"),
                    ("expired", "expired"),
                    ("failed", "failed"),
                    ("cancelled", "cancelled"),
                ],
                default="pending",
                max_length=16,
            ),
        ),
        migrations.AddIndex(
            model_name="approvalrequest",
            index=models.Index(fields=["target_key"], name="approval_target"),
        ),
        migrations.AddConstraint(
            model_name="approvalrequest",
            constraint=models.UniqueConstraint(
                condition=models.Q(status="pending"),
                fields=("target_key",),
                name="one_pending_approval_per_target",
            ),
        ),
    ]
