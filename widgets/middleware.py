"""The UI and API language of a request: the JWT's ``lang`` claim,
then the operator's saved preference, then what ``LocaleMiddleware`` found
(the language cookie, then ``Accept-Language``).

It sits right after ``LocaleMiddleware``, before authentication: a bearer
token is verified here only to read its claim (DRF verifies it again and
answers 401 if it is bad; a bad token simply changes nothing here), and a
session user's preference is read once per session and kept in it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from rest_framework.exceptions import AuthenticationFailed

from molam_ops.identity import decode_token, subject_of_user_pk
from widgets.selectors import preferred_language

SESSION_KEY = "molam_lang"


def supported(lang: str | None) -> str | None:
    if not lang:
        return None
    try:
        return translation.get_supported_language_variant(lang)
    except LookupError:
        return None


def _bearer(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def language_for_token(raw: str) -> str | None:
    try:
        principal = decode_token(raw)
    except AuthenticationFailed:
        return None
    return supported(principal.lang) or supported(preferred_language(principal.id))


def language_for_session(request: HttpRequest) -> str | None:
    session = getattr(request, "session", None)
    if session is None:
        return None
    if SESSION_KEY not in session:
        user_pk = session.get("_auth_user_id")
        if user_pk is None:
            return None
        # "" remembers that there is no preference, so it is read once
        subject = subject_of_user_pk(user_pk)
        session[SESSION_KEY] = (subject and preferred_language(subject)) or ""
    return supported(session.get(SESSION_KEY))


class OperatorLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _bearer(request)
        lang = language_for_token(token) if token else language_for_session(request)
        if lang:
            translation.activate(lang)
            request.LANGUAGE_CODE = lang  # type: ignore[attr-defined]
        return self.get_response(request)
