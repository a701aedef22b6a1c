"""The user's page in the admin carries its Molam ID subject: the link that
makes a session and a bearer token of one person the same principal."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import AbstractUser

from molam_ops.models import OperatorIdentity


class OperatorIdentityInline(admin.StackedInline[OperatorIdentity, AbstractUser]):
    model = OperatorIdentity
    can_delete = False
    extra = 1
    max_num = 1
    fields = ("molam_subject",)


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class OperatorUserAdmin(UserAdmin[AbstractUser]):
    inlines = (OperatorIdentityInline,)
    # mypy cannot bind the model type on access through the class (the
    # tuple holds field names here)
    list_display = (*UserAdmin.list_display, "molam_subject")  # type: ignore[misc]
    search_fields = (*UserAdmin.search_fields, "molam_identity__molam_subject")
    list_select_related = ("molam_identity",)

    @admin.display(description="Molam ID subject")
    def molam_subject(self, obj: object) -> str:
        identity = getattr(obj, "molam_identity", None)
        return identity.molam_subject if identity else "—"
