"""Verify an export of the audit log against its signed checkpoints, offline:
``manage.py verify_audit --export rows.json --checkpoints checkpoints.json
[--public-key keys.pem]``. Needs no database and none of the service's
secrets (manage.py runs it with the development defaults unless told
otherwise). Exit code 0 valid, 1 invalid, 2 bad input.

``--public-key``: a PEM file of one or more Ed25519 public keys (the current
one from ``GET /api/ops/audit/checkpoint-key`` and any rotated out). Without
it, the keys this installation is configured with: ``AUDIT_SIGNING_KEY``'s
public key and ``AUDIT_PREVIOUS_PUBLIC_KEYS``. Keys are never taken from the
checkpoints file: whoever could rewrite it could pick the key too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit import offline, signing


def _load(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise offline.BadInput(f"{what} {path}: {exc}") from exc


def _keys(path: str | None) -> dict[str, Any]:
    if path is None:
        here = settings.AUDIT_SIGNING_KEY or (
            Path(settings.DEV_AUDIT_SIGNING_KEY_PATH).exists()
        )
        if not here:
            # a key made now would verify nothing the service signed
            raise offline.BadInput(
                "no --public-key and no AUDIT_SIGNING_KEY here: pass the key "
                "from GET /api/ops/audit/checkpoint-key"
            )
        try:
            return signing.verifying_keys()
        except ImproperlyConfigured as exc:
            raise offline.BadInput(f"no --public-key and {exc}") from exc
    try:
        keys = signing.parse_public_keys(Path(path).read_text(encoding="ascii"))
    except (OSError, ValueError) as exc:
        raise offline.BadInput(f"public key {path}: {exc}") from exc
    if not keys:
        raise offline.BadInput(f"public key {path}: no PEM public key in it")
    return {signing.key_id(k): k for k in keys}


class Command(BaseCommand):
    help = "Verify an audit log export against signed checkpoints (no database)."
    requires_system_checks: list[str] = []  # the database may be out of reach

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--export", required=True, help="JSON array of rows")
        parser.add_argument(
            "--checkpoints", required=True, help="checkpoints list or array"
        )
        parser.add_argument("--public-key", help="PEM file of Ed25519 public keys")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            rows = offline.parse_rows(_load(opts["export"], "export"))
            cps = offline.parse_checkpoints(_load(opts["checkpoints"], "checkpoints"))
            keys = _keys(opts["public_key"])
            report = offline.verify(rows, cps, keys)
        except (offline.BadInput, KeyError, TypeError, AttributeError) as exc:
            raise CommandError(f"bad input: {exc}", returncode=2) from exc
        for line in report.lines:
            self.stdout.write(line)
        if not report.valid:
            self.stdout.write(f"INVALID: {report.problems} problem(s)")
            raise SystemExit(1)
        self.stdout.write(f"VALID: {len(rows)} rows, {len(cps)} checkpoints")
