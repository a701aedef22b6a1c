"""``plan_data`` at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a
``MultiFernet`` over ``PLAN_DATA_KEYS`` (DESIGN §8).

The first key encrypts, every key decrypts, so keys rotate without downtime:
put the new key first, run ``manage.py reencrypt_plan_data --for-real``
(``MultiFernet.rotate`` re-encrypts each plan with the first key), then drop
the old key. In development and tests (``DEV_DEFAULTS``) with no key set, a
key is generated once under ``var/`` like the development JWT pair.
"""

from __future__ import annotations

import json
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder

__all__ = ["InvalidToken", "decrypt_json", "encrypt_json", "rotate"]


def ensure_dev_key(path: Path) -> str:
    """Make (once) and return the development key. Written under a temporary
    name and renamed, so processes starting together agree on one key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".fernet-{uuid.uuid4().hex}.key")
        tmp.write_bytes(Fernet.generate_key())
        tmp.chmod(0o600)
        if path.exists():  # another process won the race: keep its key
            tmp.unlink()
        else:
            tmp.rename(path)
    return path.read_text().strip()


def configured_keys() -> list[str]:
    if settings.PLAN_DATA_KEYS:
        return list(settings.PLAN_DATA_KEYS)
    if settings.DEV_DEFAULTS:
        return [ensure_dev_key(Path(settings.DEV_PLAN_DATA_KEY_PATH))]
    raise ImproperlyConfigured("PLAN_DATA_KEYS must be set when DEBUG is off")


@lru_cache(maxsize=4)
def _multi(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in keys])


def fernet() -> MultiFernet:
    # keyed on the key list, so a settings override (tests, rotation) applies
    return _multi(tuple(configured_keys()))


def encrypt_json(value: Any) -> str:
    """JSON (decimals, dates and UUIDs as strings) → a Fernet token (text)."""
    text = json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":"))
    return fernet().encrypt(text.encode()).decode("ascii")


def decrypt_json(token: str) -> Any:
    """A token made by :func:`encrypt_json` under any configured key; raises
    ``InvalidToken`` when no key opens it (or it was tampered with)."""
    if not token:
        return None
    return json.loads(fernet().decrypt(token.encode("ascii")))


def rotate(token: str) -> str:
    """The same plaintext, encrypted under the first key."""
    return fernet().rotate(token.encode("ascii")).decode("ascii")


def is_current(token: str) -> bool:
    """Whether the first key opens ``token`` (nothing left to rotate)."""
    try:
        Fernet(configured_keys()[0]).decrypt(token.encode("ascii"))
    except InvalidToken:
        return False
    return True
