"""The secrets a process needs to start with DEBUG off (every one required),
for the tests that start one: each test adds its own variables, or blanks one
of these to see the refusal."""

from __future__ import annotations

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

REQUIRED_SECRETS = {
    "PLAN_DATA_KEYS": Fernet.generate_key().decode(),
    "APPROVAL_SIGNING_KEY": "test:" + "a-32-character-approval-key-for-tests",
    "AUDIT_SIGNING_KEY": Ed25519PrivateKey.generate()
    .private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    .decode(),
}
