# syntax=docker/dockerfile:1
# Molam Ops Controls: one image for every process (web, worker, beat,
# dispatcher, migrations, SIRA dev server); the command picks the process.
#
#   docker build -t molam-ops-controls .
#   docker compose up            # the production topology (docker-compose.yml)
ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: compilers and headers live only here ---------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential libpq-dev gettext \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install -r /tmp/requirements.txt
# The code, with its message catalogues compiled here, where msgfmt is.
COPY . /build/src
RUN find /build/src -name '*.po' -exec sh -c 'msgfmt -o "${1%.po}.mo" "$1"' _ {} \;

# --- runtime: the venv and the code, no build tools, not root ----------------
# Writable at run time: /app/var (MOLAM_VAR_DIR: beat's schedule, scratch) and
# /tmp (gunicorn's worker heartbeats and, via XDG_RUNTIME_DIR, its control
# socket); everything else may be mounted read-only.
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=molam_ops.settings \
    DEBUG=0 \
    PORT=8084 \
    MOLAM_VAR_DIR=/app/var \
    STATIC_ROOT=/app/static \
    XDG_RUNTIME_DIR=/tmp
RUN groupadd --system --gid 10001 molam \
    && useradd --system --uid 10001 --gid molam --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin molam
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
# The code belongs to root and is only readable by the service user.
COPY --from=builder /build/src /app
# Static files are collected once, at build time, outside the writable var/.
# The settings refuse to load with DEBUG off and no secrets: these dummies
# exist only for this step and are not in the image's environment. The code is
# byte-compiled now: at run time the filesystem is read-only.
RUN DJANGO_SECRET_KEY=collectstatic-at-build-time-only \
    MOLAM_ID_JWT_PUBLIC="-----BEGIN PUBLIC KEY----- build-time placeholder" \
    PLAN_DATA_KEYS=Y29sbGVjdHN0YXRpYy1hdC1idWlsZC10aW1lLW9ubHk= \
    APPROVAL_SIGNING_KEY=build:collectstatic-at-build-time-only-not-a-key \
    AUDIT_SIGNING_KEY="-----BEGIN PRIVATE KEY----- build-time placeholder" \
    MOLAM_VAR_DIR=/tmp/build-var \
    python manage.py collectstatic --noinput --verbosity 0 \
    && rm -rf /tmp/build-var \
    && python -m compileall -q /app \
    && mkdir -p /app/var/audit-jobs \
    && chown -R molam:molam /app/var
USER 10001:10001
EXPOSE 8084
# No curl in the slim image: the check is Python's urllib (deploy/docker/healthcheck.py).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/app/deploy/docker/healthcheck.py"]
CMD ["gunicorn", "molam_ops.asgi:application", "-k", "uvicorn_worker.UvicornWorker", "-w", "2", "-b", "0.0.0.0:8084"]
