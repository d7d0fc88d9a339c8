"""The production topology as local processes: Redis, PostgreSQL, and the Procfile's worker, beat and flower.

In CI these run against the machine's real Redis and PostgreSQL and must not skip.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from engine_hooks import enqueue_videos
from tests.conftest import (POSTGRES_ADMIN_URL, REDIS_CLAIM_KEY, REDIS_URL, REQUIRE_SERVICES, claim_redis_database,
                            release_redis_database, service_missing)
from tests.factories import load_job, trace_when_done
from tests.factories import wait_for_terminal
from tests.topology import ROOT, FakeRedisServer, Topology, free_port
from worker.celery_app import reconfigure
from worker.db.session import dispose_engines
from worker.settings import get_settings, reload_settings

pytestmark = pytest.mark.slow

FLOWER_USER, FLOWER_PASSWORD = "ops", "s3cret-flower"
USERS = {"user_0001": 73.0, "user_0004": 86.2, "user_0007": 58.4, "user_0012": 94.8}


@pytest.fixture
def redis_url():
    """The real Redis (an empty database claimed for this test), else fakeredis over TCP."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if REQUIRE_SERVICES:
            service_missing("Redis", str(exc))
        server = FakeRedisServer()
        yield server.url
        server.stop()
        return
    claimed = claim_redis_database()
    yield claimed.split("#")[0]
    release_redis_database(claimed)


@pytest.fixture
def database(tmp_path):
    """A PostgreSQL database of our own, else SQLite."""
    import psycopg

    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if REQUIRE_SERVICES:
            service_missing("PostgreSQL", str(exc).splitlines()[0])
        yield f"sqlite:///{tmp_path / 'jobs.sqlite'}"
        return
    name = f"ssv_topology_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    dispose_engines()
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def topology(redis_url, database, tmp_path, monkeypatch):
    env = {
        "DATABASE_URL": database, "CELERY_BROKER_URL": redis_url, "VIDEO_GENERATION_ENABLED": "true",
        "VIDEO_STORAGE_DIR": str(tmp_path / "videos"), "TRACE_DIR": str(tmp_path / "traces"),
        "FLOWER_BASIC_AUTH": f"{FLOWER_USER}:{FLOWER_PASSWORD}", "PORT": str(free_port()),
        "WORKER_CONCURRENCY": "2", "BEAT_SCHEDULE_FILE": str(tmp_path / "beat-schedule"),
        # The production defaults for the time limit (600 s) and the lease (30 s): recovery from a
        # killed worker must not wait for either to be shortened.
        "VIDEO_RECONCILE_INTERVAL_S": "2", "VIDEO_STUCK_AFTER_S": "4",
        "VIDEO_PROVIDER": "local",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    dispose_engines()
    reconfigure(reload_settings())
    (tmp_path / "logs").mkdir()
    processes = Topology({**os.environ, **env}, tmp_path / "logs")
    release = processes.run("release")
    assert release.returncode == 0, release.stderr
    yield processes
    processes.stop_all()
    monkeypatch.setenv("CELERY_BROKER_URL", "memory://")
    reconfigure(reload_settings())
    get_settings.cache_clear()


def enqueue_users() -> dict[str, str]:
    jobs = {}
    for user_id, utilization in USERS.items():
        recs = [{"topic": "credit_utilization"}]
        [jobs[user_id]] = enqueue_videos(user_id, "High Utilization", recs, {"credit_max_util_pct": utilization})
    return jobs


def flower_get(port: str, path: str, *, auth: bool = True, method: str = "GET"):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    if auth:
        token = base64.b64encode(f"{FLOWER_USER}:{FLOWER_PASSWORD}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


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


def test_jobs_finish_and_flower_shows_job_ids_only_behind_auth(topology):
    port = topology.env["PORT"]
    topology.start("flower")
    topology.wait_for_log("flower", "Visit me at")
    topology.start("worker")
    topology.start("beat")
    topology.wait_for_log("worker", " ready.")
    jobs = enqueue_users()
    assert_finished_once(jobs, get_settings())

    deadline = time.monotonic() + 30
    while True:  # Flower learns about tasks from events, which may still be on their way
        status, body = flower_get(port, "/api/tasks?taskname=generate_video")
        tasks = json.loads(body) if status == 200 else {}
        if all(tasks.get(job_id, {}).get("state") == "SUCCESS" for job_id in jobs.values()):
            break
        assert time.monotonic() < deadline, f"Flower never showed every task succeeded: {status} {body[:2000]}"
        time.sleep(0.5)
    for job_id in jobs.values():
        task = tasks[job_id]
        assert (task["name"], task["state"], task["args"], task["kwargs"]) == (
            "generate_video", "SUCCESS", f"['{job_id}']", "{}")
        assert task["runtime"] > 0
    # Every text Flower shows about our tasks (numbers are timestamps and runtimes, so left out).
    shown = json.dumps([{key: value for key, value in task.items() if isinstance(value, str)}
                        for task in tasks.values()])
    for private in (*USERS, "73.0", "86.2", "High Utilization", "Below 30%"):
        assert private not in shown, "Flower shows job ids only"

    assert flower_get(port, "/api/tasks", auth=False)[0] == 401
    assert flower_get(port, "/tasks", auth=False)[0] == 401
    assert flower_get(port, "/api/task/async-apply/generate_video", method="POST")[0] == 404, "read-only"
    assert flower_get(port, f"/api/task/revoke/{jobs['user_0001']}", method="POST")[0] == 404, "read-only"
    status, metrics = flower_get(port, "/metrics", auth=False)
    assert status == 200 and "flower_events_total" in metrics
    _screenshot_flower(port, _screenshot_dir())


def test_a_sigkilled_worker_loses_no_job_and_makes_no_duplicate(topology):
    topology.start("worker")
    topology.start("beat")
    topology.wait_for_log("worker", " ready.")
    jobs = enqueue_users()
    deadline = time.monotonic() + 60
    while not any(load_job(job_id).status == "running" for job_id in jobs.values()):
        assert time.monotonic() < deadline, "no job ever started"
        time.sleep(0.05)
    topology.kill("worker")  # mid-job: its messages are unacknowledged, its claims still held
    killed_at = time.monotonic()
    unfinished = [job_id for job_id in jobs.values() if load_job(job_id).status != "completed"]
    assert unfinished, "the kill came too late to test anything"
    topology.start("worker")
    assert_finished_once(jobs, get_settings())
    print(f"recovered {len(unfinished)} job(s) of a SIGKILLed worker in {time.monotonic() - killed_at:.1f} s "
          f"(lease {get_settings().lease_s} s, time limit {get_settings().task_time_limit_s} s)")
    healed = [job_id for job_id in unfinished if "reenqueued" in [e.event for e in load_job(job_id).events]]
    assert healed, "the reconciler re-sent the lost messages"


def test_a_flushed_redis_is_healed_by_the_reconciler(topology):
    import redis

    jobs = enqueue_users()  # published while no worker runs...
    client = redis.Redis.from_url(topology.env["CELERY_BROKER_URL"])
    claim = client.get(REDIS_CLAIM_KEY)
    client.flushdb()  # ...and lost
    if claim is not None:
        client.set(REDIS_CLAIM_KEY, claim)  # still this test's database
    topology.start("worker")
    topology.start("beat")
    assert_finished_once(jobs, get_settings())
    for job_id in jobs.values():
        assert "reenqueued" in [e.event for e in load_job(job_id).events]


def test_the_reconciler_runs_at_once_behind_hundreds_of_queued_jobs(topology):
    """Beat's pass goes to the reconciler's own lane: it never waits behind the video backlog."""
    from sqlalchemy import func, select

    from worker.db.models import VideoJob
    from worker.db.session import session_scope

    for number in range(300):
        recs = [{"topic": "credit_utilization"}]
        assert enqueue_videos(f"user_b{number:04d}", "High Utilization", recs, {"credit_max_util_pct": 73.0})
    topology.env["WORKER_CONCURRENCY"] = "1"
    for name in ("worker", "maintenance", "beat"):
        topology.start(name)
    topology.wait_for_log("maintenance", "] succeeded in", timeout_s=60)
    with session_scope() as session:
        waiting = session.scalar(select(func.count()).select_from(VideoJob).where(VideoJob.status == "queued"))
    assert waiting >= 250, f"the pass ran only once the backlog had drained to {waiting} jobs"
    assert "reconcile_video_jobs" in topology.log_text("maintenance")


def _screenshot_dir() -> Path:
    """Tests never rewrite tracked files: docs/ only when asked (`make docs-images`), else a scratch folder."""
    return ROOT / "docs" if os.environ.get("SPENDSENSE_DOCS_SCREENSHOTS") == "1" else Path(tempfile.mkdtemp())


def _screenshot_flower(port: str, directory: Path) -> None:
    """Flower's task page, as an operator sees it (when a Chromium is installed)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return
    target = directory / "flower-tasks.png"
    browser = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={Path(target.parent / '.chromium-profile')}", "--window-size=1400,700",
         "--virtual-time-budget=8000",
         f"--screenshot={target}", f"http://{FLOWER_USER}:{FLOWER_PASSWORD}@127.0.0.1:{port}/tasks"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        browser.wait(timeout=60)
    except subprocess.TimeoutExpired:  # best effort: a stuck browser costs the picture, not the test
        os.killpg(browser.pid, signal.SIGKILL)
        browser.wait()
    shutil.rmtree(target.parent / ".chromium-profile", ignore_errors=True)
