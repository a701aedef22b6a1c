"""What makes an approval hold against whoever can write its table (DESIGN §7).

Three values are keyed with ``APPROVAL_SIGNING_KEY`` (HMAC-SHA-256), a key the
database never holds:

* the request's ``binding``, over its id, the action it guards (type, id,
  mode), the canonical payload (RFC 8785 bytes), the initiator, the number of
  signatures and the deadline: a rewritten payload, a lowered count, a later
  deadline or a payload moved from another request no longer verifies;
* each signature's ``mac``, over the request, the signer and the decision:
  only signatures the application recorded count towards quorum;
* the ``approval_token`` of a request in token mode: derived from its id, so
  it is never stored and a copy of the database reveals none.

Keys carry an id; the first configured key signs, every configured key
verifies, so a key can be rotated while requests signed with the old one are
still open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import rfc8785
from django.conf import settings

from molam_ops.lib.fields import iso_utc


def _keys() -> list[tuple[str, bytes]]:
    return list(settings.APPROVAL_SIGNING_KEYS)


def _mac(secret: bytes, purpose: str, value: Any) -> str:
    message = purpose.encode() + b"\x00" + rfc8785.dumps(value)
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def _verify(key_id: str, mac: str, purpose: str, value: Any) -> bool:
    secret = dict(_keys()).get(key_id)
    if secret is None or not mac:
        return False
    return hmac.compare_digest(_mac(secret, purpose, value), mac)


def binding_fields(
    *,
    approval_id: Any,
    action_reference: Any,
    action_type: str,
    mode: str,
    payload: dict[str, Any],
    initiator_id: str,
    required_approvals: int,
    expires_at: datetime,
) -> dict[str, Any]:
    """What a request's binding covers, as JSON values."""
    return {
        "id": str(approval_id),
        "action_reference": str(action_reference),
        "action_type": action_type,
        "mode": mode,
        "payload": payload,
        "initiator_id": initiator_id,
        "required_approvals": int(required_approvals),
        "expires_at": iso_utc(expires_at),
    }


def _fields_of(approval: Any) -> dict[str, Any]:
    return binding_fields(
        approval_id=approval.id,
        action_reference=approval.action_reference,
        action_type=approval.action_type,
        mode=approval.mode,
        payload=approval.payload,
        initiator_id=approval.initiator_id,
        required_approvals=approval.required_approvals,
        expires_at=approval.expires_at,
    )


def seal(approval: Any) -> None:
    """Set ``binding`` and ``binding_key_id`` of an unsaved request."""
    key_id, secret = _keys()[0]
    approval.binding_key_id = key_id
    approval.binding = _mac(secret, "approval", _fields_of(approval))


def is_intact(approval: Any) -> bool:
    return _verify(
        approval.binding_key_id, approval.binding, "approval", _fields_of(approval)
    )


def _signature_fields(signature: Any) -> dict[str, Any]:
    return {
        "approval_id": str(signature.approval_id),
        "signer_id": signature.signer_id,
        "decision": signature.decision,
    }


def seal_signature(signature: Any) -> None:
    key_id, secret = _keys()[0]
    signature.key_id = key_id
    signature.mac = _mac(secret, "signature", _signature_fields(signature))


def valid_approvers(approval: Any, signatures: Iterable[Any]) -> set[str]:
    """The distinct people whose recorded approvals count: the application
    wrote them (their MAC verifies) and none is the initiator."""
    return {
        s.signer_id
        for s in signatures
        if s.decision == "approve"
        and s.signer_id != approval.initiator_id
        and _verify(s.key_id, s.mac, "signature", _signature_fields(s))
    }


def token_for(approval: Any) -> str:
    """The request's single-use token, derived under the key that sealed it."""
    secret = dict(_keys()).get(approval.binding_key_id)
    if secret is None:  # its key was retired: the request can no longer run
        return ""
    raw = hmac.new(
        secret, b"approval-token\x00" + str(approval.id).encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def token_matches(approval: Any, token: str) -> bool:
    expected = token_for(approval)
    return bool(expected) and hmac.compare_digest(expected, token)
