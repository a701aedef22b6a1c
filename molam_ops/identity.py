"""Who is calling: Molam ID JWTs (RS256 only) and session users (DESIGN §4).

Verification is simplejwt's ``TokenBackend`` (PyJWT underneath) pinned to
RS256, so ``alg: none`` and HS256-signed-with-the-public-key tokens are refused
by the library, not by code of ours. No database lookup: a JWT caller is a
stateless principal built from its claims.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError

from molam_ops.models import OperatorIdentity

# Highest first: the acting role recorded in audit is the highest one allowed.
ROLE_ORDER = ("pay_admin", "finance_ops", "ops")
KNOWN_ROLES = frozenset(ROLE_ORDER)
SYSTEM_ROLE = "system"


@dataclass(frozen=True)
class Principal:
    """The caller of an action: a person (JWT or session) or the system."""

    id: str
    roles: frozenset[str]
    kind: str = "jwt"  # jwt | session | system
    email: str = ""
    lang: str = ""
    claims: dict[str, Any] = field(default_factory=dict, compare=False)

    # DRF's IsAuthenticated and request.user checks read these.
    is_authenticated = True
    is_active = True

    @property
    def pk(self) -> str:
        return self.id

    def acting_role(self, allowed: frozenset[str]) -> str | None:
        for role in ROLE_ORDER:
            if role in self.roles and role in allowed:
                return role
        if SYSTEM_ROLE in self.roles and SYSTEM_ROLE in allowed:
            return SYSTEM_ROLE
        return None


def system_principal(name: str = "system") -> Principal:
    return Principal(id=name, roles=frozenset({SYSTEM_ROLE}), kind="system")


def principal_from_user(user: Any) -> Principal | None:
    """A Django user (a session, an admin action) as the person it belongs to:
    its Molam ID subject, so that the same person's bearer token, session and
    admin clicks are one principal (one actor in the audit log, one initiator,
    one signer). Its roles are its groups named like the roles.

    A user not linked to a subject is not known to be anyone the tokens know:
    it acts as ``user:<pk>`` with no role, so it can read nothing and sign
    nothing until an administrator links it (the user's page in the admin).
    """
    if isinstance(user, Principal):
        return user
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    # asked several times per request (rate limit, allowlist, view): once
    cached: Principal | None = getattr(user, "_molam_principal", None)
    if cached is not None:
        return cached
    subject = operator_subject(user)
    roles = frozenset(user.groups.values_list("name", flat=True)) & KNOWN_ROLES
    principal = Principal(
        id=subject or f"user:{user.pk}",
        roles=roles if subject else frozenset(),
        kind="session",
        email=user.email or "",
    )
    user._molam_principal = principal
    return principal


def operator_subject(user: Any) -> str | None:
    """The Molam ID subject linked to a Django user, if any."""
    return subject_of_user_pk(user.pk)


def subject_of_user_pk(user_pk: Any) -> str | None:
    return (
        OperatorIdentity.objects.filter(user_id=user_pk)
        .values_list("molam_subject", flat=True)
        .first()
    )


# --- keys ---------------------------------------------------------------------


@lru_cache(maxsize=4)
def _read_pem(value: str) -> str:
    """PEM text, or the text of the file it names (read once per process: the
    key is on every request's path; rotating it means restarting, as a
    change of settings does)."""
    if value.lstrip().startswith("-----BEGIN"):
        return value
    return Path(value).read_text()


def dev_key_path() -> Path:
    return Path(settings.DEV_JWT_DIR) / "private.pem"


def ensure_dev_keypair() -> tuple[str, str]:
    """Make (once) and return the development RSA pair (private, public PEM).

    Only the private key is stored, written under a temporary name and renamed,
    so processes starting together can never pair one's public key with
    another's private key; the public key is derived from it.
    """
    path = dev_key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        tmp = path.with_name(f".private-{uuid.uuid4().hex}.pem")
        tmp.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        tmp.chmod(0o600)
        if path.exists():  # another process won the race: keep its key
            tmp.unlink()
        else:
            tmp.rename(path)
    private_pem = path.read_bytes()
    return private_pem.decode(), _public_of(private_pem)


@lru_cache(maxsize=4)
def _public_of(private_pem: bytes) -> str:
    key = serialization.load_pem_private_key(private_pem, password=None)
    return (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode()
    )


def public_key_pem() -> str:
    if settings.MOLAM_ID_JWT_PUBLIC:
        return _read_pem(settings.MOLAM_ID_JWT_PUBLIC)
    if settings.DEV_DEFAULTS:
        return _dev_public_key(str(dev_key_path()))
    raise exceptions.AuthenticationFailed(_("No token verification key configured."))


@lru_cache(maxsize=4)
def _dev_public_key(path: str) -> str:
    return ensure_dev_keypair()[1]


@lru_cache(maxsize=8)
def _backend(
    pem: str, issuer: str | None, audience: str | None, leeway: int
) -> TokenBackend:
    return TokenBackend(
        "RS256", verifying_key=pem, issuer=issuer, audience=audience, leeway=leeway
    )


def token_backend() -> TokenBackend:
    return _backend(
        public_key_pem(),
        settings.MOLAM_ID_ISSUER,
        settings.MOLAM_ID_AUDIENCE,
        settings.JWT_LEEWAY_SECONDS,
    )


@lru_cache(maxsize=1024)
def _verified_claims(raw: str, backend: TokenBackend) -> Mapping[str, Any]:
    """The claims of a token whose signature, issuer and audience ``backend``
    accepted. A client sends the same token on every request, and PyJWT's
    decode (base64 checks, RSA verify) was a tenth of a replay's CPU; only
    success is cached, and the expiry is checked again on every use
    (:func:`decode_token`). Keyed by the backend, so another key or issuer
    (a settings change) never reuses a verdict."""
    # simplejwt annotates a Token but decodes the raw JWT text, as its own
    # Token class passes it
    return MappingProxyType(backend.decode(raw))  # type: ignore[arg-type]


def decode_token(raw: str) -> Principal:
    """Verify a Molam ID token and build its principal, or raise 401."""
    try:
        claims = _verified_claims(raw, token_backend())
    except TokenBackendError as exc:
        raise exceptions.AuthenticationFailed(
            _("The token is invalid or expired."), code="token_invalid"
        ) from exc
    sub = claims.get("sub")
    if "exp" not in claims:
        raise exceptions.AuthenticationFailed(
            _("The token has no expiry."), code="token_invalid"
        )
    # PyJWT's own rule (it parsed exp with int()), re-applied: a cached token ages
    if int(claims["exp"]) <= time.time() - settings.JWT_LEEWAY_SECONDS:
        raise exceptions.AuthenticationFailed(
            _("The token is invalid or expired."), code="token_invalid"
        )
    if not isinstance(sub, str) or not sub:
        raise exceptions.AuthenticationFailed(
            _("The token names no subject."), code="token_invalid"
        )
    raw_roles = claims.get("roles") or []
    roles = raw_roles if isinstance(raw_roles, list) else []
    return Principal(
        id=sub,
        roles=frozenset(r for r in roles if isinstance(r, str)) & KNOWN_ROLES,
        kind="jwt",
        email=str(claims.get("email") or ""),
        lang=str(claims.get("lang") or ""),
        claims=dict(claims),
    )


class MolamJWTAuthentication(JWTStatelessUserAuthentication):
    """``Authorization: Bearer <JWT>`` → a stateless :class:`Principal`."""

    www_authenticate_realm = "molam-ops"

    # DRF takes any (user, auth) pair from an authenticator; simplejwt's
    # annotation narrows it to its own user and Token classes
    def authenticate(  # type: ignore[override]
        self, request: Request
    ) -> tuple[Principal, str] | None:
        header = self.get_header(request)
        if header is None:
            return None
        raw = self.get_raw_token(header)
        if raw is None:
            return None
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(
                _("The token is invalid or expired."), code="token_invalid"
            ) from exc
        return decode_token(text), text


def request_principal(request: Request) -> Principal | None:
    return principal_from_user(getattr(request, "user", None))


def required_principal(request: Request) -> Principal:
    """The caller, in a view whose permission class has already required one."""
    principal = request_principal(request)
    if principal is None:
        raise exceptions.NotAuthenticated()
    return principal


class HasKnownRole(BasePermission):
    """Authenticated and holding at least one known role (every GET, DESIGN §4)."""

    message = _("Your roles do not allow this.")

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request_principal(request)
        if principal is None:
            raise exceptions.NotAuthenticated()
        return bool(principal.roles & KNOWN_ROLES)
