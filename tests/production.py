"""The secrets a process needs to start with DEBUG off (every one required),
for the tests that start one: each test adds its own variables, or blanks one
of these to see the refusal."""

from __future__ import annotations

from cryptography.fernet import Fernet

REQUIRED_SECRETS = {
    "PLAN_DATA_KEYS": Fernet.generate_key().decode(),
    "APPROVAL_SIGNING_KEY": "test:" + "a-32-character-approval-key-for-tests",
}
