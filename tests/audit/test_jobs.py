"""Exports and verifications too big for a request run as audit jobs: 202, a
job resource, progress, the result file (audit/jobs.py, audit/api/jobs.py).

Celery is eager in the tests (tests/conftest.py): the job has run by the
time the 202 is answered, as a worker would have run it a little later.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from audit import jobs
from audit.choices import JobStatus
from audit.models import AuditJob, OpsActionLog
from audit.selectors import action_log_last_seq
from audit.tasks import purge_audit_jobs
from tests.audit.test_actions_export import _bulk_chain, read_stream
from tests.helpers import assert_error, post_action

pytestmark = pytest.mark.django_db

EXPORT = "/api/ops/actions/export"
VERIFY = "/api/ops/audit/verify"
JOBS = "/api/ops/audit/jobs"


@pytest.fixture
def job_dir(settings: Any, tmp_path: Path) -> Path:
    settings.AUDIT_JOB_DIR = tmp_path
    settings.AUDIT_SYNC_MAX_ROWS = 3
    return tmp_path


def streamed(client: Any, settings: Any, url: str, **params: str) -> bytes:
    """What the request itself would answer, with the threshold out of the way."""
    before = settings.AUDIT_SYNC_MAX_ROWS
    settings.AUDIT_SYNC_MAX_ROWS = 1_000_000
    try:
        resp = client.get(url, params)
        assert resp.status_code == 200
        return read_stream(resp)[0] if resp.streaming else resp.content
    finally:
        settings.AUDIT_SYNC_MAX_ROWS = before


def accepted(resp: Any) -> dict[str, Any]:
    assert resp.status_code == 202, resp.content
    body = resp.json()
    assert body["ok"] is True
    job = body["job"]
    assert resp["Location"] == f"http://testserver{JOBS}/{job['id']}"
    assert set(job) == {
        "id",
        "kind",
        "status",
        "progress",
        "total",
        "created_at",
        "finished_at",
        "download",
        "error",
    }
    return job


def download(client: Any, job: dict[str, Any]) -> tuple[Any, bytes]:
    resp = client.get(f"{JOBS}/{job['id']}/download")
    assert resp.status_code == 200, resp.content
    # read to the end, the test client closes the file (and the request)
    return resp, b"".join(resp.streaming_content)


def test_a_small_export_streams(
    pay_admin: Any, seeded: list[OpsActionLog], job_dir: Path
) -> None:
    resp = pay_admin.get(EXPORT, {"format": "json", "actor_id": "bruno"})
    assert resp.status_code == 200 and resp.streaming
    assert [r["seq"] for r in json.loads(read_stream(resp)[0])] == [2]
    assert not AuditJob.objects.exists()


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_big_export_is_a_job_whose_file_is_the_export(
    pay_admin: Any, seeded: list[OpsActionLog], job_dir: Path, settings: Any, fmt: str
) -> None:
    job = accepted(pay_admin.get(EXPORT, {"format": fmt}))
    assert job["kind"] == "export"

    resp = pay_admin.get(f"{JOBS}/{job['id']}")
    assert resp.status_code == 200
    job = resp.json()["job"]
    assert job["status"] == "done"
    assert job["progress"] == job["total"] == 5
    assert job["error"] is None
    assert job["finished_at"] is not None
    assert job["download"] == f"http://testserver{JOBS}/{job['id']}/download"

    resp, body = download(pay_admin, job)
    ctype = "text/csv" if fmt == "csv" else "application/json"
    assert resp["Content-Type"] == f"{ctype}; charset=utf-8"
    assert resp["Content-Disposition"] == (
        f'attachment; filename="ops_actions_log.{fmt}"'
    )
    assert body == streamed(pay_admin, settings, EXPORT, format=fmt)
    assert not list(job_dir.glob("*.part"))


def test_a_filtered_export_job_keeps_the_filters(
    pay_admin: Any, seeded: list[OpsActionLog], job_dir: Path, settings: Any
) -> None:
    settings.AUDIT_SYNC_MAX_ROWS = 2
    params = {"format": "json", "actor_id": "alice"}
    job = accepted(pay_admin.get(EXPORT, params))
    _resp, body = download(pay_admin, job)
    assert [r["seq"] for r in json.loads(body)] == [1, 3, 5]
    assert body == streamed(pay_admin, settings, EXPORT, **params)
    assert AuditJob.objects.get().total == 3


def test_the_job_reads_the_log_as_it_stood_at_the_request(
    pay_admin: Any, seeded: list[OpsActionLog], job_dir: Path, bank: Any
) -> None:
    job = _queued()
    job.params = {"format": "json", "filters": {}, "until_seq": action_log_last_seq()}
    job.save()
    # rows appended before a worker takes the job up are not in it
    body = {"bank_profile_id": str(bank.id), "reason": "r"}
    assert post_action(pay_admin, "pause-bank", body).status_code == 200
    assert action_log_last_seq() > 5

    assert jobs.run(str(job.id)) == JobStatus.DONE
    job.refresh_from_db()
    assert [r["seq"] for r in json.loads(jobs.result_path(job).read_text())] == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert jobs.run(str(job.id)) == "skipped"  # a second delivery does nothing


def test_export_across_several_pages(
    pay_admin: Any, job_dir: Path, settings: Any
) -> None:
    _bulk_chain(4500)  # three pages of the job, five of the stream
    job = accepted(pay_admin.get(EXPORT, {"format": "json"}))
    row = AuditJob.objects.get(id=job["id"])
    assert (row.status, row.progress, row.total) == ("done", 4500, 4500)
    _resp, body = download(pay_admin, job)
    assert body == streamed(pay_admin, settings, EXPORT, format="json")


def test_async_asks_for_a_job_whatever_the_size(
    pay_admin: Any, seeded: list[OpsActionLog], job_dir: Path, settings: Any
) -> None:
    settings.AUDIT_SYNC_MAX_ROWS = 1000
    job = accepted(pay_admin.get(EXPORT, {"format": "csv", "async": "1"}))
    assert job["status"] == "done"
    job = accepted(pay_admin.get(VERIFY, {"async": "true"}))
    assert job["kind"] == "verify"
    assert_error(pay_admin.get(EXPORT, {"async": "soon"}), 400, "validation_error")


def test_a_big_verification_is_a_job_with_the_same_body(
    pay_admin: Any, seeded: list[OpsActionLog], job_dir: Path, settings: Any
) -> None:
    job = accepted(pay_admin.get(VERIFY))
    assert job["kind"] == "verify"
    job = pay_admin.get(f"{JOBS}/{job['id']}").json()["job"]
    assert (job["status"], job["progress"], job["total"]) == ("done", 5, 5)
    resp, body = download(pay_admin, job)
    assert resp["Content-Type"] == "application/json; charset=utf-8"
    assert 'filename="audit_verify.json"' in resp["Content-Disposition"]
    assert json.loads(body) == json.loads(streamed(pay_admin, settings, VERIFY))
    assert json.loads(body)["valid"] is True


def test_a_small_verification_answers_inline(
    pay_admin: Any, seeded: list[OpsActionLog], job_dir: Path, settings: Any
) -> None:
    settings.AUDIT_SYNC_MAX_ROWS = 5
    resp = pay_admin.get(VERIFY)
    assert resp.status_code == 200
    assert resp.json()["checked"] == 5
    assert not AuditJob.objects.exists()


def test_a_job_is_its_requesters_alone(
    pay_admin: Any,
    finance_ops: Any,
    client_for: Any,
    seeded: list[OpsActionLog],
    job_dir: Path,
) -> None:
    job = accepted(pay_admin.get(EXPORT, {"format": "csv"}))
    other_admin = client_for("pay_admin", sub="zoe")
    for client in (finance_ops, other_admin):
        assert_error(client.get(f"{JOBS}/{job['id']}"), 404, "not_found")
        assert_error(client.get(f"{JOBS}/{job['id']}/download"), 404, "not_found")
        listed = client.get(JOBS).json()
        assert (listed["count"], listed["results"]) == (0, [])

    listed = pay_admin.get(JOBS).json()
    assert listed["ok"] is True
    assert [j["id"] for j in listed["results"]] == [job["id"]]
    assert listed["next"] is None


def test_unknown_jobs_are_404(pay_admin: Any, job_dir: Path) -> None:
    for job_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        assert_error(pay_admin.get(f"{JOBS}/{job_id}"), 404, "not_found")
        assert_error(pay_admin.get(f"{JOBS}/{job_id}/download"), 404, "not_found")


def test_jobs_need_a_known_role(anonymous: Any, outsider: Any) -> None:
    assert anonymous.get(JOBS).status_code == 401
    assert_error(outsider.get(JOBS), 403, "forbidden")


def _queued(requested_by: str = "alice") -> AuditJob:
    now = timezone.now()
    return AuditJob.objects.create(
        kind="export",
        params={"format": "csv", "filters": {}, "until_seq": 0},
        requested_by=requested_by,
        created_at=now,
        expires_at=now + timedelta(hours=24),
    )


def test_a_job_not_done_cannot_be_downloaded(pay_admin: Any, job_dir: Path) -> None:
    job = _queued()
    error = assert_error(
        pay_admin.get(f"{JOBS}/{job.id}/download"), 409, "job_not_ready"
    )
    assert error["fields"] == {"status": "queued"}
    body = pay_admin.get(f"{JOBS}/{job.id}").json()["job"]
    assert (body["status"], body["download"]) == ("queued", None)


def test_a_job_that_fails_says_why_and_leaves_no_file(
    pay_admin: Any, seeded: list[OpsActionLog], job_dir: Path, settings: Any
) -> None:
    settings.AUDIT_JOB_DIR = job_dir / "missing"  # nowhere to write
    job = accepted(pay_admin.get(EXPORT, {"format": "json"}))
    assert job["status"] == "failed"
    assert "FileNotFoundError" in job["error"]
    assert_error(pay_admin.get(f"{JOBS}/{job['id']}/download"), 409, "job_not_ready")


def test_expired_jobs_and_their_files_are_purged(
    pay_admin: Any, seeded: list[OpsActionLog], job_dir: Path, settings: Any
) -> None:
    old = accepted(pay_admin.get(EXPORT, {"format": "csv"}))
    later = timezone.now() + timedelta(hours=settings.AUDIT_JOB_TTL_HOURS, minutes=1)
    with time_machine.travel(later - timedelta(hours=1)):
        fresh = jobs.start_export(fmt="json", query={}, requested_by="alice")
    assert {p.name for p in job_dir.iterdir()} == {
        f"{old['id']}.csv",
        f"{fresh.id}.json",
    }
    with time_machine.travel(later):
        assert purge_audit_jobs.delay().get() == 1
    assert list(AuditJob.objects.values_list("id", flat=True)) == [fresh.id]
    assert {p.name for p in job_dir.iterdir()} == {f"{fresh.id}.json"}
    assert_error(pay_admin.get(f"{JOBS}/{old['id']}"), 404, "not_found")


def test_a_job_whose_worker_died_is_taken_up_again_or_failed(
    seeded: list[OpsActionLog], job_dir: Path, settings: Any
) -> None:
    now = timezone.now()
    live, dead, lost = _queued(), _queued(), _queued()
    for job in (live, dead, lost):
        job.params = {"format": "csv", "filters": {}, "until_seq": 5}
        job.status = JobStatus.RUNNING
    live.claimed_at = now  # its worker is at it: a second delivery keeps off
    # past the hard limit: its worker is gone, a redelivery takes it up
    dead.claimed_at = now - timedelta(seconds=settings.TASK_TIME_LIMIT + 1)
    lost.claimed_at = now - timedelta(days=1)  # and no redelivery came
    for job in (live, dead, lost):
        job.save()

    assert jobs.run(str(live.id)) == "skipped"
    assert jobs.run(str(dead.id)) == JobStatus.DONE
    (job_dir / f"{lost.id}.csv.part").write_text("id,seq\n")  # left behind
    purge_audit_jobs.delay()

    statuses = dict(AuditJob.objects.values_list("id", "status"))
    assert statuses == {live.id: "running", dead.id: "done", lost.id: "failed"}
    lost.refresh_from_db()
    assert lost.error == "the worker running it stopped"
    with time_machine.travel(lost.expires_at + timedelta(seconds=1)):
        purge_audit_jobs.delay()
    assert not (job_dir / f"{lost.id}.csv.part").exists()


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_long_export_runs_in_parts_that_make_one_file(
    pay_admin: Any, job_dir: Path, settings: Any, fmt: str
) -> None:
    _bulk_chain(4500)
    expected = streamed(pay_admin, settings, EXPORT, format=fmt)
    settings.TASK_TIME_LIMIT = 0.001  # every part ends after its first page
    job = accepted(pay_admin.get(EXPORT, {"format": fmt}))
    row = AuditJob.objects.get(id=job["id"])
    assert (row.status, row.part, row.progress) == ("done", 2, 4500)
    assert download(pay_admin, job)[1] == expected


def test_a_long_verification_runs_in_parts_with_the_same_body(
    pay_admin: Any, job_dir: Path, settings: Any
) -> None:
    _bulk_chain(4500)
    inline = json.loads(streamed(pay_admin, settings, VERIFY, full="1"))
    settings.TASK_TIME_LIMIT = 0.001
    job = accepted(pay_admin.get(VERIFY, {"full": "1"}))
    row = AuditJob.objects.get(id=job["id"])
    assert (row.status, row.part, row.progress) == ("done", 2, 4500)
    body = json.loads(download(pay_admin, job)[1])
    assert body == inline
    assert (body["valid"], body["checked"]) == (True, 4500)


def test_a_part_whose_worker_died_is_redone_from_what_was_saved(
    pay_admin: Any, job_dir: Path, settings: Any
) -> None:
    _bulk_chain(4500)
    expected = streamed(pay_admin, settings, EXPORT, format="json")
    job = _queued()
    job.params = {"format": "json", "filters": {}, "until_seq": 4500}
    job.save()
    partial = job_dir / f"{job.id}.json.part"
    assert jobs._export_part(job, partial, deadline=0) is None  # one page, saved
    assert job.state["rows"] == 2000
    with partial.open("ab") as out:  # the next part got this far, then died
        out.write(b',{"half a row')
    stale = timezone.now() - timedelta(seconds=settings.TASK_TIME_LIMIT + 1)
    AuditJob.objects.filter(id=job.id).update(
        status=JobStatus.RUNNING, part=1, claimed_at=stale
    )
    assert jobs.run(str(job.id), 0) == "skipped"  # an old part's message
    assert jobs.run(str(job.id), 1) == JobStatus.DONE
    job.refresh_from_db()
    assert (job_dir / job.result_file).read_bytes() == expected
