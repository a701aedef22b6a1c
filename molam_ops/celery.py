"""The Celery app: worker tasks for SIRA calls, plan steps and the outbox relay."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "molam_ops.settings")

app = Celery("molam_ops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
