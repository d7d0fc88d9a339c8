"""A real `celery -A worker worker` process, as an operator starts it in another terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine_hooks import enqueue_videos
from tests.conftest import configure, worker_env
from tests.factories import load_job
from tests.helpers import trace_when_done, wait_for_terminal, wait_until
from worker.render.probe import check_deliverable, probe_video
from worker.worker_process import WorkerProcess

pytestmark = pytest.mark.slow

USERS = {"user_0001": 73.0, "user_0012": 94.8}


def _enqueue_users() -> dict[str, str]:
    jobs = {}
    for user_id, utilization in USERS.items():
        recs = [{"topic": "credit_utilization", "title": "Understanding Credit Utilization"}]
        [jobs[user_id]] = enqueue_videos(user_id, "High Utilization", recs, {"credit_max_util_pct": utilization})
    return jobs


def _assert_finished_and_traced(jobs: dict[str, str], settings, worker: WorkerProcess) -> None:
    for user_id, job_id in jobs.items():
        assert wait_for_terminal(job_id) == "completed", worker.log_text()[-3000:]
        job = load_job(job_id)
        path = job.video_url.removeprefix("file://")
        probe = check_deliverable(probe_video(Path(path)))
        assert (probe.width, probe.height, probe.codec) == (1280, 720, "h264")
        assert job.file_size_bytes == probe.file_size_bytes and job.duration_seconds == probe.duration_seconds
        trace = trace_when_done(user_id, settings, job_id)
        assert trace["video_generation_log"][-1]["event"] == "completed"


def _assert_logs_hold_no_user_data(worker: WorkerProcess) -> None:
    log = worker.log_text()
    for user_id, utilization in USERS.items():
        assert user_id not in log
        assert f"{utilization:g}%" not in log


def test_worker_process_renders_jobs_from_the_embedded_broker(sqlite_configured, embedded_broker, tmp_path):
    worker = WorkerProcess(worker_env(tmp_path, sqlite_configured, embedded_broker), tmp_path / "worker.log")
    with worker:
        jobs = _enqueue_users()
        _assert_finished_and_traced(jobs, sqlite_configured, worker)
    assert worker.process.returncode == 0, "warm shutdown on SIGTERM"
    _assert_logs_hold_no_user_data(worker)


def test_worker_refuses_an_unmigrated_database(monkeypatch, tmp_path):
    settings = configure(monkeypatch, tmp_path, f"sqlite:///{tmp_path / 'fresh.sqlite'}", migrate=False)
    worker = WorkerProcess(
        worker_env(tmp_path, settings, f"sqla+sqlite:///{tmp_path / 'b.sqlite'}"), tmp_path / "worker.log"
    ).start()
    try:
        worker.process.wait(timeout=60)
    finally:
        worker.stop()
    assert worker.process.returncode != 0
    assert "run `spendsense-video migrate`" in worker.log_text()


@pytest.mark.redis
def test_same_code_runs_on_redis_by_changing_one_setting(sqlite_configured, redis_broker, tmp_path):
    worker = WorkerProcess(worker_env(tmp_path, sqlite_configured, redis_broker), tmp_path / "worker.log")
    with worker:
        jobs = _enqueue_users()
        _assert_finished_and_traced(jobs, sqlite_configured, worker)
    assert "Connected to redis://" in worker.log_text()
    _assert_logs_hold_no_user_data(worker)


def _pool_children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in children.read_text().split()] if children.exists() else []


@pytest.mark.redis
@pytest.mark.postgres
def test_a_killed_pool_process_is_recorded_and_its_job_restarts_at_once(postgres_configured, redis_broker, tmp_path):
    """WorkerLostError: an event on the job, its claim released, Celery's retry after the backoff.
    PostgreSQL + Redis, at the production time limit and lease."""
    import os
    import signal
    import time

    worker = WorkerProcess(
        worker_env(tmp_path, postgres_configured, redis_broker), tmp_path / "worker.log", concurrency=1
    )
    with worker:
        worker.wait_for_log(" ready.")
        [job_id] = enqueue_videos(
            "user_0001", "High Utilization", [{"topic": "credit_utilization"}], {"credit_max_util_pct": 73.0}
        )
        wait_until(lambda: load_job(job_id).status == "running", 60, interval_s=0.01, what="the job is running")
        [pool_process] = _pool_children(worker.process.pid)
        os.kill(pool_process, signal.SIGKILL)
        killed_at = time.monotonic()
        assert wait_for_terminal(job_id) == "completed", worker.log_text()[-3000:]
    job = load_job(job_id)
    names = [event.event for event in job.events]
    assert names[:3] == ["queued", "started", "worker_lost"] and names.count("started") == 2, names
    lost = job.events[2]
    assert lost.status == "queued" and lost.error_type == "WorkerLostError"
    restarted = job.events[3].created_at.timestamp() - lost.created_at.timestamp()
    print(
        f"a SIGKILLed pool process's job restarted {restarted:.1f} s after the loss was recorded "
        f"(finished {time.monotonic() - killed_at:.1f} s after the kill)"
    )
    assert job.retry_count == 1, "the lost attempt counts against the job's retries"
