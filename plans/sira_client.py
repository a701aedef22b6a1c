"""The SIRA client (DESIGN §8): ``POST $SIRA_URL/api/plan`` and
``GET $SIRA_URL/api/suggestions``.

One attempt has ``SIRA_TIMEOUT_SECONDS`` (5 s) for each of connect, send and
read; a timeout, a connection or TLS failure, or a 5xx is retried
``SIRA_RETRIES`` (2) times with exponential backoff (tenacity: base
``SIRA_BACKOFF_SECONDS``, doubling, with jitter). A 4xx, or a 200 whose body is
not JSON, does not match the schema below, or has a step that names a bank
the plan's snapshot does not hold or breaks the safety rule
(``plans.sira_steps``), is not retried: asking again would get the same
answer. Every failure ends as :class:`SiraUnavailable` with
a short ``reason`` (``timeout``, ``connection_error``, ``tls_error``,
``server_error``, ``client_error``, ``invalid_response``) that the caller
records as the plan's ``fallback_reason`` before the local planner takes over.

mTLS: with ``SIRA_CLIENT_CERT`` and ``SIRA_CLIENT_KEY`` the client presents
that certificate; ``SIRA_CA_BUNDLE`` is the CA that SIRA's server certificate
must chain to (else the system's, from certifi).
"""

from __future__ import annotations

import json
import logging
import ssl
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast

import certifi
import httpx
import jsonschema
from django.conf import settings
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from plans.choices import STEP_ACTIONS
from plans.sira_steps import StepRefused, resolve_steps

log = logging.getLogger(__name__)

# What a suggestion may propose; accepting one runs it through the runner as
# the caller, with that action's own roles and approval rules.
SUGGESTION_ACTIONS = (
    "freeze_payouts",
    "generate_plan",
    "pause_bank",
    "resume_bank",
    "retry_failed_payouts",
    "unfreeze_payouts",
)
MAX_RESPONSE_BYTES = 5 * 1024 * 1024
USER_AGENT = "molam-ops-controls/1 (sira-client)"

AMOUNT = {
    "oneOf": [
        {"type": "number", "minimum": 0, "maximum": 1e15},
        {"type": "string", "pattern": r"^[0-9]{1,15}(\.[0-9]{1,2})?$"},
    ]
}
SIGNED_AMOUNT = {
    "oneOf": [
        {"type": "number", "minimum": -1e15, "maximum": 1e15},
        {"type": "string", "pattern": r"^-?[0-9]{1,15}(\.[0-9]{1,2})?$"},
    ]
}
UUID = {"type": "string", "format": "uuid", "pattern": "^[0-9a-fA-F-]{32,36}$"}
CURRENCY = {"type": "string", "pattern": "^[A-Z]{3}$"}
# a bank as the seed names it: its id or its name (plans/sira_steps.py)
BANK_REF = {"type": "string", "minLength": 1, "maxLength": 255}
MAX_REROUTE = 100_000  # what one reroute_payouts may move


def _step(action: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "if": {"properties": {"action": {"const": action}}},
        "then": {"required": sorted(fields), "properties": fields},
    }


# A reroute comes in either shape: the local planner's (bank ids, currency,
# amount) or the seed's (banks by id or name, count, estimated savings,
# currency and amount optional); plans/sira_steps.py resolves both to ids.
REROUTE_STEP: dict[str, Any] = {
    "if": {"properties": {"action": {"const": "reroute_payouts"}}},
    "then": {
        "required": ["count"],
        "properties": {
            "from_bank_id": UUID,
            "to_bank_id": UUID,
            "from_bank": BANK_REF,
            "to_bank": BANK_REF,
            "currency": CURRENCY,
            "count": {"type": "integer", "minimum": 1, "maximum": MAX_REROUTE},
            "amount": AMOUNT,
            "estimated_savings": SIGNED_AMOUNT,
        },
        "anyOf": [
            {"required": ["from_bank_id", "to_bank_id", "currency", "amount"]},
            {"required": ["from_bank", "to_bank"]},
        ],
    },
}
# Each step carries the fields its execution needs (plans/execution).
STEP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["action"],
    "properties": {"action": {"enum": list(STEP_ACTIONS)}},
    "allOf": [
        REROUTE_STEP,
        _step(
            "transfer_funds",
            {
                "from_account_id": UUID,
                "to_account_id": UUID,
                "currency": CURRENCY,
                "amount": AMOUNT,
            },
        ),
        _step(
            "pause_bank",
            {
                "bank_profile_id": UUID,
                "reason": {"type": "string", "minLength": 1, "maxLength": 500},
            },
        ),
    ],
}
PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["summary", "steps", "total_amount", "approval_required"],
    "properties": {
        "summary": {"type": "string", "maxLength": 4000},
        "steps": {"type": "array", "maxItems": 1000, "items": STEP_SCHEMA},
        "total_amount": AMOUNT,
        "approval_required": {"type": "boolean"},
        "payout_count": {"type": "integer", "minimum": 0},
        "currency": {"const": "USD"},
        "planner_version": {"type": "string", "maxLength": 64},
    },
}
SUGGESTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "title", "confidence", "action"],
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 128},
        "title": {"type": "string", "minLength": 1, "maxLength": 255},
        "description": {"type": "string", "maxLength": 4000},
        "confidence": {
            "oneOf": [
                {"type": "number", "minimum": 0, "maximum": 1},
                {"type": "string", "pattern": r"^(0(\.[0-9]{1,3})?|1(\.0{1,3})?)$"},
            ]
        },
        "action": {
            "type": "object",
            "required": ["action_type", "payload"],
            "properties": {
                "action_type": {"enum": list(SUGGESTION_ACTIONS)},
                "payload": {"type": "object"},
            },
        },
    },
}
SUGGESTIONS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "maxItems": 100,
    "items": SUGGESTION_SCHEMA,
}


class SiraUnavailable(Exception):
    """SIRA gave no usable answer; ``reason`` says why, for the fallback, and
    ``step`` which step of the answer was refused (index, step, reason)."""

    def __init__(
        self,
        reason: str,
        detail: str,
        *,
        attempts: int,
        step: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.attempts = attempts
        self.step = step


@dataclass
class SiraAnswer:
    """A valid answer: the plan object (unwrapped) and the raw JSON body."""

    plan: dict[str, Any]
    raw: Any
    attempts: int
    elapsed_ms: int
    meta: dict[str, Any] = field(default_factory=dict)


class _ServerError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def configured() -> bool:
    return bool(settings.SIRA_URL)


@lru_cache(maxsize=8)
def _ssl_context(ca_bundle: str, cert: str, key: str) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_bundle or certifi.where())
    if cert:
        context.load_cert_chain(cert, key)
    return context


def _client() -> httpx.Client:
    return httpx.Client(
        base_url=settings.SIRA_URL,
        timeout=httpx.Timeout(settings.SIRA_TIMEOUT_SECONDS),
        verify=_ssl_context(
            settings.SIRA_CA_BUNDLE, settings.SIRA_CLIENT_CERT, settings.SIRA_CLIENT_KEY
        ),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        follow_redirects=False,
        trust_env=False,
    )


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, httpx.TransportError | _ServerError)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, _ServerError):
        return "server_error"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return "tls_error"
        cause = cause.__cause__ or cause.__context__
    return "connection_error"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _read(response: httpx.Response) -> Any:
    """The body as JSON, refusing bodies past MAX_RESPONSE_BYTES, NaN and
    Infinity; ValueError when it is not that."""
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ValueError(f"body larger than {MAX_RESPONSE_BYTES} bytes")
        chunks.append(chunk)
    return json.loads(b"".join(chunks), parse_constant=_reject_constant)


def call(
    method: str,
    path: str,
    *,
    body: Any = None,
    retries: int | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[Any, int, int]:
    """One SIRA call with the retry policy → (JSON body, attempts, ms).

    Raises :class:`SiraUnavailable` on every failure, with the attempts made.
    """
    attempts = 0
    started = time.perf_counter()
    retrying = Retrying(
        stop=stop_after_attempt(
            1 + (settings.SIRA_RETRIES if retries is None else retries)
        ),
        wait=wait_exponential_jitter(
            multiplier=settings.SIRA_BACKOFF_SECONDS,
            max=max(settings.SIRA_BACKOFF_SECONDS * 8, 0.01),
            jitter=settings.SIRA_BACKOFF_SECONDS / 2,
        ),
        retry=retry_if_exception(_retryable),
        reraise=True,
    )

    def attempt(client: httpx.Client) -> Any:
        nonlocal attempts
        attempts += 1
        request = client.build_request(method, path, json=body, headers=headers)
        response = client.send(request, stream=True)
        try:
            if response.status_code >= 500:
                raise _ServerError(response.status_code)
            if response.status_code != 200:
                raise SiraUnavailable(
                    "client_error", f"HTTP {response.status_code}", attempts=attempts
                )
            try:
                return _read(response)
            except (ValueError, UnicodeDecodeError) as exc:
                raise SiraUnavailable(
                    "invalid_response", f"not JSON ({exc})", attempts=attempts
                ) from exc
        finally:
            response.close()

    try:
        with _client() as client:
            data = retrying(attempt, client)
    except SiraUnavailable as exc:
        exc.attempts = attempts
        raise
    except (httpx.TransportError, _ServerError) as exc:
        reason = _reason(exc)
        log.warning(
            "SIRA %s %s failed after %d attempts: %s", method, path, attempts, exc
        )
        raise SiraUnavailable(
            reason, str(exc) or type(exc).__name__, attempts=attempts
        ) from exc
    except httpx.HTTPError as exc:  # a redirect, a bad URL: not retried
        raise SiraUnavailable("connection_error", str(exc), attempts=attempts) from exc
    return data, attempts, round((time.perf_counter() - started) * 1000)


def unwrap_plan(data: Any) -> dict[str, Any]:
    """The plan object, bare or under ``"plan"``, checked against the schema;
    ValueError (with the first schema error) when it does not match."""
    plan = data.get("plan") if isinstance(data, dict) and "plan" in data else data
    try:
        jsonschema.validate(plan, PLAN_SCHEMA)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise ValueError(f"{where}: {exc.message}"[:300]) from None
    return cast(dict[str, Any], plan)  # the schema requires an object


def request_plan(
    payload: dict[str, Any],
    *,
    allow_banks: Collection[str] = (),
    currencies: Collection[str] | None = None,
) -> SiraAnswer:
    """Ask SIRA for a plan over ``payload`` (type, timeframe, constraints,
    snapshot); a valid answer, its steps resolved against the snapshot
    (banks as ids, the safety rule held: plans/sira_steps.py), or
    :class:`SiraUnavailable`. ``allow_banks``: the banks an operator's
    override lets receive despite their state; ``currencies``: the plan's
    currency scope, which its reroutes must keep to (None: no scope)."""
    data, attempts, elapsed = call("POST", "/api/plan", body=payload)
    try:
        plan = unwrap_plan(data)
    except ValueError as exc:
        raise SiraUnavailable("invalid_response", str(exc), attempts=attempts) from exc
    try:
        steps = resolve_steps(
            plan["steps"],
            payload.get("snapshot") or {},
            allow=allow_banks,
            currencies=currencies,
        )
    except StepRefused as exc:
        raise SiraUnavailable(
            "invalid_response", str(exc)[:300], attempts=attempts, step=exc.as_dict()
        ) from None
    # a copy: ``raw`` stays what SIRA said
    return SiraAnswer(
        plan={**plan, "steps": steps}, raw=data, attempts=attempts, elapsed_ms=elapsed
    )


def fetch_suggestions() -> list[dict[str, Any]]:
    """SIRA's suggestions (``{"suggestions": [...]}`` or a bare list), one
    attempt only: a person is waiting on the widget, and the local
    suggestions are there when SIRA is not."""
    data, attempts, _ms = call("GET", "/api/suggestions", retries=0)
    items = data.get("suggestions") if isinstance(data, dict) else data
    try:
        jsonschema.validate(items, SUGGESTIONS_SCHEMA)
    except jsonschema.ValidationError as exc:
        raise SiraUnavailable(
            "invalid_response", exc.message[:300], attempts=attempts
        ) from None
    return cast(list[dict[str, Any]], items)  # the schema requires a list of objects


def amount(value: Any) -> Decimal:
    """A schema-valid ``total_amount`` (number or decimal string) → Decimal."""
    return Decimal(str(value)).quantize(Decimal("0.01"))
