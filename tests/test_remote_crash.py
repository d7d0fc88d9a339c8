"""Exactly-once submission when a real worker process is SIGKILLed at the worst moment.

The worst moment is after the server has accepted the create call (and started
billing) but before the worker has saved the remote id. The message is then
delivered again; the job must be looked up on the server, not created again.
"""

from __future__ import annotations

import pytest

from engine_hooks import enqueue_videos
from tests.conftest import worker_env
from tests.factories import load_job
from tests.fake_videos_api import API_KEY, Fault
from tests.helpers import database_dump, wait_for_terminal
from worker.celery_app import app
from worker.remote import ledger
from worker.settings import get_settings
from worker.worker_process import WorkerProcess

pytestmark = pytest.mark.slow

#: Short, so that the dead worker's claim on the job expires quickly in the test.
TASK_TIME_LIMIT_S = 12
#: Likewise: the claim a live worker renews every third of this (production's is 30 s).
LEASE_S = 6


def test_killed_between_create_and_save_the_job_is_looked_up_not_paid_again(
    sqlite_configured, embedded_broker, fake, remote_env, tmp_path
):
    remote_env(VIDEO_API_TIMEOUT_S="3", VIDEO_TASK_TIME_LIMIT_S=str(TASK_TIME_LIMIT_S), VIDEO_LEASE_S=str(LEASE_S))
    settings = get_settings()
    env = worker_env(tmp_path, settings, embedded_broker)
    # The server creates the job, then takes 30 s to answer: the worker is killed in between.
    fake.inject(Fault("POST", r"^/v1/videos$", "hang_after_create", seconds=30))

    first = WorkerProcess(env, tmp_path / "worker-1.log", concurrency=1, name="doomed").start()
    [job_id] = enqueue_videos(
        "user_0001", "High Utilization", [{"topic": "credit_utilization"}], {"credit_max_util_pct": 73}
    )
    assert fake.on_create.wait(60), first.log_text()[-2000:]
    first.kill()

    state = ledger.remote_state(job_id)
    assert state.remote_id is None and state.open_submission is not None, "killed before saving the id"
    assert load_job(job_id).status == "running"

    second = WorkerProcess(env, tmp_path / "worker-2.log", concurrency=1, name="survivor").start()
    try:
        # The broker hands the unacknowledged message back (here: published again, as
        # Redis does after its visibility timeout and the reconciler does for any broker).
        app.send_task("generate_video", args=[job_id], task_id=job_id)
        assert wait_for_terminal(job_id, timeout_s=90) == "completed", second.log_text()[-3000:]
    finally:
        second.stop()

    job = load_job(job_id)
    assert fake.create_calls == {f"{job_id}:1": 1} and fake.jobs_created == 1
    assert job.provider == "openai" and job.remote_id in fake.jobs
    submitted = [e.detail for e in job.events if e.event == "submitted"]
    assert [d["confirmed_by"] for d in submitted] == ["found"]
    log = second.log_text() + first.log_text()
    assert "Sora API is scheduled" not in log, "the SDK deprecation warning is silenced on purpose"
    assert API_KEY not in log and "user_0001" not in log
    assert API_KEY not in database_dump(settings.database_url)
