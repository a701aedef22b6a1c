"""Print a development JWT: ``manage.py mint_token --sub alice --role pay_admin``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from molam_ops.tokens import mint, read_private_key


class Command(BaseCommand):
    help = "Mint an RS256 token with the development key (DEBUG only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sub", required=True)
        parser.add_argument(
            "--role", action="append", default=[], help="repeat for several roles"
        )
        parser.add_argument("--lang", default="en")
        parser.add_argument("--email", default="")
        parser.add_argument("--hours", type=float, default=8.0)
        parser.add_argument("--private-key", help="PEM file; default: the dev key")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not settings.DEV_DEFAULTS and not opts["private_key"]:
            raise CommandError(
                "the development key is only used with DEBUG=1; "
                "pass --private-key to sign with another key"
            )
        key = read_private_key(opts["private_key"]) if opts["private_key"] else None
        self.stdout.write(
            mint(
                sub=opts["sub"],
                roles=opts["role"],
                lang=opts["lang"],
                email=opts["email"],
                ttl=timedelta(hours=opts["hours"]),
                private_key=key,
            )
        )
