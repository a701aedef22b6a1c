"""Readers and checks behind ``molam_ops/settings.py``.

Each one turns an environment value into a setting, or raises
``ImproperlyConfigured`` with one line naming the variable: that line is what
an operator sees at boot (``molam_ops.boot``). Standard library, Django's
exception and django-environ only: they run while Django is being configured.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured


def secret(env: environ.Env, name: str, default: str | None = None) -> str | None:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE``."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{name}_FILE: cannot read {path} ({exc.strerror})"
            ) from exc
    value: str | None = env.str(name, default=default)
    return value


def required(name: str, value: str | None) -> str:
    """``value``, or the boot stops naming ``name``."""
    if not value:
        raise ImproperlyConfigured(f"{name} must be set when DEBUG is off")
    return value


def check(ok: bool, message: str) -> None:
    """Stops the boot with ``message`` unless ``ok``."""
    if not ok:
        raise ImproperlyConfigured(message)


def interval(env: environ.Env, name: str, default: float, *, most: float) -> float:
    """Seconds in ``(0, most]``; a non-number is refused like one out of range."""
    try:
        value: float = env.float(name, default=default)
    except ValueError:
        value = math.nan
    # not (0 < x <= most) also refuses NaN
    check(0 < value <= most, f"{name} must be > 0 and <= {most:g} seconds")
    return value


def database(
    config: dict[str, Any], *, conn_max_age: int, connect_timeout: int = 3
) -> dict[str, Any]:
    """``env.db_url``'s dict, tuned per engine and timed by django-prometheus
    (its backends are Django's own with each cursor counted: django_db_*)."""
    engine = config["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        # The web process, the worker and beat all write: WAL lets readers go
        # on while one writes, and IMMEDIATE takes the write lock at BEGIN so
        # two writers queue instead of failing half-way with "database is
        # locked".
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # Tests run in memory, as with Django's own engine: pytest-django only
        # recognises that engine by name and would otherwise derive a
        # per-worker file name from the path ("test_/…/x.sqlite3_gw0").
        config.setdefault("TEST", {}).setdefault("NAME", ":memory:")
    else:
        # a connection per request costs about 5x the throughput
        config["CONN_MAX_AGE"] = conn_max_age
        # a persistent connection broken by an outage is found unusable and
        # replaced before the next request uses it
        config["CONN_HEALTH_CHECKS"] = True
        # a server that does not answer fails the request (503) within the
        # request's time, instead of hanging it in connect (libpq waits for
        # ever by default)
        config.setdefault("OPTIONS", {}).setdefault("connect_timeout", connect_timeout)
    config["ENGINE"] = {
        "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql",
        "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
    }.get(engine, engine)
    return config


def cidrs(env: environ.Env, name: str) -> list[str]:
    """Comma-separated CIDRs (``molam_ops.lib.addresses``)."""
    from molam_ops.lib.addresses import parse_networks  # stdlib only

    try:
        return parse_networks(name, env.str(name, default=""))
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None


def origins(env: environ.Env, name: str) -> list[str]:
    """Comma-separated origins (``scheme://host[:port]``, nothing after it),
    as a browser sends them in ``Origin``, lower-cased as browsers send them.
    A typo (a trailing ``/``, a missing scheme) stops the boot rather than
    leave a client refused with no word why."""
    found = []
    for item in env.str(name, default="").split(","):
        origin = item.strip().lower()
        if origin:
            check(
                _is_origin(origin),
                f"{name}: {origin!r} is not an origin"
                " (scheme://host[:port], nothing after it)",
            )
            found.append(origin)
    return found


def _is_origin(origin: str) -> bool:
    try:
        parts = urlsplit(origin)
        port_ok = parts.port is None or parts.port > 0  # a bad port raises
    except ValueError:
        return False
    return bool(
        port_ok
        and parts.scheme
        and parts.hostname
        and "@" not in parts.netloc
        and not (parts.path or parts.query or parts.fragment)
    )


def approval_signing_keys(raw: str | None) -> list[tuple[str, bytes]]:
    """``key_id:secret`` pairs, comma- or newline-separated; the first one
    signs new approvals, every one verifies (rotation: put the new key first,
    drop the old one once the approvals it signed have closed, ≤ TTL)."""
    keys = []
    for item in (raw or "").replace("\n", ",").split(","):
        key_id, sep, value = item.strip().partition(":")
        if not item.strip():
            continue
        if not sep or not key_id or len(value) < 32 or len(key_id) > 32:
            raise ImproperlyConfigured(
                "APPROVAL_SIGNING_KEY: expected key_id:secret pairs, each secret "
                "at least 32 characters and each key id at most 32"
            )
        keys.append((key_id, value.encode()))
    if len({k for k, _v in keys}) != len(keys):
        raise ImproperlyConfigured("APPROVAL_SIGNING_KEY: a key id appears twice")
    return keys


def fernet_keys(name: str, raw: str | None) -> list[str]:
    """Comma-separated Fernet keys, each checked."""
    from cryptography.fernet import Fernet

    keys = [k.strip() for k in (raw or "").split(",") if k.strip()]
    for n, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: key {n} is not a Fernet key (32 url-safe base64 bytes)"
            ) from None
    return keys


def jwt_public_key(value: str) -> str:
    """PEM text or a file path; a wrong path must stop the boot, not 500
    every call."""
    is_path = not value.lstrip().startswith("-----BEGIN")
    check(
        not (value and is_path and not Path(value).is_file()),
        "MOLAM_ID_JWT_PUBLIC is neither a PEM nor a readable file path",
    )
    return value


def audit_keys(private_pem: str, previous_pems: str) -> None:
    """The checkpoint keys, parsed now: a malformed one must stop the boot,
    not fail every checkpoint and answer 500 on the key's endpoint."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    if private_pem:
        try:
            key: Any = serialization.load_pem_private_key(
                private_pem.encode(), password=None
            )
        except (ValueError, TypeError):
            key = None
        check(
            isinstance(key, Ed25519PrivateKey),
            "AUDIT_SIGNING_KEY must be an Ed25519 private key (PEM PKCS#8)",
        )
    blocks = re.findall(
        r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----",
        previous_pems,
        re.DOTALL,
    )
    for block in blocks:
        try:
            public: Any = serialization.load_pem_public_key(block.encode())
        except ValueError:
            public = None
        check(
            isinstance(public, Ed25519PublicKey),
            "AUDIT_PREVIOUS_PUBLIC_KEYS must hold Ed25519 public keys (PEM)",
        )
    check(
        bool(blocks) or not previous_pems.strip(),
        "AUDIT_PREVIOUS_PUBLIC_KEYS holds no PEM public key",
    )


def connector_banks(env: environ.Env) -> dict[str, dict[str, Any]]:
    """``CONNECTOR_BANKS``: a JSON object of per-bank objects."""
    banks = env.json("CONNECTOR_BANKS", default={})
    check(
        isinstance(banks, dict) and all(isinstance(v, dict) for v in banks.values()),
        "CONNECTOR_BANKS must be a JSON object of objects",
    )
    return cast(dict[str, dict[str, Any]], banks)  # checked just above


def logging_config(level: str, fmt: str) -> dict[str, Any]:
    """``LOGGING``: one console handler on stdout for web, worker and beat
    (``molam_ops/logs.py``), records scrubbed before they are formatted."""
    check(fmt in ("json", "plain"), "LOG_FORMAT must be json or plain")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "molam_ops.logs.ContextFilter"},
            "redact": {"()": "molam_ops.logs.RedactFilter"},
        },
        "formatters": {
            "json": {"()": "molam_ops.logs.JsonFormatter"},
            "plain": {"()": "molam_ops.logs.PlainFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": fmt,
                "filters": ["context", "redact"],  # in this order: context, then scrub
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # its start-up banner on stdout would precede every command's
            # output (mint_token's token among them)
            "axes.apps": {"level": "WARNING"},
            # Django's defaults give these their own stderr handlers
            # (unfiltered, and a second copy of each line with DEBUG on):
            # through ours instead.
            "django": {"handlers": [], "level": level, "propagate": True},
            "django.server": {"handlers": [], "level": level, "propagate": True},
        },
    }


def caches(
    redis_url: str, *, key_prefix: str, cache_dir: Path, timeout: float = 0.5
) -> dict[str, Any]:
    """``CACHES``: Redis when there is one; else a file cache, shared by every
    local process (unlike locmem): the rate limit and the cached KPI summary
    must agree between the web process and the worker.

    Every Redis call waits at most ``timeout`` seconds to connect and to read:
    the cache falls back to the process's own while Redis does not answer
    (molam_ops/cache.py), and a request must not spend its time waiting."""
    if not redis_url:
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": str(cache_dir),
                "KEY_PREFIX": key_prefix,
            }
        }
    return {
        "default": {
            # Django's, with one redis client per pool (molam_ops/cache.py)
            "BACKEND": "molam_ops.cache.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": key_prefix,
            "OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout},
        }
    }


def channel_layers(redis_url: str, *, timeout: float = 0.5) -> dict[str, Any]:
    """``CHANNEL_LAYERS``: Redis when there is one; else in memory (one
    process: the development server)."""
    if not redis_url:
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    host = {
        "address": redis_url,
        # receive() blocks in BZPOPMIN for 5 s (brpop_timeout); redis-py
        # reads for 5 s by default, so every idle receive would time out on
        # our side, drop the connection and log a warning
        "socket_timeout": 15,
        # but a Redis that is down is known at once: a publication after an
        # action gives up instead of waiting
        "socket_connect_timeout": timeout,
    }
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [host]},
        }
    }
