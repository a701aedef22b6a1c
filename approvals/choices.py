from django.db import models


class ApprovalStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"  # quorum reached; waiting for its token to be used
    EXECUTED = "executed"
    DECLINED = "declined"
    EXPIRED = "expired"
    FAILED = "failed"  # quorum reached but the action was refused on re-check


class ApprovalMode(models.TextChoices):
    EXECUTE = "execute"  # the action runs at quorum (freeze)
    TOKEN = "token"  # noqa: S105 - quorum issues a single-use token (plans)


class Decision(models.TextChoices):
    APPROVE = "approve"
    DECLINE = "decline"
