"""The fixed wiring of Django and its add-ons: apps, middleware, templates,
DRF, the OpenAPI generator, the content security policy.

No deployment changes these, so nothing here reads the environment;
``molam_ops/settings.py`` names each of them next to what a deployment does
configure.
"""

from corsheaders.defaults import default_headers as cors_default_headers

INSTALLED_APPS = [
    "modeltranslation",  # before admin (it patches the model admin)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",  # admin login lockout (settings.py, hardening)
    "corsheaders",  # other origins' pages on the API (CORS_* below)
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
    # before every middleware that can answer: a preflight is answered here
    # (never 401, never counted by the rate limit: it carries no
    # credentials), and each refusal below (413, 403 address_not_allowed,
    # the views' 401/403/409/429/503) gets Access-Control-Allow-Origin, so a
    # page of an allowed origin can read why it was refused
    "corsheaders.middleware.CorsMiddleware",
    # hardening: oversized /api bodies, then the caller's address (allowlist;
    # X-Forwarded-* only from TRUSTED_PROXIES) before anything trusts either
    "molam_ops.hardening.BodySizeMiddleware",
    # U+0000 or a lone surrogate in the path, query or a header; a long token
    "molam_ops.input_bounds.InputBoundsMiddleware",
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


# django-cors-headers: WHICH other origins may call the API is a deployment's
# choice (CORS_ALLOWED_ORIGINS, settings.py, empty by default); HOW is fixed.
# Only the API: the admin and the dashboard are pages of this origin.
CORS_URLS_REGEX = r"^/api/"
CORS_ALLOW_HEADERS = (*cors_default_headers, "idempotency-key", "accept-language")
# what a client must read: a replay (DESIGN §5) and how long to wait (429, 503)
CORS_EXPOSE_HEADERS = ("Idempotent-Replayed", "Retry-After")
# No cookies across origins: other platforms call with a bearer token, which a
# page must attach itself. A session cookie is sent by the browser on its own,
# so with credentials allowed any page of a listed origin (or a script
# injected into one) could act as the operator signed in to the dashboard;
# CSRF protection would then hang on that list too. Without credentials
# the browser neither sends the cookie nor lets the page read the answer.
CORS_ALLOW_CREDENTIALS = False


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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
AUTHENTICATION_BACKENDS = [
    # first: a locked-out username and address is refused before any password
    # is checked, the right one included (django-axes; settings.py, hardening)
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
        # DRF's, with an Idempotency-Key for its forms
        "molam_ops.browsable.OpsBrowsableAPIRenderer",
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
    # RATE_LIMIT_PER_MINUTE per caller, shared by all processes (settings.py, hardening)
    "DEFAULT_THROTTLE_CLASSES": ["molam_ops.throttling.SharedRateThrottle"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Molam Ops Controls API",
    "DESCRIPTION": "The ops control plane of Molam Pay: freezes, bank pauses, "
    "retries, multi-signature approvals, SIRA plans and their audit log.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "molam_ops.schema.nullable_refs",
        "widgets.api.schema_hooks.document_catalog",
    ],
    # a name of its own, not the "CodeEnum" any other `code` choice would take
    "ENUM_NAME_OVERRIDES": {
        "ChainBreakCode": "audit.choices.BreakCode",
        "ErrorCode": "molam_ops.error_codes.ERROR_CODES",
        "FreezeScope": "controls.keys.FREEZE_SCOPES",
        "BankStatus": "payouts.choices.BankStatus",
        "CircuitState": "payouts.choices.CircuitState",
        "PlanType": "plans.choices.PlanType",
        "ApprovalStatus": "approvals.choices.ApprovalStatus",
        "StepStatus": "plans.choices.StepStatus",
    },
}

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
