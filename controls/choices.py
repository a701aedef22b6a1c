from django.db import models
from django.utils.translation import gettext_lazy as _


class ActiveFilter(models.TextChoices):
    """``GET /api/ops/controls?active=``: which controls a list shows."""

    ACTIVE = "true", _("active controls only (the default)")
    INACTIVE = "false", _("inactive controls only (expired or switched off)")
    ALL = "all", _("every control, active or not: the history")
