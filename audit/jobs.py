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
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.choices import JobKind, JobStatus
from audit.exports import encoder
from audit.filters import ActionLogFilter
from audit.models import AuditJob, OpsActionLog
from audit.selectors import action_log_chunks, action_log_last_seq
from audit.serializers import audit_row
from audit.verification import verify
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
        run_audit_job.apply_async(args=(str(job.id),))
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


def _claim(job_id: str) -> AuditJob | None:
    """Take the job, once: a queued one, or a running one whose worker died
    (it cannot have run past the task's hard limit). A second delivery of a
    live job's message finds it taken and does nothing."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.TASK_TIME_LIMIT)
    taken = AuditJob.objects.filter(
        Q(status=JobStatus.QUEUED) | Q(status=JobStatus.RUNNING, started_at__lt=stale),
        id=job_id,
    ).update(status=JobStatus.RUNNING, started_at=now, progress=0)
    return AuditJob.objects.get(id=job_id) if taken == 1 else None


def _progress(job: AuditJob) -> Callable[[int], None]:
    def report(done: int) -> None:
        AuditJob.objects.filter(id=job.id).update(progress=done)

    return report


def _write_export(job: AuditJob, out: Any) -> int:
    params = job.params
    qs = _export_queryset(params["filters"], params["until_seq"])
    enc = encoder(params["format"])
    out.write(enc.start())
    done, report = 0, _progress(job)
    for rows in action_log_chunks(qs, chunk=PAGE):
        out.write(enc.page([audit_row(r) for r in rows]))
        done += len(rows)
        report(done)
    out.write(enc.end())
    return done


def _write_verify(job: AuditJob, out: Any) -> int:
    # the body GET /api/ops/audit/verify answers inline
    from audit.api.serializers import verification_json

    result = verify(full=bool(job.params.get("full")), progress=_progress(job))
    json.dump(verification_json(result), out, sort_keys=True)
    return result.report.checked


def run(job_id: str) -> str:
    """The worker's part: write the result file, then mark the job done (or
    failed, with no file). Returns the job's final status."""
    job = _claim(job_id)
    if job is None:
        return "skipped"
    ext = job.params.get("format", "json")
    name = f"{job.id}.{ext}"
    final = Path(settings.AUDIT_JOB_DIR) / name
    part = final.with_suffix(final.suffix + ".part")
    try:
        with part.open("w", encoding="utf-8", newline="") as out:
            write = _write_export if job.kind == JobKind.EXPORT else _write_verify
            done = write(job, out)
        os.replace(part, final)  # a file that exists is whole
    except Exception as exc:
        part.unlink(missing_ok=True)
        log.exception("audit job %s failed", job.id)
        _finish(job, status=JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        return JobStatus.FAILED
    _finish(job, status=JobStatus.DONE, progress=done, result_file=name)
    return JobStatus.DONE


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
        status=JobStatus.RUNNING, started_at__lt=before
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
