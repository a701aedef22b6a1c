"""The Ed25519 key that signs the audit log's checkpoints (DESIGN §3).

``AUDIT_SIGNING_KEY`` (PEM PKCS#8, from the environment or ``_FILE``) signs;
the database never holds it. ``key_id`` is derived from the public key — the
first 8 bytes of SHA-256 over the 32 raw public-key bytes, in hex — so it can
never disagree with the key. After a rotation, ``AUDIT_PREVIOUS_PUBLIC_KEYS``
(PEM public keys one after the other) still verify the older checkpoints. In
development and tests (``DEV_DEFAULTS``) with no key set, one is generated
once under ``var/``, like the development plan-data key.

Two signed forms of one tree head:

- the JSON checkpoint: Ed25519 over the RFC 8785 bytes of
  ``{"root_hash", "timestamp", "tree_size"}`` (base64 in ``signature``);
- a C2SP signed note (https://c2sp.org/signed-note, tlog-checkpoint): the
  body ``<origin>\\n<tree size>\\n<base64 root>\\n``, signed by the key named
  ``origin``; its signature line carries base64(key hash ‖ signature), the
  key hash being the first 4 bytes of SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key).
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from functools import lru_cache
from pathlib import Path

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

NOTE_DASH = "\N{EM DASH}"
ED25519_ALG = b"\x01"  # the signed-note signature type of Ed25519
_PEM_PUBLIC = re.compile(
    r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL
)


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public(key)).digest()[:8].hex()


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def ensure_dev_key(path: Path) -> str:
    """Make (once) and return the development key. Written under a temporary
    name and renamed, so processes starting together agree on one key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".ed25519-{uuid.uuid4().hex}.pem")
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        tmp.write_bytes(pem)
        tmp.chmod(0o600)
        if path.exists():  # another process won the race: keep its key
            tmp.unlink()
        else:
            tmp.rename(path)
    return path.read_text()


@lru_cache(maxsize=4)
def _private(pem: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "AUDIT_SIGNING_KEY is not a PEM PKCS#8 private key"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured("AUDIT_SIGNING_KEY must be an Ed25519 key")
    return key


def signing_key() -> Ed25519PrivateKey:
    pem = settings.AUDIT_SIGNING_KEY
    if not pem:
        if not settings.DEV_DEFAULTS:
            raise ImproperlyConfigured(
                "AUDIT_SIGNING_KEY must be set when DEBUG is off"
            )
        pem = ensure_dev_key(Path(settings.DEV_AUDIT_SIGNING_KEY_PATH))
    return _private(pem)


def public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def parse_public_keys(text: str) -> list[Ed25519PublicKey]:
    """Every Ed25519 PEM public key in ``text`` (other PEM blocks refused)."""
    keys = []
    for block in _PEM_PUBLIC.findall(text or ""):
        key = serialization.load_pem_public_key(block.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        keys.append(key)
    return keys


@lru_cache(maxsize=4)
def _previous(text: str) -> tuple[Ed25519PublicKey, ...]:
    try:
        return tuple(parse_public_keys(text))
    except ValueError as exc:
        raise ImproperlyConfigured(
            "AUDIT_PREVIOUS_PUBLIC_KEYS holds a key that is not Ed25519 PEM"
        ) from exc


def verifying_keys() -> dict[str, Ed25519PublicKey]:
    """key_id → key: the current key and those rotated out."""
    keys = [public_key(), *_previous(settings.AUDIT_PREVIOUS_PUBLIC_KEYS)]
    return {key_id(k): k for k in keys}


def head_bytes(*, tree_size: int, root_hash: str, timestamp: str) -> bytes:
    """What the JSON checkpoint's signature covers (RFC 8785)."""
    return rfc8785.dumps(
        {"root_hash": root_hash, "tree_size": tree_size, "timestamp": timestamp}
    )


def sign(message: bytes) -> str:
    return base64.b64encode(signing_key().sign(message)).decode("ascii")


def verify(key: Ed25519PublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def note_body(*, origin: str, tree_size: int, root: bytes) -> bytes:
    """A C2SP tlog-checkpoint body, each line ending in a newline."""
    return f"{origin}\n{tree_size}\n{base64.b64encode(root).decode()}\n".encode()


def note_key_hash(name: str, key: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(
        name.encode() + b"\n" + ED25519_ALG + raw_public(key)
    ).digest()[:4]


def sign_note(body: bytes, *, name: str) -> str:
    """base64(key hash ‖ Ed25519 signature of ``body``): the signature line's
    last field."""
    key = signing_key()
    blob = note_key_hash(name, key.public_key()) + key.sign(body)
    return base64.b64encode(blob).decode("ascii")


def note_text(body: bytes, *, name: str, signature: str) -> str:
    return f"{body.decode()}\n{NOTE_DASH} {name} {signature}\n"
