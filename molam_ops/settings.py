"""The one settings module: every value comes from the environment (DESIGN §10).

Embedded defaults (no variable set, ``DEBUG=1``) need no server: SQLite under
``var/``, a filesystem Celery broker, an in-memory channel layer. Production sets
``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` and leaves ``DEBUG`` off, in which
case a secret key and the Molam ID public key are required.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import django_stubs_ext
import environ

from molam_ops.lib import envconfig, wiring
from molam_ops.lib.envconfig import check, required

# Django's generic classes (ModelAdmin[...]) take a subscript at run time, as
# mypy sees them; here, before any admin module is imported.
django_stubs_ext.monkeypatch()

env = environ.Env()
BASE_DIR = Path(__file__).resolve().parent.parent
# Writable state of the embedded defaults (SQLite, broker, cache, static files,
# development keys); molam_ops.boot.prepare_directories makes it at start-up.
VAR_DIR = Path(env.str("MOLAM_VAR_DIR", default=str(BASE_DIR / "var")))


def secret(name: str, default: str | None = None) -> str | None:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE``."""
    return envconfig.secret(env, name, default)


DEBUG = env.bool("DEBUG", default=False)
# TESTING: set by the test suite's settings (tests/settings.py), never in a
# deployment. Development conveniences (a default secret, a generated JWT key
# pair under var/) exist only with DEBUG on or under the tests.
TESTING = env.bool("TESTING", default=False)
DEV_DEFAULTS = DEBUG or TESTING

SECRET_KEY = required(
    "DJANGO_SECRET_KEY",
    secret("DJANGO_SECRET_KEY")
    or ("dev-insecure-secret-key-only-for-debug" if DEV_DEFAULTS else None),
)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PORT = env.int("PORT", default=8084)
# Pages of other origins (a web client, a React Native app in a browser)
# that may call /api/ with a bearer token and open the KPI socket
# (widgets/auth.py): comma-separated origins, scheme://host[:port]
# (http://localhost:8081,https://ops.example.com). Empty (the default): none,
# and the service's own pages need nothing here. The fixed part of the
# policy (headers, no cookies) is in molam_ops/lib/wiring.py.
CORS_ALLOWED_ORIGINS = envconfig.origins(env, "CORS_ALLOWED_ORIGINS")

# Fixed wiring (molam_ops/lib/wiring.py): no deployment changes it.
INSTALLED_APPS = wiring.INSTALLED_APPS
MIDDLEWARE = wiring.MIDDLEWARE
TEMPLATES = wiring.TEMPLATES
AUTH_PASSWORD_VALIDATORS = wiring.AUTH_PASSWORD_VALIDATORS
AUTHENTICATION_BACKENDS = wiring.AUTHENTICATION_BACKENDS
REST_FRAMEWORK = wiring.REST_FRAMEWORK
# The OpenAPI document's server: "/" (this origin) unless a deployment names
# the public API URL, for code generators that need an absolute one.
SPECTACULAR_SETTINGS = {
    **wiring.SPECTACULAR_SETTINGS,
    "SERVERS": [{"url": env.str("OPENAPI_SERVER_URL", default="/")}],
}
CONTENT_SECURITY_POLICY = wiring.CONTENT_SECURITY_POLICY
CORS_URLS_REGEX = wiring.CORS_URLS_REGEX
CORS_ALLOW_HEADERS = wiring.CORS_ALLOW_HEADERS
CORS_EXPOSE_HEADERS = wiring.CORS_EXPOSE_HEADERS
CORS_ALLOW_CREDENTIALS = wiring.CORS_ALLOW_CREDENTIALS

ROOT_URLCONF = "molam_ops.urls"
WSGI_APPLICATION = "molam_ops.wsgi.application"
ASGI_APPLICATION = "molam_ops.asgi.application"

# --- database -------------------------------------------------------------
# SQLite (WAL, IMMEDIATE transactions) or PostgreSQL with persistent
# connections (CONN_MAX_AGE seconds); both through django-prometheus's backends
# (molam_ops/lib/envconfig.py).
DATABASES = {
    "default": envconfig.database(
        env.db_url(
            "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'molam_ops.sqlite3'}"
        ),
        conn_max_age=env.int("CONN_MAX_AGE", default=60),
        # PostgreSQL: seconds to wait for a connection before the request
        # answers 503 service_unavailable (libpq counts at least 2)
        connect_timeout=env.int("DATABASE_CONNECT_TIMEOUT", default=3),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- metrics ----------------------------------------------------------------
# PROMETHEUS_MULTIPROC_DIR (unset: one process, its own registry): where each
# process of a multi-process server (gunicorn's workers, a Celery worker's
# pool) writes its counters and histograms so /metrics sums them
# (molam_ops/metrics_view.py). prometheus_client reads it from the environment
# when first imported, so it is set by whoever starts the processes
# (gunicorn.conf.py, docker-compose.yml, deploy/k8s, scripts/run_local.py).
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="") or None
# Gauges computed from the database at scrape time: the same in every
# process, so in multi-process mode /metrics runs each once. Dotted paths to
# install(registry) functions (one process: the apps' ready() installs them).
METRICS_SCRAPE_COLLECTORS = [
    "molam_ops.collectors.install",
    "payouts.metrics.install",
    "controls.metrics.install",
    "approvals.metrics.install",
    "audit.metrics.install",
]
# WORKER_METRICS_PORT (0: none): the Celery worker serves its pool's summed
# metrics there (molam_ops/worker_metrics.py); Kubernetes scrapes worker pods.
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=0)
WORKER_METRICS_ADDRESS = env.str("WORKER_METRICS_ADDRESS", default="0.0.0.0")  # noqa: S104
check(
    not WORKER_METRICS_PORT or bool(PROMETHEUS_MULTIPROC_DIR),
    "WORKER_METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR: the worker's tasks"
    " run in its pool's processes",
)
CELERY_IMPORTS = ["molam_ops.worker_metrics"]
# django-prometheus's migration gauges would be one series per process.
PROMETHEUS_EXPORT_MIGRATIONS = False

# --- redis: broker, cache, channel layer ----------------------------------
# Nothing an action changes lives in Redis (DESIGN §10): while it is down each
# process uses a cache of its own (the rate limit counts per process, with
# the same budget) and skips the relay's nudge and the KPI publication
# (molam_ops/outages.py). REDIS_TIMEOUT_SECONDS bounds each wait for Redis
# (connect and read) on a request's path; REDIS_RETRY_SECONDS is how often a
# process that found it down tries it again.
REDIS_URL = env.str("REDIS_URL", default="")
REDIS_TIMEOUT_SECONDS = envconfig.interval(env, "REDIS_TIMEOUT_SECONDS", 0.5, most=10)
REDIS_RETRY_SECONDS = envconfig.interval(env, "REDIS_RETRY_SECONDS", 2.0, most=60)
# Keeps apart deployments (or test servers) that share one Redis database.
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="")
CACHES = envconfig.caches(
    REDIS_URL,
    key_prefix=CACHE_KEY_PREFIX,
    cache_dir=VAR_DIR / "cache",
    timeout=REDIS_TIMEOUT_SECONDS,
)
CHANNEL_LAYERS = envconfig.channel_layers(REDIS_URL, timeout=REDIS_TIMEOUT_SECONDS)

# --- celery -----------------------------------------------------------------
# Every task is bounded, so "the longest task" is a number: a task past its
# hard limit is killed (prefork pool) and, acks_late, handed out again.
# TASK_TIME_LIMIT bounds them all; plan execution and generation have their
# own (plans/tasks.py, plans/execution_tasks.py).
TASK_TIME_LIMIT = envconfig.interval(env, "TASK_TIME_LIMIT", 300.0, most=3600)
# a task of execute_plan_steps stops claiming steps after half of it, and
# queues the rest of the plan as a new task
PLAN_EXECUTION_TIME_LIMIT = envconfig.interval(
    env, "PLAN_EXECUTION_TIME_LIMIT", 900.0, most=3600
)
SIRA_TIMEOUT_SECONDS = env.float("SIRA_TIMEOUT_SECONDS", default=5.0)
SIRA_RETRIES = env.int("SIRA_RETRIES", default=2)
SIRA_BACKOFF_SECONDS = env.float("SIRA_BACKOFF_SECONDS", default=0.5)
# SIRA's worst case: every attempt timing out in each of connect, send and
# read, and the longest backoff (8 x base, plus jitter) between them
SIRA_WORST_SECONDS = (SIRA_RETRIES + 1) * 3 * SIRA_TIMEOUT_SECONDS + max(
    SIRA_RETRIES, 0
) * 8.5 * SIRA_BACKOFF_SECONDS
# one plan's generation: SIRA's worst case, then the local planner
PLAN_GENERATION_TIME_LIMIT = envconfig.interval(
    env, "PLAN_GENERATION_TIME_LIMIT", 120.0, most=3600
)
check(
    PLAN_GENERATION_TIME_LIMIT > SIRA_WORST_SECONDS,
    f"PLAN_GENERATION_TIME_LIMIT must exceed SIRA's worst case"
    f" ({SIRA_WORST_SECONDS:g} s: SIRA_TIMEOUT_SECONDS x (SIRA_RETRIES + 1)"
    " plus the backoff)",
)
CELERY_TASK_TIME_LIMIT = TASK_TIME_LIMIT
LONGEST_TASK_SECONDS = max(
    TASK_TIME_LIMIT, PLAN_EXECUTION_TIME_LIMIT, PLAN_GENERATION_TIME_LIMIT
)
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    # acks_late: a message whose worker died is handed to another worker once
    # this many seconds have passed since its delivery. Never before the
    # longest task could have ended: a live task's message is not duplicated.
    # A redelivered message re-runs nothing finished (the rows decide), and
    # a dead worker's plan step is taken up by beat long before (its lease).
    {
        "visibility_timeout": env.int(
            "BROKER_VISIBILITY_TIMEOUT", default=int(LONGEST_TASK_SECONDS) + 60
        ),
        "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
        # a Redis that accepts connections but does not answer would hold a
        # publish for ever (kombu waits without limit by default); the
        # consumer's BRPOP answers within 1 s
        "socket_timeout": 5,
    }
    if REDIS_URL
    else {
        "data_folder_in": str(VAR_DIR / "broker"),
        "data_folder_out": str(VAR_DIR / "broker"),
        "control_folder": str(VAR_DIR / "broker-control"),
    }
)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# A task queued from a request (after its action committed) tries the broker
# once more at once, then gives up (the caller logs it; beat's sweeps pick the
# work up): Celery's default three retries cost 0.6 s against a broker that
# is down, and apply_async(retry=False) about 6 s (kombu then waits for a
# connection for broker_connection_timeout, retrying)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.1,
}
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
# the probes allow 60 s
HEARTBEAT_INTERVAL = envconfig.interval(env, "HEARTBEAT_INTERVAL", 5.0, most=60)
CELERY_BEAT_SCHEDULER = "molam_ops.heartbeat:BeatScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = HEARTBEAT_INTERVAL
OUTBOX_RELAY_INTERVAL = env.float("OUTBOX_RELAY_INTERVAL", default=2.0)
# Plan execution (plans/execution): how often beat re-checks blocked steps; a
# task finding its plan busy retries after PLAN_BUSY_RETRY_SECONDS.
PLAN_RESUME_INTERVAL = env.float("PLAN_RESUME_INTERVAL", default=5.0)
# A running step, and a plan being generated, hold a lease of
# PLAN_LEASE_SECONDS that their worker renews (plans/execution/leases.py);
# every PLAN_LEASE_SWEEP_INTERVAL beat takes up the work of a lease that
# expired. The bounds keep the promise of DESIGN §8: a dead worker's step is
# taken up within 2 minutes (lease + sweep <= 120 s).
PLAN_LEASE_SECONDS = envconfig.interval(env, "PLAN_LEASE_SECONDS", 30.0, most=90)
PLAN_LEASE_SWEEP_INTERVAL = envconfig.interval(
    env, "PLAN_LEASE_SWEEP_INTERVAL", 15.0, most=30
)
PLAN_BUSY_RETRY_SECONDS = env.float("PLAN_BUSY_RETRY_SECONDS", default=5.0)
# beat asks SIRA for suggestions (or derives them) this often
SUGGESTIONS_REFRESH_SECONDS = env.int("SUGGESTIONS_REFRESH_SECONDS", default=60)
check(SUGGESTIONS_REFRESH_SECONDS >= 1, "SUGGESTIONS_REFRESH_SECONDS must be >= 1")
# and when a bank's health changes or a pause or freeze is switched, once per
# this many seconds at most: the first change queues a refresh at once, the
# changes within this window one more, swept by beat at its end, so a burst
# of changes (a bank failing, its breaker opening and pausing it) costs SIRA
# two calls
SUGGESTIONS_DEBOUNCE_SECONDS = env.float("SUGGESTIONS_DEBOUNCE_SECONDS", default=5.0)
check(SUGGESTIONS_DEBOUNCE_SECONDS >= 0, "SUGGESTIONS_DEBOUNCE_SECONDS must be >= 0")
# beat signs a Merkle checkpoint of the audit log this often (DESIGN §3
# promises at least every minute while rows are added)
AUDIT_CHECKPOINT_INTERVAL = envconfig.interval(
    env, "AUDIT_CHECKPOINT_INTERVAL", 30.0, most=60
)
# ops_actions_log on PostgreSQL: rows per partition (ranges of seq,
# audit/partitions.py); beat keeps at least one empty partition ahead of the
# rows, checking every AUDIT_PARTITION_INTERVAL seconds.
AUDIT_PARTITION_ROWS = env.int("AUDIT_PARTITION_ROWS", default=1_000_000)
check(AUDIT_PARTITION_ROWS >= 1, "AUDIT_PARTITION_ROWS must be >= 1")
AUDIT_PARTITION_INTERVAL = env.float("AUDIT_PARTITION_INTERVAL", default=300.0)
CELERY_BEAT_SCHEDULE = {  # name: task, every so many seconds
    name: {"task": task, "schedule": every}
    for name, task, every in [
        ("relay-outbox", "molam_ops.tasks.relay_outbox", OUTBOX_RELAY_INTERVAL),
        ("expire-approvals", "approvals.tasks.expire_approvals", 60.0),
        ("expire-controls", "controls.tasks.expire_controls", 30.0),
        ("purge-idempotency-keys", "molam_ops.tasks.purge_idempotency_keys", 3600.0),
        ("purge-outbox", "molam_ops.tasks.purge_outbox", 3600.0),
        ("purge-audit-jobs", "audit.tasks.purge_audit_jobs", 600.0),
        (
            "ensure-audit-partitions",
            "audit.tasks.ensure_partitions",
            AUDIT_PARTITION_INTERVAL,
        ),
        (
            "requeue-generating-plans",
            "plans.tasks.requeue_generating_plans",
            PLAN_LEASE_SWEEP_INTERVAL,
        ),
        (
            "take-up-orphaned-plan-steps",
            "plans.tasks.take_up_orphaned_steps",
            PLAN_LEASE_SWEEP_INTERVAL,
        ),
        (
            "refresh-suggestions",
            "plans.tasks.refresh_suggestions",
            float(SUGGESTIONS_REFRESH_SECONDS),
        ),
        (
            "refresh-suggestions-if-changed",
            "plans.tasks.refresh_suggestions_if_changed",
            max(1.0, SUGGESTIONS_DEBOUNCE_SECONDS),
        ),
        (
            "resume-blocked-plan-steps",
            "plans.tasks.resume_blocked_steps",
            PLAN_RESUME_INTERVAL,
        ),
        (
            "sign-audit-checkpoint",
            "audit.tasks.sign_checkpoint",
            AUDIT_CHECKPOINT_INTERVAL,
        ),
    ]
}

# --- audit jobs (audit/jobs.py) ---------------------------------------------
# A request holds a web worker for no longer than about a second: an export or
# a chain verification over more than AUDIT_SYNC_MAX_ROWS rows runs as a job
# on a worker, its result a file under AUDIT_JOB_DIR that beat deletes with
# the job AUDIT_JOB_TTL_HOURS after it ended. The directory must be shared by
# the web and worker processes (a volume in Kubernetes). A verification walks
# ~13,000 rows a second (benchmarks/audit_scale.py), an export ~20,000.
AUDIT_SYNC_MAX_ROWS = env.int("AUDIT_SYNC_MAX_ROWS", default=5_000)
check(AUDIT_SYNC_MAX_ROWS >= 0, "AUDIT_SYNC_MAX_ROWS must be >= 0")
AUDIT_JOB_DIR = Path(env.str("AUDIT_JOB_DIR", default=str(VAR_DIR / "audit-jobs")))
AUDIT_JOB_TTL_HOURS = env.int("AUDIT_JOB_TTL_HOURS", default=24)
check(AUDIT_JOB_TTL_HOURS >= 1, "AUDIT_JOB_TTL_HOURS must be >= 1")

# --- identity (DESIGN §4) ---------------------------------------------------
MOLAM_ID_JWT_PUBLIC = secret("MOLAM_ID_JWT_PUBLIC") or ""
MOLAM_ID_ISSUER = env.str("MOLAM_ID_ISSUER", default="") or None
MOLAM_ID_AUDIENCE = env.str("MOLAM_ID_AUDIENCE", default="") or None
JWT_LEEWAY_SECONDS = env.int("JWT_LEEWAY_SECONDS", default=0)
DEV_JWT_DIR = VAR_DIR / "dev-jwt"
if not DEV_DEFAULTS:
    required("MOLAM_ID_JWT_PUBLIC", MOLAM_ID_JWT_PUBLIC)
# PEM text or a file path (checked now: a wrong path would 500 every call)
envconfig.jwt_public_key(MOLAM_ID_JWT_PUBLIC)

LOGIN_URL = "/admin/login/"


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
RATE_LIMIT_PER_MINUTE = env.int("RATE_LIMIT_PER_MINUTE", default=100)
RATE_LIMIT_ANONYMOUS_PER_MINUTE = env.int("RATE_LIMIT_ANONYMOUS_PER_MINUTE", default=60)
OPS_IP_ALLOWLIST = envconfig.cidrs(env, "OPS_IP_ALLOWLIST")
TRUSTED_PROXIES = envconfig.cidrs(env, "TRUSTED_PROXIES")
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
check(
    AXES_FAILURE_LIMIT >= 1 and AXES_COOLOFF_MINUTES >= 0,
    "AXES_FAILURE_LIMIT must be >= 1 and AXES_COOLOFF_MINUTES >= 0",
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
# The keyed MAC that binds an approval to what it approves, and derives its
# single-use token. Never stored in the database. ``key_id:secret`` pairs,
# comma- or newline-separated: the first signs, every one verifies (rotation:
# the new key first; the old one leaves once its approvals have closed, ≤ TTL).
APPROVAL_SIGNING_KEYS = envconfig.approval_signing_keys(secret("APPROVAL_SIGNING_KEY"))
if not APPROVAL_SIGNING_KEYS:
    required("APPROVAL_SIGNING_KEY", None if not DEV_DEFAULTS else "dev")
    APPROVAL_SIGNING_KEYS = [("dev", f"approval-signing:{SECRET_KEY}".encode())]

# --- plans and SIRA (DESIGN §8) ---------------------------------------------
# Fernet keys for plan_data, comma-separated: the first encrypts, all decrypt,
# so a new key goes first and the old one leaves after `reencrypt_plan_data`.
PLAN_DATA_KEYS = envconfig.fernet_keys("PLAN_DATA_KEYS", secret("PLAN_DATA_KEYS"))
if not PLAN_DATA_KEYS and not DEV_DEFAULTS:
    required("PLAN_DATA_KEYS", None)
DEV_PLAN_DATA_KEY_PATH = VAR_DIR / "dev-plan-data" / "fernet.key"
# Unset: the local planner only. Timeouts in seconds; retries after the first try.
SIRA_URL = env.str("SIRA_URL", default="").rstrip("/")
SIRA_CLIENT_CERT = env.str("SIRA_CLIENT_CERT", default="")
SIRA_CLIENT_KEY = env.str("SIRA_CLIENT_KEY", default="")
SIRA_CA_BUNDLE = env.str("SIRA_CA_BUNDLE", default="")
check(
    bool(SIRA_CLIENT_CERT) == bool(SIRA_CLIENT_KEY),
    "SIRA_CLIENT_CERT and SIRA_CLIENT_KEY go together",
)
check(
    SIRA_TIMEOUT_SECONDS > 0 and SIRA_RETRIES >= 0 and SIRA_BACKOFF_SECONDS >= 0,
    "SIRA_TIMEOUT_SECONDS must be > 0, SIRA_RETRIES and SIRA_BACKOFF_SECONDS >= 0",
)
# where the approvers' mail links to; in development it follows PORT
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default=f"http://127.0.0.1:{PORT}").rstrip(
    "/"
)
# --- audit checkpoints (DESIGN §3, audit/signing.py) ------------------------
# The Ed25519 key that signs the audit log's Merkle checkpoints (PEM PKCS#8),
# never stored in the database; AUDIT_PREVIOUS_PUBLIC_KEYS (PEMs, one after
# the other) still verify checkpoints signed before a rotation. In
# development and tests a key is generated once under var/.
AUDIT_SIGNING_KEY = secret("AUDIT_SIGNING_KEY") or ""
if not DEV_DEFAULTS:
    required("AUDIT_SIGNING_KEY", AUDIT_SIGNING_KEY)
DEV_AUDIT_SIGNING_KEY_PATH = VAR_DIR / "dev-audit" / "checkpoint-ed25519.pem"
AUDIT_PREVIOUS_PUBLIC_KEYS = secret("AUDIT_PREVIOUS_PUBLIC_KEYS") or ""
envconfig.audit_keys(AUDIT_SIGNING_KEY, AUDIT_PREVIOUS_PUBLIC_KEYS)
# the first line of the C2SP checkpoint note, and its key name
AUDIT_LOG_ORIGIN = env.str("AUDIT_LOG_ORIGIN", default="") or (
    f"{urlsplit(PUBLIC_BASE_URL).netloc}/audit"
)
check(
    bool(AUDIT_LOG_ORIGIN.strip())
    and not any(c.isspace() or c == "+" for c in AUDIT_LOG_ORIGIN),
    "AUDIT_LOG_ORIGIN must be non-empty, without spaces or '+'",
)
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=48)
EVENT_BUS_STREAM = env.str("EVENT_BUS_STREAM", default="molam.ops.events")
# Sent events are kept this long (replays, inspection), then beat deletes them:
# every audit row is an event, so the outbox would otherwise grow with the log.
OUTBOX_RETENTION_HOURS = env.int("OUTBOX_RETENTION_HOURS", default=72)
check(OUTBOX_RETENTION_HOURS >= 1, "OUTBOX_RETENTION_HOURS must be >= 1")
EVENT_BUS_TOKEN = secret("EVENT_BUS_TOKEN", default="")

# --- payout dispatcher, simulated bank connector, circuit breaker ------------
# Standalone mode: the dispatcher sends to a simulated bank (payouts/connector.py)
# whose latency and failure rate are set here, per bank overridable with a JSON
# object keyed by bank code or id: {"bicis-sn": {"latency_ms": 900,
# "failure_rate": 0.1}}.
CONNECTOR_LATENCY_MS = env.int("CONNECTOR_LATENCY_MS", default=0)
CONNECTOR_FAILURE_RATE = env.float("CONNECTOR_FAILURE_RATE", default=0.0)
CONNECTOR_BANKS = envconfig.connector_banks(env)
check(
    0 <= CONNECTOR_FAILURE_RATE <= 1 and CONNECTOR_LATENCY_MS >= 0,
    "CONNECTOR_FAILURE_RATE must be in [0, 1], CONNECTOR_LATENCY_MS >= 0",
)
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
# Content-hashed names (manage.py collectstatic writes the manifest; `make run`
# and the image run it), so a release never serves a stale script.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "molam_ops.lib.staticfiles.HashedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1_048_576)
# How deep arrays and objects may nest in a JSON body (molam_ops/lib/parsers.py):
# deeper is a 400 before it is decoded. Actions' inputs nest a few levels;
# Python's decoder recurses once per level, so the ceiling stays far below its
# recursion limit.
JSON_MAX_DEPTH = env.int("JSON_MAX_DEPTH", default=32)
check(1 <= JSON_MAX_DEPTH <= 256, "JSON_MAX_DEPTH must be from 1 to 256")

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
LOGGING = envconfig.logging_config(LOG_LEVEL, LOG_FORMAT)
