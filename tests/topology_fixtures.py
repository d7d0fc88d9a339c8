"""Fixtures for the topology tests: a Redis database and a PostgreSQL database of the test's own, and
the Procfile's processes started against them with production defaults (time limit, lease).

They need the machine's real Redis and PostgreSQL: without them they skip locally and fail in CI
(`SPENDSENSE_REQUIRE_SERVICES=1`), never falling back to a stand-in.
"""

from __future__ import annotations

import os

import pytest

from engine_hooks import enqueue_videos
from tests.conftest import broker, claim_redis_database
from tests.factories import load_job
from tests.helpers import trace_when_done, wait_for_terminal
from tests.services import release_redis_database
from tests.topology import Topology, free_port
from worker.db.session import dispose_engines
from worker.settings import get_settings

FLOWER_USER, FLOWER_PASSWORD = "ops", "s3cret-flower"
USERS = {"user_0001": 73.0, "user_0004": 86.2, "user_0007": 58.4, "user_0012": 94.8}


@pytest.fixture
def redis_url():
    """An empty database of the real Redis, claimed for this test (SET NX) and flushed only if still ours.
    Without Redis the test skips locally and fails in CI: never a stand-in."""
    claimed = claim_redis_database()
    yield claimed.split("#")[0]
    release_redis_database(claimed)


@pytest.fixture
def database(postgres_url):
    """A PostgreSQL database of this test's own (skips locally without the server, fails in CI)."""
    return postgres_url


@pytest.fixture
def topology(redis_url, database, tmp_path, monkeypatch):
    env = {
        "DATABASE_URL": database,
        "CELERY_BROKER_URL": redis_url,
        "VIDEO_GENERATION_ENABLED": "true",
        "VIDEO_STORAGE_DIR": str(tmp_path / "videos"),
        "TRACE_DIR": str(tmp_path / "traces"),
        "FLOWER_BASIC_AUTH": f"{FLOWER_USER}:{FLOWER_PASSWORD}",
        "PORT": str(free_port()),
        "WORKER_CONCURRENCY": "2",
        "BEAT_SCHEDULE_FILE": str(tmp_path / "beat-schedule"),
        # The production defaults for the time limit (600 s) and the lease (30 s): recovery from a
        # killed worker must not wait for either to be shortened.
        "VIDEO_RECONCILE_INTERVAL_S": "2",
        "VIDEO_STUCK_AFTER_S": "4",
        "VIDEO_PROVIDER": "local",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    dispose_engines()
    with broker(monkeypatch, redis_url):
        (tmp_path / "logs").mkdir()
        processes = Topology({**os.environ, **env}, tmp_path / "logs")
        release = processes.run("release")
        assert release.returncode == 0, release.stderr
        yield processes
        processes.stop_all()
    get_settings.cache_clear()


def enqueue_users() -> dict[str, str]:
    jobs = {}
    for user_id, utilization in USERS.items():
        recs = [{"topic": "credit_utilization"}]
        [jobs[user_id]] = enqueue_videos(user_id, "High Utilization", recs, {"credit_max_util_pct": utilization})
    return jobs


def assert_finished_once(jobs: dict[str, str], settings) -> None:
    for user_id, job_id in jobs.items():
        assert wait_for_terminal(job_id, timeout_s=90) == "completed"
        job = load_job(job_id)
        assert [e.event for e in job.events].count("completed") == 1
        trace = trace_when_done(user_id, settings, job_id)
        assert trace["video_generation_log"][-1]["event"] == "completed"
    # Stored videos only: a killed render's scratch (.work-*) is the reconciler's to remove later.
    videos = list(settings.video_storage_dir.glob("[0-9a-f][0-9a-f]/*.mp4"))
    assert len(videos) == len({load_job(j).prompt_hash for j in jobs.values()}), "one video per job, no duplicates"
