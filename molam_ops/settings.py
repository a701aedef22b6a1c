"""The one settings module: every value comes from the environment (DESIGN §10).

Embedded defaults (no variable set, ``DEBUG=1``) need no server: SQLite under
``var/``, a filesystem Celery broker, an in-memory channel layer. Production sets
``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` and leaves ``DEBUG`` off, in which
case a secret key and the Molam ID public key are required.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import django_stubs_ext
import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

# Django's generic classes (ModelAdmin[...]) take a subscript at run time, as
# mypy sees them; here, before any admin module is imported.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("MOLAM_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()


def secret(name: str, default: str | None = None) -> str | None:
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


def _required(name: str, value: str | None) -> str:
    if not value:
        # One line naming the variable: this is what an operator sees at boot.
        raise ImproperlyConfigured(f"{name} must be set when DEBUG is off")
    return value


DEBUG = env.bool("DEBUG", default=False)
TESTING = "pytest" in sys.modules or env.bool("TESTING", default=False)
# Development conveniences (a default secret, a generated JWT key pair under
# var/) exist only with DEBUG on or under the test runner.
DEV_DEFAULTS = DEBUG or TESTING

SECRET_KEY = secret("DJANGO_SECRET_KEY") or (
    "dev-insecure-secret-key-only-for-debug" if DEV_DEFAULTS else None
)
SECRET_KEY = _required("DJANGO_SECRET_KEY", SECRET_KEY)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PORT = env.int("PORT", default=8084)

INSTALLED_APPS = [
    "modeltranslation",  # before admin (it patches the model admin)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",  # admin login lockout (hardening below)
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "molam_ops",
    "audit",
    "payouts",
    "controls",
    "approvals",
    "plans",
    "widgets",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "molam_ops.middleware.RequestContextMiddleware",
    # hardening: oversized /api bodies, then the caller's address (allowlist;
    # X-Forwarded-* only from TRUSTED_PROXIES) before anything trusts either
    "molam_ops.hardening.BodySizeMiddleware",
    "molam_ops.hardening.ClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "widgets.middleware.OperatorLanguageMiddleware",  # JWT lang, preference
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # last but the metrics: turns a locked-out sign-in into its refusal page
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "molam_ops.urls"
WSGI_APPLICATION = "molam_ops.wsgi.application"
ASGI_APPLICATION = "molam_ops.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -------------------------------------------------------------
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'molam_ops.sqlite3'}"
    )
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # The web process, the worker and beat all write: WAL lets readers go on
    # while one writes, and IMMEDIATE takes the write lock at BEGIN so two
    # writers queue instead of failing half-way with "database is locked".
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # A connection per request costs ~5x the throughput (issue 2 figures).
    _db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    _db["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- metrics ----------------------------------------------------------------
# PROMETHEUS_MULTIPROC_DIR (unset: one process, its own registry): where each
# process of a multi-process server (gunicorn's workers, a Celery worker's
# pool) writes its counters and histograms so /metrics sums them
# (molam_ops/metrics_view.py). prometheus_client reads it from the environment
# when first imported, so it is set by whoever starts the processes
# (gunicorn.conf.py, docker-compose.yml, deploy/k8s, scripts/run_local.py).
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="") or None
if PROMETHEUS_MULTIPROC_DIR:
    try:
        Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImproperlyConfigured(
            f"PROMETHEUS_MULTIPROC_DIR: cannot create {PROMETHEUS_MULTIPROC_DIR}"
            f" ({exc.strerror})"
        ) from exc
# Gauges computed from the database at scrape time: the same in every
# process, so in multi-process mode /metrics runs each once. Dotted paths to
# install(registry) functions (one process: the apps' ready() installs them).
METRICS_SCRAPE_COLLECTORS = [
    "molam_ops.collectors.install",
    "payouts.metrics.install",
    "controls.metrics.install",
    "approvals.metrics.install",
]
# WORKER_METRICS_PORT (0: none): the Celery worker serves its pool's summed
# metrics there (molam_ops/worker_metrics.py); Kubernetes scrapes worker pods.
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=0)
WORKER_METRICS_ADDRESS = env.str("WORKER_METRICS_ADDRESS", default="0.0.0.0")  # noqa: S104
if WORKER_METRICS_PORT and not PROMETHEUS_MULTIPROC_DIR:
    raise ImproperlyConfigured(
        "WORKER_METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR: the worker's tasks"
        " run in its pool's processes"
    )
CELERY_IMPORTS = ["molam_ops.worker_metrics"]
# django-prometheus's migration gauges would be one series per process.
PROMETHEUS_EXPORT_MIGRATIONS = False
# django-prometheus's database metrics (django_db_*) come from its backends,
# Django's own with each cursor timed and counted.
_db["ENGINE"] = {
    "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}.get(_db["ENGINE"], _db["ENGINE"])
if _db["ENGINE"].endswith("sqlite3"):
    # SQLite tests run in memory, as with Django's own engine: pytest-django
    # only recognises that engine by name and would otherwise derive a per-
    # worker file name from the database path ("test_/…/x.sqlite3_gw0").
    _db.setdefault("TEST", {}).setdefault("NAME", ":memory:")

# --- redis: broker, cache, channel layer ----------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Keeps apart deployments (or test servers) that share one Redis database.
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's, with one redis client per pool (molam_ops/cache.py)
            "BACKEND": "molam_ops.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # receive() blocks in BZPOPMIN for 5 s (brpop_timeout); redis-py
            # reads for 5 s by default, so every idle receive timed out on our
            # side, dropped the connection and logged a warning
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}]},
        }
    }
else:
    # Shared by every local process, unlike locmem: the rate limit and the
    # cached KPI summary must agree between the web process and the worker.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- celery -----------------------------------------------------------------
_broker_dir = VAR_DIR / "broker"
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    # acks_late: a task whose worker died is handed to another worker once
    # this many seconds have passed since its delivery (kombu's default, 1 h)
    {"visibility_timeout": env.int("BROKER_VISIBILITY_TIMEOUT", default=3600)}
    if REDIS_URL
    else {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(VAR_DIR / "broker-control"),
    }
)
if not REDIS_URL:
    _broker_dir.mkdir(exist_ok=True)
    (VAR_DIR / "broker-control").mkdir(exist_ok=True)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Liveness (molam_ops/heartbeat.py): the worker, beat and the dispatcher each
# move HEARTBEAT_DIR/<kind> every HEARTBEAT_INTERVAL seconds while their main
# loop turns; the probes read its age. Beat's scheduler beats at each tick, so
# its ticks are at most CELERY_BEAT_MAX_LOOP_INTERVAL seconds apart.
HEARTBEAT_DIR = Path(env.str("HEARTBEAT_DIR", default=str(VAR_DIR / "heartbeat")))
try:
    HEARTBEAT_INTERVAL = env.float("HEARTBEAT_INTERVAL", default=5.0)
except ValueError:
    HEARTBEAT_INTERVAL = float("nan")
# the probes allow 60 s; not (0 < x <= 60) also refuses NaN
if not 0 < HEARTBEAT_INTERVAL <= 60:
    raise ImproperlyConfigured("HEARTBEAT_INTERVAL must be > 0 and <= 60 seconds")
CELERY_BEAT_SCHEDULER = "molam_ops.heartbeat:BeatScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = HEARTBEAT_INTERVAL
OUTBOX_RELAY_INTERVAL = env.float("OUTBOX_RELAY_INTERVAL", default=2.0)
# Plan execution (plans/execution): how often beat re-checks blocked steps; a
# running step whose worker cannot be proven dead (SQLite) is orphaned after
# PLAN_STEP_TIMEOUT_SECONDS; a task finding its plan busy retries after
# PLAN_BUSY_RETRY_SECONDS.
PLAN_RESUME_INTERVAL = env.float("PLAN_RESUME_INTERVAL", default=5.0)
PLAN_STEP_TIMEOUT_SECONDS = env.int("PLAN_STEP_TIMEOUT_SECONDS", default=300)
PLAN_BUSY_RETRY_SECONDS = env.float("PLAN_BUSY_RETRY_SECONDS", default=5.0)
# beat asks SIRA for suggestions (or derives them) this often
SUGGESTIONS_REFRESH_SECONDS = env.int("SUGGESTIONS_REFRESH_SECONDS", default=60)
if SUGGESTIONS_REFRESH_SECONDS < 1:
    raise ImproperlyConfigured("SUGGESTIONS_REFRESH_SECONDS must be >= 1")
CELERY_BEAT_SCHEDULE = {
    "relay-outbox": {
        "task": "molam_ops.tasks.relay_outbox",
        "schedule": OUTBOX_RELAY_INTERVAL,
    },
    "expire-approvals": {
        "task": "approvals.tasks.expire_approvals",
        "schedule": 60.0,
    },
    "expire-controls": {
        "task": "controls.tasks.expire_controls",
        "schedule": 30.0,
    },
    "purge-idempotency-keys": {
        "task": "molam_ops.tasks.purge_idempotency_keys",
        "schedule": 3600.0,
    },
    "requeue-generating-plans": {
        "task": "plans.tasks.requeue_generating_plans",
        "schedule": 120.0,
    },
    "refresh-suggestions": {
        "task": "plans.tasks.refresh_suggestions",
        "schedule": float(SUGGESTIONS_REFRESH_SECONDS),
    },
    "resume-blocked-plan-steps": {
        "task": "plans.tasks.resume_blocked_steps",
        "schedule": PLAN_RESUME_INTERVAL,
    },
}

# --- identity (DESIGN §4) ---------------------------------------------------
MOLAM_ID_JWT_PUBLIC = secret("MOLAM_ID_JWT_PUBLIC") or ""
MOLAM_ID_ISSUER = env.str("MOLAM_ID_ISSUER", default="") or None
MOLAM_ID_AUDIENCE = env.str("MOLAM_ID_AUDIENCE", default="") or None
JWT_LEEWAY_SECONDS = env.int("JWT_LEEWAY_SECONDS", default=0)
DEV_JWT_DIR = VAR_DIR / "dev-jwt"
if not MOLAM_ID_JWT_PUBLIC and not DEV_DEFAULTS:
    _required("MOLAM_ID_JWT_PUBLIC", None)
# PEM text or a file path; a wrong path must stop the boot, not 500 every call.
_jwt_is_path = not MOLAM_ID_JWT_PUBLIC.lstrip().startswith("-----BEGIN")
if MOLAM_ID_JWT_PUBLIC and _jwt_is_path and not Path(MOLAM_ID_JWT_PUBLIC).is_file():
    raise ImproperlyConfigured(
        "MOLAM_ID_JWT_PUBLIC is neither a PEM nor a readable file path"
    )

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/admin/login/"
AUTHENTICATION_BACKENDS = [
    # first: a locked-out username and address is refused before any password
    # is checked, the right one included (django-axes; hardening below)
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "molam_ops.identity.MolamJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["molam_ops.identity.HasKnownRole"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["molam_ops.lib.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "molam_ops.pagination.OpsPagination",
    "DEFAULT_SCHEMA_CLASS": "molam_ops.schema.OpsAutoSchema",
    "EXCEPTION_HANDLER": "molam_ops.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": True,
    # ?format= is the export's own parameter (csv|json), not DRF's renderer pick
    "URL_FORMAT_OVERRIDE": None,
    # RATE_LIMIT_PER_MINUTE per caller, shared by all processes (hardening below)
    "DEFAULT_THROTTLE_CLASSES": ["molam_ops.throttling.SharedRateThrottle"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Molam Ops Controls API",
    "DESCRIPTION": "The ops control plane of Molam Pay (see DESIGN.md).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}


# --- hardening ----------------------------------------------------------------
# RATE_LIMIT_PER_MINUTE (100; 0 = off): API requests per caller (JWT subject or
#   session user) per wall-clock minute, counted in the shared cache so every
#   process draws on one budget; then 429.
# RATE_LIMIT_ANONYMOUS_PER_MINUTE (60; 0 = off): the budget of one client
#   address for /api requests without valid credentials (none, a bad or
#   expired token: the 401s) and anonymous calls of public endpoints.
# OPS_IP_ALLOWLIST ("" = every address): comma-separated CIDRs allowed on
#   /api/ops/ and /admin/; others get 403 address_not_allowed.
# TRUSTED_PROXIES (""): CIDRs of the proxies in front; only from them are
#   X-Forwarded-For (client address) and X-Forwarded-Proto (https) believed,
#   here and by uvicorn (gunicorn.conf.py and scripts/run_local.py give it
#   the same list as forwarded_allow_ips).
# SECURE_SSL_REDIRECT (off): TLS ends at the ingress, which also redirects
#   http to https; probes and Prometheus reach the pods over plain HTTP.
# SECURE_HSTS_SECONDS (1 year with DEBUG off), SECURE_HSTS_INCLUDE_SUBDOMAINS
#   (on), SECURE_HSTS_PRELOAD (off: preloading is the domain owner's call).
# SESSION_COOKIE_SECURE, CSRF_COOKIE_SECURE (on with DEBUG off).
# A bad CIDR stops the boot with one line naming the variable.
def _cidrs(name: str) -> list[str]:
    from molam_ops.lib.addresses import parse_networks  # stdlib only

    try:
        return parse_networks(name, env.str(name, default=""))
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None


RATE_LIMIT_PER_MINUTE = env.int("RATE_LIMIT_PER_MINUTE", default=100)
RATE_LIMIT_ANONYMOUS_PER_MINUTE = env.int("RATE_LIMIT_ANONYMOUS_PER_MINUTE", default=60)
OPS_IP_ALLOWLIST = _cidrs("OPS_IP_ALLOWLIST")
TRUSTED_PROXIES = _cidrs("TRUSTED_PROXIES")
if TRUSTED_PROXIES:
    # ClientAddressMiddleware drops this header from any other peer
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True
)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
# Admin sign-in (django-axes, molam_ops/logins.py): AXES_FAILURE_LIMIT (5)
#   failed logins of one username from one client address (TRUSTED_PROXIES-
#   aware, as everywhere) lock that pair out for AXES_COOLOFF_MINUTES (15; 0 =
#   until `manage.py axes_reset_username`), the right password included; each
#   attempt while locked restarts the cool-off. A success clears the count.
#   Only the attempt counters live in axes' table; lockouts are audit rows.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_MINUTES = env.int("AXES_COOLOFF_MINUTES", default=15)
if AXES_FAILURE_LIMIT < 1 or AXES_COOLOFF_MINUTES < 0:
    raise ImproperlyConfigured(
        "AXES_FAILURE_LIMIT must be >= 1 and AXES_COOLOFF_MINUTES >= 0"
    )
AXES_COOLOFF_TIME = (
    timedelta(minutes=AXES_COOLOFF_MINUTES) if AXES_COOLOFF_MINUTES else None
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "molam_ops.hardening.request_client_ip"
AXES_LOCKOUT_CALLABLE = "molam_ops.logins.lockout_response"
AXES_RESET_ON_SUCCESS = True
# axes' access log would be a second, mutable log of sign-ins beside the
# audit trail, and its admin pages would change state outside the runner
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ADMIN = False
SILENCED_SYSTEM_CHECKS = [
    # deliberate defaults, documented above: the redirect is the ingress's
    *(["security.W008"] if not SECURE_SSL_REDIRECT else []),
    *(["security.W021"] if not SECURE_HSTS_PRELOAD else []),
]
# django-csp 4. Scripts only from our origin (the dashboard loads modules);
# inline styles stay allowed because the widgets' shadow roots carry <style>.
# Swagger UI (/api/docs/) inlines its start-up script, so it is left out.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/docs/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- ops actions ------------------------------------------------------------
# Multi-signature rules (DESIGN §7); the strictest applicable rule wins.
APPROVAL_AMOUNT_TIERS_USD = [  # (strictly above this many USD, signatures)
    (env.int("APPROVAL_USD_3_SIGNATURES", default=100_000), 3),
    (env.int("APPROVAL_USD_2_SIGNATURES", default=10_000), 2),
]
APPROVAL_GLOBAL_FREEZE_SIGNATURES = env.int(
    "APPROVAL_GLOBAL_FREEZE_SIGNATURES", default=2
)
APPROVAL_PLAN_PAYOUTS_THRESHOLD = env.int(
    "APPROVAL_PLAN_PAYOUTS_THRESHOLD", default=1000
)
APPROVAL_PLAN_PAYOUTS_SIGNATURES = env.int(
    "APPROVAL_PLAN_PAYOUTS_SIGNATURES", default=2
)
APPROVAL_TTL_HOURS = env.int("APPROVAL_TTL_HOURS", default=24)
APPROVER_ROLES = ("pay_admin", "finance_ops")


def _approval_signing_keys(raw: str | None) -> list[tuple[str, bytes]]:
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


# The keyed MAC that binds an approval to what it approves, and derives its
# single-use token. Never stored in the database.
APPROVAL_SIGNING_KEYS = _approval_signing_keys(secret("APPROVAL_SIGNING_KEY"))
if not APPROVAL_SIGNING_KEYS:
    _required("APPROVAL_SIGNING_KEY", None if not DEV_DEFAULTS else "dev")
    APPROVAL_SIGNING_KEYS = [("dev", f"approval-signing:{SECRET_KEY}".encode())]

# --- plans and SIRA (DESIGN §8) ---------------------------------------------
# Fernet keys for plan_data, comma-separated: the first encrypts, all decrypt,
# so a new key goes first and the old one leaves after `reencrypt_plan_data`.
PLAN_DATA_KEYS = [k.strip() for k in (secret("PLAN_DATA_KEYS") or "").split(",")]
PLAN_DATA_KEYS = [k for k in PLAN_DATA_KEYS if k]
if not PLAN_DATA_KEYS and not DEV_DEFAULTS:
    _required("PLAN_DATA_KEYS", None)
for _n, _key in enumerate(PLAN_DATA_KEYS, start=1):
    try:
        Fernet(_key)
    except ValueError:
        raise ImproperlyConfigured(
            f"PLAN_DATA_KEYS: key {_n} is not a Fernet key (32 url-safe base64 bytes)"
        ) from None
DEV_PLAN_DATA_KEY_PATH = VAR_DIR / "dev-plan-data" / "fernet.key"
# Unset: the local planner only. Timeouts in seconds; retries after the first try.
SIRA_URL = env.str("SIRA_URL", default="").rstrip("/")
SIRA_TIMEOUT_SECONDS = env.float("SIRA_TIMEOUT_SECONDS", default=5.0)
SIRA_RETRIES = env.int("SIRA_RETRIES", default=2)
SIRA_BACKOFF_SECONDS = env.float("SIRA_BACKOFF_SECONDS", default=0.5)
SIRA_CLIENT_CERT = env.str("SIRA_CLIENT_CERT", default="")
SIRA_CLIENT_KEY = env.str("SIRA_CLIENT_KEY", default="")
SIRA_CA_BUNDLE = env.str("SIRA_CA_BUNDLE", default="")
if bool(SIRA_CLIENT_CERT) != bool(SIRA_CLIENT_KEY):
    raise ImproperlyConfigured("SIRA_CLIENT_CERT and SIRA_CLIENT_KEY go together")
if SIRA_TIMEOUT_SECONDS <= 0 or SIRA_RETRIES < 0 or SIRA_BACKOFF_SECONDS < 0:
    raise ImproperlyConfigured(
        "SIRA_TIMEOUT_SECONDS must be > 0, SIRA_RETRIES and SIRA_BACKOFF_SECONDS >= 0"
    )
# where the approvers' mail links to; in development it follows PORT
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default=f"http://127.0.0.1:{PORT}").rstrip(
    "/"
)
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=48)
EVENT_BUS_STREAM = env.str("EVENT_BUS_STREAM", default="molam.ops.events")
EVENT_BUS_TOKEN = secret("EVENT_BUS_TOKEN", default="")

# --- payout dispatcher, simulated bank connector, circuit breaker (issue 3) ---
# Standalone mode: the dispatcher sends to a simulated bank (payouts/connector.py)
# whose latency and failure rate are set here, per bank overridable with a JSON
# object keyed by bank code or id: {"bicis-sn": {"latency_ms": 900,
# "failure_rate": 0.1}}.
CONNECTOR_LATENCY_MS = env.int("CONNECTOR_LATENCY_MS", default=0)
CONNECTOR_FAILURE_RATE = env.float("CONNECTOR_FAILURE_RATE", default=0.0)
CONNECTOR_BANKS = env.json("CONNECTOR_BANKS", default={})
if not 0 <= CONNECTOR_FAILURE_RATE <= 1 or CONNECTOR_LATENCY_MS < 0:
    raise ImproperlyConfigured(
        "CONNECTOR_FAILURE_RATE must be in [0, 1], CONNECTOR_LATENCY_MS >= 0"
    )
if not isinstance(CONNECTOR_BANKS, dict) or not all(
    isinstance(v, dict) for v in CONNECTOR_BANKS.values()
):
    raise ImproperlyConfigured("CONNECTOR_BANKS must be a JSON object of objects")
# closed → open after this many failures in a row, or when the failure rate over
# the last WINDOW outcomes (at least MIN_CALLS of them) reaches FAILURE_RATE;
# open → half_open after COOLDOWN seconds.
PAYOUT_BREAKER_CONSECUTIVE_FAILURES = env.int(
    "PAYOUT_BREAKER_CONSECUTIVE_FAILURES", default=5
)
PAYOUT_BREAKER_WINDOW = env.int("PAYOUT_BREAKER_WINDOW", default=20)
PAYOUT_BREAKER_MIN_CALLS = env.int("PAYOUT_BREAKER_MIN_CALLS", default=10)
PAYOUT_BREAKER_FAILURE_RATE = env.float("PAYOUT_BREAKER_FAILURE_RATE", default=0.5)
PAYOUT_BREAKER_COOLDOWN_SECONDS = env.int("PAYOUT_BREAKER_COOLDOWN_SECONDS", default=30)
# Standalone only: the simulated rails settle a sent payout after this many
# seconds (0: never), so the demo's "settled" figures move.
PAYOUT_SETTLE_AFTER_SECONDS = env.int("PAYOUT_SETTLE_AFTER_SECONDS", default=30)

# --- i18n, time ---------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
# Stored human text (bank names, control descriptions, suggestion texts) in
# every UI language; an empty translation falls back to English, then French.
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_LANGUAGES = ("en", "fr")
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en", "fr")

# --- live widgets (widgets/live.py) -------------------------------------------
# The KPI summary is cached this long (seconds; 0: computed on every read);
# ops actions drop it when they commit. Sockets recompute every
# KPI_LIVE_INTERVAL seconds to follow changes made outside the runner.
KPI_CACHE_SECONDS = env.float("KPI_CACHE_SECONDS", default=2.0)
KPI_LIVE_INTERVAL = env.float("KPI_LIVE_INTERVAL", default=5.0)
USE_TZ = True

STATIC_URL = "/static/"
# The container image collects static files at build time outside var/, which
# is a writable volume at run time (the image's root filesystem is read-only).
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1_048_576)

DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ops-controls@molam.test")
# EMAIL_URL (django-environ): smtp://user:password@host:25, smtp+tls://…:587,
# smtp+ssl://…:465, or consolemail:// (print to stdout, the DEBUG default).
# Production defaults to the host's own relay; approvers' mail is advisory (the
# request stands without it) and a failed send is logged, never swallowed.
vars().update(
    env.email_url(
        "EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25"
    )
)

# --- logging ------------------------------------------------------------------
# Web, worker and beat log to stdout through one handler (molam_ops/logs.py):
# LOG_FORMAT=json (default with DEBUG off) writes one JSON object per line with
# time (ISO 8601 UTC), level, logger, message, request_id, actor, action,
# action_id, outcome (null when not applicable) and any extra fields;
# LOG_FORMAT=plain (default with DEBUG on, so `make run` reads well) a line for
# humans. LOG_LEVEL is the root level. Tokens, keys and passwords are scrubbed
# from every record before it is formatted.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json").lower()
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or plain")
LOGGING = {
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
            "formatter": LOG_FORMAT,
            "filters": ["context", "redact"],  # in this order: context, then scrub
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # its start-up banner on stdout would precede every command's output
        # (mint_token's token among them)
        "axes.apps": {"level": "WARNING"},
        # Django's defaults give these their own stderr handlers (unfiltered,
        # and a second copy of each line with DEBUG on): through ours instead.
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.server": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
    },
}
