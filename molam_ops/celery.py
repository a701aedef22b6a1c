"""The Celery app: worker tasks for SIRA calls, plan steps and the outbox relay.

The request id follows the work: a task published inside a request (or inside
a task) carries the id in its message headers, and the task's log lines carry
it; a task with none (beat) goes under its own task id.
"""

import contextvars
import logging.config
import os
from typing import Any

from celery import Celery, Task
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun

from molam_ops.heartbeat import WorkerHeartbeat
from molam_ops.request_context import (
    clean_request_id,
    current_request_id,
    request_id_var,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "molam_ops.settings")

app = Celery("molam_ops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# the worker's liveness file; beat's is its scheduler (CELERY_BEAT_SCHEDULER)
app.steps["worker"].add(WorkerHeartbeat)

REQUEST_ID_HEADER = "request_id"
# task id -> the token that restores the request id the task found
_bound: dict[str, contextvars.Token[str]] = {}


@setup_logging.connect
def _use_django_logging(**kwargs: Any) -> None:
    """A receiver here keeps Celery from installing its own handlers (and from
    redirecting stdout): worker and beat log through ``settings.LOGGING``, JSON
    or plain and redacted, as the web process does. So ``LOG_LEVEL`` sets the
    level; the worker's ``-l`` option no longer does."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@before_task_publish.connect
def _send_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    rid = current_request_id()
    if rid and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, rid)


@task_prerun.connect
def _bind_request_id(task_id: str, task: Task[Any, Any], **kwargs: Any) -> None:
    headers = task.request.headers or {}
    incoming = getattr(task.request, REQUEST_ID_HEADER, None) or headers.get(
        REQUEST_ID_HEADER
    )
    # an eager task (tests, or CELERY_TASK_ALWAYS_EAGER) publishes nothing and
    # runs inside its caller: it keeps the caller's id
    rid = clean_request_id(incoming) or current_request_id() or task_id
    _bound[task_id] = request_id_var.set(rid)


@task_postrun.connect
def _unbind_request_id(task_id: str, **kwargs: Any) -> None:
    token = _bound.pop(task_id, None)
    if token is None:
        return
    try:
        request_id_var.reset(token)
    except ValueError:  # set in another context (a pool that switched threads)
        request_id_var.set("")
