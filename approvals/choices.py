from django.db import models
from django.utils.translation import pgettext_lazy


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("approval status", "pending")
    # quorum reached; waiting for its token to be used
    APPROVED = "approved", pgettext_lazy("approval status", "approved")
    EXECUTED = "executed", pgettext_lazy("approval status", "executed")
    DECLINED = "declined", pgettext_lazy("approval status", "declined")
    EXPIRED = "expired", pgettext_lazy("approval status", "expired")
    # quorum reached but the action was refused on re-check
    FAILED = "failed", pgettext_lazy("approval status", "failed")
    # what it guards was cancelled (a cancelled plan)
    CANCELLED = "cancelled", pgettext_lazy("approval status", "cancelled")


class ApprovalMode(models.TextChoices):
    EXECUTE = "execute"  # the action runs at quorum (freeze)
    TOKEN = "token"  # noqa: S105 - quorum issues a single-use token (plans)


class Decision(models.TextChoices):
    APPROVE = "approve"
    DECLINE = "decline"
