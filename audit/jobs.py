"""Audit jobs: an export or a chain verification run by a worker instead of
a request (DESIGN §3: no request's cost grows with the log's size).

A request that would read more than ``AUDIT_SYNC_MAX_ROWS`` rows, or that
asks with ``?async=1``, gets ``202`` and a job; the worker writes the result
(the export's CSV or JSON, or the verification's JSON body) to a file under
``AUDIT_JOB_DIR`` and counts its progress a page at a time. Jobs are not
audit rows: beat deletes them, and their files, once they have expired.

The job reads the log as it stood when it was asked for: ``until_seq``,
the last row the request could see, bounds it.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.choices import JobKind, JobStatus
from audit.exports import encoder
from audit.filters import ActionLogFilter
from audit.models import AuditJob, OpsActionLog
from audit.selectors import action_log_chunks, action_log_last_seq
from audit.serializers import audit_row
from audit.verification import Walk, advance, begin, conclude
from molam_ops.errors import OpsError, service_unavailable

log = logging.getLogger(__name__)
RUN_TASK = "audit.tasks.run_audit_job"
PAGE = 2000


# --- reads --------------------------------------------------------------------


def more_rows_than(qs: QuerySet[OpsActionLog], limit: int) -> bool:
    """Whether ``qs`` has more than ``limit`` rows, reading at most limit + 1
    (a LIMITed subquery under the COUNT)."""
    return qs.order_by().values("pk")[: limit + 1].count() > limit


def estimate(qs: QuerySet[OpsActionLog], upper: int) -> int:
    """About how many rows ``qs`` holds, at most ``upper``: PostgreSQL's
    planner estimate, for free; elsewhere the upper bound."""
    if connection.vendor != "postgresql":
        return upper
    sql, params = qs.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cur.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return min(int(plan[0]["Plan"]["Plan Rows"]), upper)


def job_list(*, requested_by: str) -> QuerySet[AuditJob]:
    return AuditJob.objects.filter(requested_by=requested_by).order_by("-created_at")


def job_get(*, job_id: Any, requested_by: str) -> AuditJob:
    """The caller's own job; another's is as unknown as one that never was."""
    try:
        job_uuid = uuid.UUID(str(job_id))
        return job_list(requested_by=requested_by).get(id=job_uuid)
    except (ValueError, AuditJob.DoesNotExist):
        raise OpsError(
            "not_found", _("No such endpoint or resource."), status=404
        ) from None


def result_path(job: AuditJob) -> Path:
    return Path(settings.AUDIT_JOB_DIR) / job.result_file


# --- writes -------------------------------------------------------------------


def _queue(job: AuditJob) -> None:
    # imported here: the task module imports this one
    from audit.tasks import run_audit_job

    try:
        run_audit_job.apply_async(args=(str(job.id), job.part))
    except Exception as exc:
        # without a worker the job would wait for ever: say so now
        AuditJob.objects.filter(id=job.id).update(
            status=JobStatus.FAILED, error="not queued", finished_at=timezone.now()
        )
        log.warning("could not queue audit job %s (%s)", job.id, exc)
        raise service_unavailable("redis") from exc


def start(
    *, kind: str, params: dict[str, Any], requested_by: str, total: int
) -> AuditJob:
    """Record a queued job and hand it to a worker."""
    now = timezone.now()
    job = AuditJob.objects.create(
        kind=kind,
        params=params,
        requested_by=requested_by[:255],
        total=total,
        created_at=now,
        queued_at=now,
        expires_at=now + timedelta(hours=settings.AUDIT_JOB_TTL_HOURS),
    )
    _queue(job)
    job.refresh_from_db()  # an eager task (tests) has run it already
    return job


def start_export(*, fmt: str, query: Mapping[str, Any], requested_by: str) -> AuditJob:
    until = action_log_last_seq()
    filters = {k: query[k] for k in ActionLogFilter.base_filters if k in query}
    qs = _export_queryset(filters, until)
    params = {"format": fmt, "filters": filters, "until_seq": until}
    return start(
        kind=JobKind.EXPORT,
        params=params,
        requested_by=requested_by,
        total=estimate(qs, until) if filters else until,
    )


def start_verify(*, full: bool, after_seq: int, requested_by: str) -> AuditJob:
    """``after_seq``: where the request found the walk would start (the
    newest trusted checkpoint); the worker looks again when it runs."""
    until = action_log_last_seq()
    return start(
        kind=JobKind.VERIFY,
        params={"full": full, "until_seq": until},
        requested_by=requested_by,
        total=max(until - after_seq, 0),
    )


def _export_queryset(filters: dict[str, Any], until: int) -> QuerySet[OpsActionLog]:
    fs = ActionLogFilter(filters, queryset=OpsActionLog.objects.all())
    return fs.qs.filter(seq__lte=until)


def _claim(job_id: str, part: int) -> AuditJob | None:
    """Take part ``part`` of the job, once: a queued one, or one whose
    worker died in it (it cannot have run past the task's hard limit). A
    second delivery of a live part's message finds it taken and does
    nothing, and so does a message of a part already done."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.TASK_TIME_LIMIT)
    free = Q(status=JobStatus.QUEUED) | Q(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale),
        status=JobStatus.RUNNING,
    )
    taken = AuditJob.objects.filter(free, id=job_id, part=part).update(
        status=JobStatus.RUNNING,
        claimed_at=now,
        started_at=Coalesce("started_at", Value(now)),
    )
    return AuditJob.objects.get(id=job_id) if taken == 1 else None


def _deadline() -> float:
    # half the task's limit, as plan execution does: the part ends, saved,
    # long before the soft limit could interrupt it
    return time.monotonic() + settings.TASK_TIME_LIMIT / 2


def _progress(job: AuditJob) -> Callable[[int], None]:
    def report(done: int) -> None:
        AuditJob.objects.filter(id=job.id).update(progress=done)

    return report


def _export_part(job: AuditJob, path: Path, deadline: float) -> int | None:
    """Write on from where the last part stopped (its rows and the file's
    length then: a part that died later left more, cut off here); the rows
    written when the export is whole, None when the time is up first."""
    params, state = job.params, dict(job.state) or {"after": 0, "rows": 0, "size": 0}
    enc = encoder(params["format"])
    qs = _export_queryset(params["filters"], params["until_seq"])
    report = _progress(job)
    with path.open("r+b" if state["size"] else "wb") as out:
        if state["size"]:
            out.truncate(state["size"])
            out.seek(state["size"])
            enc.resume(wrote_rows=state["rows"] > 0)
        else:
            out.write(enc.start().encode())
        for rows in action_log_chunks(qs.filter(seq__gt=state["after"]), chunk=PAGE):
            out.write(enc.page([audit_row(r) for r in rows]).encode())
            state["after"], state["rows"] = rows[-1].seq, state["rows"] + len(rows)
            report(state["rows"])
            # a short page is the last: end the file rather than stop
            if len(rows) == PAGE and time.monotonic() > deadline:
                out.flush()
                os.fsync(out.fileno())  # on disk before the state says so
                state["size"] = out.tell()
                _save(job, state)
                return None
        out.write(enc.end().encode())
    return int(state["rows"])


def _verify_part(job: AuditJob, path: Path, deadline: float) -> int | None:
    """Walk on from where the last part stopped; at the end, write the body
    ``GET /api/ops/audit/verify`` answers inline."""
    # imported here: the serializers import the API's modules
    from audit.api.serializers import verification_json

    if job.state:
        walk = Walk.from_json(job.state)
    else:
        full = bool(job.params.get("full"))
        walk = begin(full=full, until_seq=job.params.get("until_seq"))
    walk = advance(
        walk, progress=_progress(job), stop=lambda: time.monotonic() > deadline
    )
    if not walk.done:
        _save(job, walk.to_json())
        return None
    result = conclude(walk)
    with path.open("w", encoding="utf-8") as out:
        json.dump(verification_json(result), out, sort_keys=True)
    return result.report.checked


def _save(job: AuditJob, state: dict[str, Any]) -> None:
    job.state = state
    AuditJob.objects.filter(id=job.id).update(state=state)


def run(job_id: str, part: int = 0) -> str:
    """The worker's part: write on to the result file for half the task's
    time limit, then queue the next part, or mark the job done (or failed,
    with no file). Returns what this part did."""
    job = _claim(job_id, part)
    if job is None:
        return "skipped"
    ext = job.params.get("format", "json")
    name = f"{job.id}.{ext}"
    final = Path(settings.AUDIT_JOB_DIR) / name
    partial = final.with_suffix(final.suffix + ".part")
    try:
        write = _export_part if job.kind == JobKind.EXPORT else _verify_part
        done = write(job, partial, _deadline())
        if done is None:
            _next_part(job, part + 1)
            return "continued"
        os.replace(partial, final)  # a file that exists is whole
    except Exception as exc:
        partial.unlink(missing_ok=True)
        log.exception("audit job %s failed", job.id)
        _finish(job, status=JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        return JobStatus.FAILED
    _finish(job, status=JobStatus.DONE, progress=done, result_file=name)
    return JobStatus.DONE


def _next_part(job: AuditJob, part: int) -> None:
    AuditJob.objects.filter(id=job.id).update(
        part=part, claimed_at=None, queued_at=timezone.now()
    )
    job.part = part
    _queue(job)


def _finish(job: AuditJob, *, status: str, **fields: Any) -> None:
    now = timezone.now()
    if "progress" in fields:
        fields["total"] = fields["progress"]  # the estimate becomes the count
    AuditJob.objects.filter(id=job.id).update(
        status=status,
        finished_at=now,
        expires_at=now + timedelta(hours=settings.AUDIT_JOB_TTL_HOURS),
        **fields,
    )


def fail_abandoned() -> int:
    """Mark failed the running jobs whose worker died and whose message the
    broker did not hand out again (it would have by now): otherwise they
    would read ``running`` until they expire."""
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    grace = settings.TASK_TIME_LIMIT + options.get("visibility_timeout", 0) + 60
    before = timezone.now() - timedelta(seconds=grace)
    abandoned = AuditJob.objects.filter(
        Q(claimed_at__lt=before) | Q(claimed_at__isnull=True, queued_at__lt=before),
        status=JobStatus.RUNNING,
    ).only("id", "params")
    for job in abandoned:
        _finish(job, status=JobStatus.FAILED, error="the worker running it stopped")
    return len(abandoned)


def purge_expired() -> int:
    """Delete expired jobs and their files (a partial one left by a worker
    that died included); return how many."""
    expired = AuditJob.objects.filter(expires_at__lt=timezone.now())
    count = 0
    for job in expired.only("id").iterator():
        for path in Path(settings.AUDIT_JOB_DIR).glob(f"{job.id}.*"):
            path.unlink(missing_ok=True)
        count += AuditJob.objects.filter(id=job.id).delete()[0]
    return count
