"""The operator's job commands: list, retry and requeue-stuck, run as an operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.factories import OUTCOME, age, load_job, queued_job
from worker.cli import main
from worker.db.models import POSTER_TIER
from worker.jobs import leases, recorder
from worker.ops import operations

HEADER = ["JOB", "USER", "STATE", "PROVIDER", "TIER", "CREATED", "FINISHED", "DETAIL"]


@pytest.fixture
def three_jobs(configured):
    """A failed job, a completed one and a job that reused the completed one's video."""
    failed, made, reused = (queued_job(f"user_{n:04d}", 60 + n) for n in (1, 2, 3))
    recorder.fail(failed, RuntimeError("renderer crashed"), attempt=1)
    leases.claim(made, retries=0, lease_s=60)
    recorder.complete(made, OUTCOME, attempt=1)
    age(reused, 0, status="completed", reused_from_job_id=made, provider="local", video_url=OUTCOME.video_url)
    return failed, made, reused


def test_list_shows_a_header_and_who_each_job_is_for(three_jobs, capsys):
    failed, made, reused = three_jobs
    assert main(["list"]) == 0
    header, *rows, summary = capsys.readouterr().out.splitlines()
    assert header.split() == HEADER and summary == "3 job(s)"
    by_id = {row.split()[0]: row for row in rows}
    assert by_id[failed].split()[1:4] == ["user_0001", "failed", "-"]
    assert "RuntimeError: renderer crashed" in by_id[failed]
    assert by_id[made].split()[1:5] == ["user_0002", "completed", "local", "-"]
    assert by_id[reused].endswith(f"reused from {made}")
    finished = load_job(made).finished_at.strftime("%Y-%m-%d %H:%M:%S")
    assert finished in by_id[made] and by_id[failed].count(" - ") >= 1


def test_list_as_json_and_filtered(three_jobs, capsys):
    failed, made, reused = three_jobs
    assert main(["list", "--json"]) == 0
    jobs = {job["job_id"]: job for job in json.loads(capsys.readouterr().out)}
    assert jobs[reused]["reused_from_job_id"] == made and jobs[failed]["error_type"] == "RuntimeError"
    assert jobs[made]["finished_at"] and jobs[failed]["user_id"] == "user_0001"
    assert main(["list", "--state", "failed", "--json"]) == 0
    assert [job["job_id"] for job in json.loads(capsys.readouterr().out)] == [failed]
    assert main(["list", "--user", "user_0002", "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert made in out and failed not in out and "--limit shows more" in out


def test_retry_says_why_each_job_it_did_not_requeue(three_jobs, capsys, monkeypatch):
    failed, made, _ = three_jobs
    published: list[str] = []
    monkeypatch.setattr(operations, "publish_job", published.append)
    unknown = "3d2b8a0e-1111-4444-8888-123456789abc"

    assert main(["retry", failed, made, "not-a-uuid", unknown]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"re-queued {failed}",
        f"not re-queued {made}: completed with its video; only failed or degraded jobs are re-queued",
        "not re-queued not-a-uuid: not a job id (job ids are UUIDs, as `list` and Flower show them)",
        f"not re-queued {unknown}: no such job in this database",
        "re-queued 1 of 4 job(s)",
    ]
    assert published == [failed] and load_job(failed).status == "queued"
    assert main(["retry", failed]) == 1 and f"{failed}: queued;" in capsys.readouterr().out


def test_retry_takes_a_degraded_job_and_every_failed_one(three_jobs, capsys, monkeypatch):
    failed, made, _ = three_jobs
    monkeypatch.setattr(operations, "publish_job", lambda job_id: None)
    age(made, 0, fallback_tier=POSTER_TIER)
    assert main(["retry", made]) == 0 and load_job(made).status == "queued"
    assert main(["retry", "--failed"]) == 0 and load_job(failed).status == "queued"
    assert main(["retry", "--failed"]) == 0 and capsys.readouterr().out.endswith("no failed jobs\n")
    assert main(["retry"]) == 2 and "--failed" in capsys.readouterr().err


def test_requeue_stuck_counts_the_younger_jobs_and_now_takes_them(sqlite_configured, tmp_path):
    """As a process on the embedded broker: jobs with no message are re-sent; one summary line."""
    old, young = queued_job("user_0001", 70), queued_job("user_0002", 71)
    age(old, sqlite_configured.stuck_after_s + 5)
    age(young, 5)

    def requeue_stuck(*flags: str) -> str:
        env = {
            **os.environ,
            "DATABASE_URL": sqlite_configured.database_url,
            "CELERY_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
        }
        result = subprocess.run(
            [sys.executable, "-m", "worker.cli", "requeue-stuck", *flags],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert result.stderr == "", "the summary is printed once, not logged as well"
        [line] = result.stdout.splitlines()
        return line

    line = requeue_stuck()
    assert line.startswith("re-enqueued 1 stuck job(s)")
    assert f"left 1 quiet job(s) younger than {sqlite_configured.stuck_after_s:g} s" in line and "--now" in line
    assert load_job(old).enqueue_count == 2 and load_job(young).enqueue_count == 1
    line = requeue_stuck("--now")
    assert line.startswith("re-enqueued 1 stuck job(s)") and "younger" not in line
    assert load_job(young).enqueue_count == 2
    assert requeue_stuck("--now").startswith("re-enqueued 0 stuck job(s)"), "both have a message now"


@pytest.mark.parametrize(
    "command",
    ["list", "retry", "requeue-stuck", "status", "migrate", "probe", "preview", "serve", "verify-urls", "demo"],
)
def test_every_command_has_help(command, capsys):
    assert main([command, "--help"]) == 0
    assert f"Usage: spendsense-video {command}" in capsys.readouterr().out
