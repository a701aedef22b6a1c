"""An independent verifier of the audit log's checkpoints and proofs, written
from RFC 9162 §2.1 (and C2SP signed-note) as an outside verifier would: it
imports none of our code (no audit.merkle), only hashlib, base64,
cryptography and rfc8785."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def mth(entries: list[bytes]) -> bytes:
    """§2.1.1: MTH({}) = HASH(), MTH({d0}) = HASH(0x00 || d0), otherwise
    HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])), k the largest power of 2 < n."""
    n = len(entries)
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + entries[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return _h(b"\x01" + mth(entries[:k]) + mth(entries[k:]))


def entries_of(export: list[dict[str, Any]]) -> list[bytes]:
    """Leaf i: the 32-byte hash of the row at position i in seq order."""
    return [bytes.fromhex(r["hash"]) for r in sorted(export, key=lambda r: r["seq"])]


def inclusion_holds(
    leaf_index: int, tree_size: int, entry: bytes, path: list[bytes], root: bytes
) -> bool:
    """§2.1.3.2, step by step."""
    if leaf_index >= tree_size:
        return False
    fn, sn = leaf_index, tree_size - 1
    r = _h(b"\x00" + entry)
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = _h(b"\x01" + p + r)
            while fn % 2 == 0 and fn != 0:
                fn //= 2
                sn //= 2
        else:
            r = _h(b"\x01" + r + p)
        fn //= 2
        sn //= 2
    return sn == 0 and r == root


def consistency_holds(
    first: int, second: int, first_hash: bytes, second_hash: bytes, path: list[bytes]
) -> bool:
    """§2.1.4.2, step by step (for first < second)."""
    if not path:
        return False
    path = list(path)
    if first & (first - 1) == 0:
        path = [first_hash, *path]
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn //= 2
        sn //= 2
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = _h(b"\x01" + c + fr)
            sr = _h(b"\x01" + c + sr)
            while fn % 2 == 0 and fn != 0:
                fn //= 2
                sn //= 2
        else:
            sr = _h(b"\x01" + sr + c)
        fn //= 2
        sn //= 2
    return fr == first_hash and sr == second_hash and sn == 0


def public_key(pem: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    assert isinstance(key, Ed25519PublicKey)
    return key


def raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def checkpoint_signed(cp: dict[str, Any], pem: str) -> bool:
    """Ed25519 over the RFC 8785 bytes of {root_hash, timestamp, tree_size}."""
    message = rfc8785.dumps({k: cp[k] for k in ("root_hash", "timestamp", "tree_size")})
    try:
        public_key(pem).verify(base64.b64decode(cp["signature"]), message)
    except InvalidSignature:
        return False
    return True


def parse_note(text: str) -> tuple[str, int, bytes, list[tuple[str, bytes]]]:
    """A C2SP tlog-checkpoint signed note: (origin, size, root, [(key name,
    base64-decoded key hash ‖ signature)]). Raises on a malformed note."""
    body, sep, sigs = text.partition("\n\n")
    assert sep and text.endswith("\n")
    lines = body.split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
    assert str(size) == lines[1] and len(root) == 32
    signatures = []
    for line in sigs.removesuffix("\n").split("\n"):
        dash, name, blob = line.split(" ")
        assert dash == "\u2014"
        signatures.append((name, base64.b64decode(blob)))
    return origin, size, root, signatures


def note_verifies(text: str, name: str, pem: str) -> bool:
    """The signature line by ``name`` whose key hash names this key verifies
    over the body (everything up to and including the first blank line's
    preceding newline)."""
    key = public_key(pem)
    key_hash = _h(name.encode() + b"\n\x01" + raw(key))[:4]
    body = text[: text.index("\n\n") + 1].encode()
    for signer, blob in parse_note(text)[3]:
        if signer == name and blob[:4] == key_hash and len(blob) == 68:
            try:
                key.verify(blob[4:], body)
            except InvalidSignature:
                return False
            return True
    return False
