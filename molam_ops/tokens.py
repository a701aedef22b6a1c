"""Minting development tokens, as Molam ID would (never used to verify)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
from django.conf import settings
from django.utils import timezone

from molam_ops.identity import ensure_dev_keypair


def mint(
    *,
    sub: str,
    roles: list[str],
    ttl: timedelta = timedelta(hours=8),
    lang: str = "en",
    email: str = "",
    private_key: str | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """An RS256 token signed with ``private_key`` (PEM) or the dev key."""
    now = timezone.now()
    claims: dict[str, Any] = {
        "sub": sub,
        "roles": roles,
        "lang": lang,
        "email": email,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    if settings.MOLAM_ID_ISSUER:
        claims["iss"] = settings.MOLAM_ID_ISSUER
    if settings.MOLAM_ID_AUDIENCE:
        claims["aud"] = settings.MOLAM_ID_AUDIENCE
    claims.update(extra or {})
    key = private_key or ensure_dev_keypair()[0]
    return jwt.encode(claims, key, algorithm="RS256")


def read_private_key(path: str) -> str:
    return Path(path).read_text()
