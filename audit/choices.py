from django.db import models


class ActionStatus(models.TextChoices):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXECUTED = "executed"
    FAILED = "failed"


class JobKind(models.TextChoices):
    VERIFY = "verify"
    EXPORT = "export"


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
