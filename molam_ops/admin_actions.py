"""Django admin actions that change state only through the ops-action runner
(STYLE rule 11), so they are audited, idempotent and approval-gated exactly as
the API is. The apps' ``admin.py`` modules build their actions from these.

- **Who.** The session user's principal: roles are the user's Django groups
  named ``pay_admin``, ``finance_ops``, ``ops`` (DESIGN §4). Being a Django
  superuser grants no ops role: a superuser outside those groups can browse
  the console, and every action it tries is refused (403, audited) like any
  caller without a role.
- **Idempotency.** The key is derived from the form submission: a SHA-256 of
  the form's CSRF token, the action and its payload (which names the object).
  Django masks the CSRF token afresh on every page it renders, so the same
  form submitted twice (double click, back button and resubmit) carries the
  same token and replays the first outcome, while a new page is a new intent.
- **Outcome.** Shown with messages: success, "waiting for signatures" (202),
  or the DESIGN §6 error message.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_stubs_ext import StrOrPromise

from molam_ops.actions import runner
from molam_ops.actions.runner import ActionResult
from molam_ops.api import request_meta
from molam_ops.errors import OpsError
from molam_ops.identity import KNOWN_ROLES, Principal, principal_from_user

CONFIRM_TEMPLATE = "admin/molam_ops/confirm_action.html"
_ModelT = TypeVar("_ModelT", bound=models.Model)


def admin_principal(request: HttpRequest) -> Principal:
    principal = principal_from_user(request.user)
    if principal is None:  # the admin site lets no anonymous user this far
        raise PermissionError("no session user")
    return principal


def submission_key(request: HttpRequest, action: str, payload: Any) -> str | None:
    """The idempotency key of one form submission (see the module docstring).

    Without a CSRF token in the form (only possible where CSRF is not
    enforced, e.g. a test client) there is no submission to recognise, and
    the action runs without a key.
    """
    token = request.POST.get("csrfmiddlewaretoken", "")
    if not token:
        return None
    text = json.dumps([token, action, payload], sort_keys=True, cls=DjangoJSONEncoder)
    return "admin:" + hashlib.sha256(text.encode()).hexdigest()


def run_action(
    request: HttpRequest, action: str, payload: dict[str, Any], *, subject: str
) -> ActionResult | None:
    """Run ``action`` as the session user and report the outcome as a message."""
    try:
        result = runner.run(
            action,
            admin_principal(request),
            payload,
            idempotency_key=submission_key(request, action, payload),
            meta=request_meta(request),
        )
    except OpsError as exc:
        _error(request, subject, exc.body()["error"], replayed=False)
        return None
    report(request, subject, result)
    return result


def report(request: HttpRequest, subject: str, result: ActionResult) -> None:
    body = result.body
    if not body.get("ok"):
        _error(request, subject, body["error"], replayed=result.replayed)
        return
    approval = body.get("approval") or {}
    values = {
        "subject": subject,
        "action": body["log"]["action_type"],
        "status": body["log"]["status"],
        "current": approval.get("current_approvals"),
        "required": approval.get("required_approvals"),
        "approval": approval.get("id"),
        "approval_status": approval.get("status"),
    }
    if result.status == 202:
        text = _(
            "%(subject)s: waiting for signatures (%(current)s of %(required)s) "
            "on approval request %(approval)s."
        )
        level = messages.WARNING
    elif approval:
        text = _(
            "%(subject)s: %(action)s %(status)s; the request is %(approval_status)s "
            "(%(current)s of %(required)s signatures)."
        )
        level = messages.SUCCESS
    else:
        text = _("%(subject)s: %(action)s %(status)s.")
        level = messages.SUCCESS
    messages.add_message(request, level, text % values + _replay_note(result.replayed))


def _error(
    request: HttpRequest, subject: str, error: dict[str, Any], *, replayed: bool
) -> None:
    fields = "; ".join(
        f"{name}: {' '.join(map(str, errs if isinstance(errs, list) else [errs]))}"
        for name, errs in (error.get("fields") or {}).items()
    )
    text = f"{subject}: {error['message']}" + (f" ({fields})" if fields else "")
    messages.error(request, text + _replay_note(replayed))


def _replay_note(replayed: bool) -> str:
    if not replayed:
        return ""
    return " " + _("(This form was already submitted; its first outcome is shown.)")


# --- confirmation pages -------------------------------------------------------


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )
    expires_at = forms.DateTimeField(
        label=gettext_lazy("Expires at (optional, UTC)"),
        required=False,
        help_text=gettext_lazy("YYYY-MM-DD HH:MM; empty: until lifted."),
    )


class CommentForm(forms.Form):
    comment = forms.CharField(
        label=gettext_lazy("Comment (optional)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )


def with_expiry(payload: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Add the form's optional ``expires_at`` to an action payload."""
    if data.get("expires_at"):
        return {**payload, "expires_at": data["expires_at"].isoformat()}
    return payload


def confirm_page(
    modeladmin: admin.ModelAdmin[Any],
    request: HttpRequest,
    *,
    title: str,
    intro: StrOrPromise,
    form: forms.Form,
    objects: Iterable[str],
    selected: Iterable[Any] = (),
    action_name: str = "",
    submit: str = "",
) -> TemplateResponse:
    """A confirmation page in the admin's look, posting back to itself."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "opts": modeladmin.model._meta,
        "form": form,
        "objects": list(objects),
        "selected": [str(pk) for pk in selected],
        "action_name": action_name,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "submit": submit or _("Yes, I am sure"),
        "media": modeladmin.media + form.media,
    }
    return TemplateResponse(request, CONFIRM_TEMPLATE, context)


def confirmed_action(
    *,
    action: str,
    description: StrOrPromise,
    form_class: type[forms.Form],
    payload: Callable[[Any, dict[str, Any]], dict[str, Any]],
    intro: StrOrPromise = "",
    name: str = "",
    subject: Callable[[Any], str] = str,
) -> Callable[[admin.ModelAdmin[Any], HttpRequest, Any], TemplateResponse | None]:
    """An admin action that first asks for a form (a reason, a comment) on a
    confirmation page, then runs ``action`` once per selected object."""

    def run_selected(
        modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: Any
    ) -> TemplateResponse | None:
        confirmed = request.POST.get("post") == "yes"
        form = form_class(request.POST if confirmed else None)
        if confirmed and form.is_valid():
            for obj in queryset:
                run_action(
                    request,
                    action,
                    payload(obj, form.cleaned_data),
                    subject=subject(obj),
                )
            return None
        return confirm_page(
            modeladmin,
            request,
            title=str(description),
            intro=intro or _("The action applies to:"),
            form=form,
            objects=[subject(o) for o in queryset],
            selected=[o.pk for o in queryset],
            action_name=request.POST.get("action", ""),
        )

    # attributes the admin (and our action list) read off the function
    run_selected.short_description = description  # type: ignore[attr-defined]
    run_selected.ops_action = action  # type: ignore[attr-defined]
    run_selected.__name__ = name or f"{action}_selected"
    return run_selected


def direct_action(
    *,
    action: str,
    description: StrOrPromise,
    payload: Callable[[Any], dict[str, Any] | None],
) -> Callable[[admin.ModelAdmin[Any], HttpRequest, Any], None]:
    """An admin action that runs ``action`` at once for each selected object
    (``payload`` returns None for an object it does not apply to)."""

    def run_selected(
        modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: Any
    ) -> None:
        for obj in queryset:
            body = payload(obj)
            if body is None:
                messages.warning(
                    request,
                    _("%(subject)s: not applicable, skipped.") % {"subject": obj},
                )
                continue
            run_action(request, action, body, subject=str(obj))

    # attributes the admin (and our action list) read off the function
    run_selected.short_description = description  # type: ignore[attr-defined]
    run_selected.ops_action = action  # type: ignore[attr-defined]
    run_selected.__name__ = f"{action}_selected"
    return run_selected


# --- read-mostly model admins -------------------------------------------------


def is_operator(request: HttpRequest) -> bool:
    """A staff user holding an ops role through its groups."""
    principal = principal_from_user(request.user)
    return principal is not None and bool(principal.roles & KNOWN_ROLES)


class ReadOnlyOpsAdmin(admin.ModelAdmin[_ModelT]):
    """Nothing is added, changed or deleted through forms; state changes only
    through actions that call the runner. Operators (staff in an ops group)
    may view without further Django permissions."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_operator(request) or super().has_view_permission(request, obj)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_operator(request) or super().has_module_permission(request)


class ReadOnlyInline(admin.TabularInline[_ModelT, Any]):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_operator(request) or super().has_view_permission(request, obj)
