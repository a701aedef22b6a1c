"""Log lines for the web process, the worker and beat (settings ``LOGGING``).

Every record on the console handler goes through two filters, then a formatter:

* :class:`ContextFilter` adds the request id, the actor, the action and its id
  (``molam_ops.request_context``) and an ``outcome`` key, so that every JSON
  line has the same keys (``null`` when they do not apply);
* :class:`RedactFilter` scrubs the message, its arguments, the extra fields and
  the traceback of anything that looks like a token, a key or a password:
  JWTs, bearer credentials, PEM blocks, URL passwords, and the values of the
  configured secrets themselves (``DJANGO_SECRET_KEY``, ``PLAN_DATA_KEYS``,
  ``EVENT_BUS_TOKEN``, the database and Redis passwords);
* :class:`JsonFormatter` (``LOG_FORMAT=json``) writes one JSON object per line,
  :class:`PlainFormatter` (``LOG_FORMAT=plain``) a line for humans. Both redact
  a record that did not come through the filter (a handler configured without
  it), and the JSON one scrubs the ``str()`` of any object it has to encode.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.signals import setting_changed
from django.dispatch import receiver
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonEncoder as _BaseJsonEncoder
from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

from molam_ops.request_context import (
    action_id_var,
    action_var,
    actor_var,
    request_id_var,
)

REDACTED = "[REDACTED]"
CONTEXT_FIELDS = ("request_id", "actor", "action", "action_id", "outcome")

# Shapes of secrets, whatever their value. A JWT's header is base64 JSON, so it
# always starts "eyJ"; a PEM cut short (no END line) is scrubbed to the end.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"-----BEGIN [A-Z0-9 ]+-----(?:.*?-----END [A-Z0-9 ]+-----|.*)", re.S
        ),
        REDACTED,
    ),
    (re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]*"), REDACTED),
    # a credential after "Bearer" (real ones are long: "bearer token" stays)
    (re.compile(r"(?i)\b(bearer\s+)[\w\-.~+/]{16,}=*"), rf"\1{REDACTED}"),
    # a header dump: Authorization: <scheme> <credential>
    (
        re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(?:\w+\s+)?[^'\"\s,;}]+"),
        rf"\1{REDACTED}",
    ),
    # scheme://user:password@host
    (re.compile(r"([a-zA-Z][\w+.-]*://[^:/@\s]*:)[^@\s/]+@"), rf"\1{REDACTED}@"),
)
# Values of dict keys (and extra fields) with these names are dropped whole.
_SENSITIVE_KEY = re.compile(
    r"(?i)(authorization|passw|secret|token|api[-_]?key|cookie|private[-_]?key)"
)
# Shorter configured values are not scrubbed: a 4-letter password would
# otherwise blank that word everywhere (such a password is the real problem).
_MIN_SECRET_LENGTH = 8

_STANDARD_ATTRS = frozenset(
    set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
)
# Every record is scrubbed, so what can be is worked out once: the secret
# values are read from the settings again only when a setting changes (tests),
# and the shape patterns run only on text that has one of their markers.
_TRIGGER = re.compile(r"-----BEGIN|eyJ|://|(?i:bearer|authorization)")
_from_settings: tuple[tuple[str, ...], Path | None] | None = None
_dev_plan_key: str = ""


def _settings_secrets() -> tuple[tuple[str, ...], Path | None]:
    """The secret values in the settings, and where the development plan key
    is (when there is no configured one)."""
    from django.conf import settings

    values = [
        settings.SECRET_KEY,
        *getattr(settings, "SECRET_KEY_FALLBACKS", ()),
        *getattr(settings, "PLAN_DATA_KEYS", ()),
        getattr(settings, "EVENT_BUS_TOKEN", ""),
        getattr(settings, "AUDIT_SIGNING_KEY", ""),
        *(db.get("PASSWORD") or "" for db in settings.DATABASES.values()),
        _url_password(getattr(settings, "REDIS_URL", "")),
        _url_password(getattr(settings, "CELERY_BROKER_URL", "")),
    ]
    dev_key = None
    if getattr(settings, "DEV_DEFAULTS", False) and not settings.PLAN_DATA_KEYS:
        dev_key = Path(settings.DEV_PLAN_DATA_KEY_PATH)
    return tuple(str(v) for v in values if v), dev_key


def _configured_secrets() -> tuple[str, ...]:
    global _from_settings, _dev_plan_key
    if _from_settings is None:
        try:
            _from_settings = _settings_secrets()
        except Exception:  # settings not ready (early boot): patterns still apply
            return ()
    values, dev_key = _from_settings
    if dev_key is not None and not _dev_plan_key and dev_key.is_file():
        # the key plans.crypto makes under var/ on first use; it never changes
        _dev_plan_key = dev_key.read_text().strip()
    return (*values, _dev_plan_key) if dev_key is not None and _dev_plan_key else values


@receiver(setting_changed)
def _forget_secrets(**kwargs: Any) -> None:
    global _from_settings
    _from_settings = None


@lru_cache(maxsize=64)
def _url_password(url: str) -> str:
    try:
        return unquote(urlsplit(url).password or "")
    except ValueError:
        return ""


@lru_cache(maxsize=8)
def _literal_pattern(values: tuple[str, ...]) -> re.Pattern[str] | None:
    forms: set[str] = set()
    for value in values:
        if len(value) >= _MIN_SECRET_LENGTH:
            # as written, and as it reads inside a JSON string
            forms.update({value, json.dumps(value)[1:-1]})
    if not forms:
        return None
    # longest first, so that a key containing another is scrubbed whole
    return re.compile("|".join(re.escape(f) for f in sorted(forms, key=len)[::-1]))


def scrub(text: str) -> str:
    """``text`` without tokens, keys and passwords."""
    literal = _literal_pattern(_configured_secrets())
    if literal is not None:
        text = literal.sub(REDACTED, text)
    if _TRIGGER.search(text):
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
    return text


@lru_cache(maxsize=512)
def _sensitive(key: str) -> bool:
    return bool(_SENSITIVE_KEY.search(key))


def scrub_value(value: Any, key: str = "") -> Any:
    """``value`` scrubbed through dicts, lists and tuples; other objects are
    left as they are (the formatters scrub their ``str()``)."""
    if value is None or isinstance(value, int | float):
        return value
    if key and isinstance(value, str | bytes) and _sensitive(key):
        return REDACTED if value else value
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: scrub_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub_value(v) for v in value)
    return value


class ContextFilter(logging.Filter):
    """Adds the request context; a value passed in ``extra`` wins."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in (
            ("request_id", request_id_var),
            ("actor", actor_var),
            ("action", action_var),
            ("action_id", action_id_var),
        ):
            if not getattr(record, name, None):
                setattr(record, name, var.get() or None)
        if not hasattr(record, "outcome"):
            record.outcome = None
        return True


_TRACEBACKS = logging.Formatter()


class RedactFilter(logging.Filter):
    """Scrubs a record before any formatter sees it. The message is rendered
    with its arguments (a secret may be in either) and the traceback is
    rendered to text, since that is where an exception's message shows."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            _redact(record)
        except Exception:  # a log call must never raise; lose the content instead
            record.msg, record.args = "unloggable record (redaction failed)", ()
            record.exc_info, record.exc_text = None, None
        return True


# set on a record once scrubbed, so that the formatters do not do it again
_DONE = "_molam_redacted"


def _redact(record: logging.LogRecord) -> None:
    if getattr(record, _DONE, False):
        return
    setattr(record, _DONE, True)
    if isinstance(record.msg, dict) and not record.args:
        record.msg = scrub_value(record.msg)
    else:
        try:
            message = record.getMessage()
        except Exception:  # bad arguments: keep what there is to see
            message = f"{record.msg!s} {record.args!r}"
        record.msg, record.args = scrub(message), ()
    if record.exc_info:
        record.exc_text = scrub(_TRACEBACKS.formatException(record.exc_info))
        record.exc_info = None  # formatters print exc_text (scrubbed) instead
    elif record.exc_text:
        record.exc_text = scrub(record.exc_text)
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)
    for key, value in list(vars(record).items()):
        if key not in _STANDARD_ATTRS and key != _DONE:
            setattr(record, key, scrub_value(value, key))


def _iso_utc(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _ScrubbingEncoder(_BaseJsonEncoder):
    """An extra object JSON cannot encode is written as its ``str()``: which
    may hold anything, so it is scrubbed too."""

    def default(self, o: Any) -> Any:
        value = super().default(o)
        return scrub(value) if isinstance(value, str) else value


class JsonFormatter(_BaseJsonFormatter):
    """One JSON object per line: time (ISO 8601 UTC), level, logger, message,
    the context fields (always present), then any extra fields."""

    def __init__(self, **kwargs: Any) -> None:
        fields = " ".join(f"%({f})s" for f in ("levelname", "name", "message"))
        context = " ".join(f"%({f})s" for f in CONTEXT_FIELDS)
        super().__init__(
            f"{fields} {context}",
            rename_fields={"levelname": "level", "name": "logger"},
            # Django's request logs pass the request (or socket) object: its
            # str() says nothing useful, and its headers must never be dumped
            reserved_attrs=[*RESERVED_ATTRS, "request", _DONE],
            json_encoder=_ScrubbingEncoder,
            **kwargs,
        )

    def add_fields(
        self,
        log_data: dict[str, Any],
        record: logging.LogRecord,
        message_dict: dict[str, Any],
    ) -> None:
        log_data["time"] = _iso_utc(record)
        super().add_fields(log_data, record, message_dict)

    def format(self, record: logging.LogRecord) -> str:
        _redact(record)
        return super().format(record)


class PlainFormatter(logging.Formatter):
    """``time level logger message [request_id=… actor=… …]`` for a terminal."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s", **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        _redact(record)
        line = super().format(record)
        context = " ".join(
            f"{f}={getattr(record, f)}"
            for f in CONTEXT_FIELDS
            if getattr(record, f, None)
        )
        if context:
            head, sep, rest = line.partition("\n")
            line = f"{head} [{context}]{sep}{rest}"
        return line
