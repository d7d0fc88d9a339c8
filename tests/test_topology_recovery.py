"""Recovery in the production topology: a killed worker, a flushed Redis, lost messages behind a
backlog, and the reconciler's own lane. PostgreSQL + Redis with a real worker, maintenance worker and beat.

In CI these run against the machine's real Redis and PostgreSQL and must not skip.
"""

from __future__ import annotations

import time

import pytest

from engine_hooks import enqueue_videos
from tests.factories import load_job
from tests.services import REDIS_CLAIM_KEY
from tests.topology_fixtures import assert_finished_once, enqueue_users
from worker.settings import get_settings

pytestmark = pytest.mark.slow


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
    print(
        f"recovered {len(unfinished)} job(s) of a SIGKILLed worker in {time.monotonic() - killed_at:.1f} s "
        f"(lease {get_settings().lease_s} s, time limit {get_settings().task_time_limit_s} s)"
    )
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


def test_exactly_the_jobs_whose_messages_were_lost_are_resent_behind_a_backlog(topology):
    """10 of 210 jobs lose their message, 7 waiting in the queue and 3 delivered to a consumer that
    died; a real worker drains the backlog meanwhile. Exactly those 10 are re-sent, once each."""
    import json
    import random

    import redis
    from kombu import Connection

    from worker.messages import QUEUE_NAME

    settings = get_settings()
    job_ids = [
        job_id
        for number in range(210)
        for job_id in enqueue_videos(
            f"user_l{number:04d}",
            "High Utilization",
            [{"topic": "credit_utilization"}],
            {"credit_max_util_pct": 31 + number % 69},
        )
    ]
    client = redis.Redis.from_url(topology.env["CELERY_BROKER_URL"])
    with Connection(topology.env["CELERY_BROKER_URL"]) as connection:  # a consumer takes 3 and dies
        channel = connection.default_channel
        taken = [channel.basic_get(QUEUE_NAME, no_ack=False) for _ in range(3)]
        for message in taken:
            client.hdel(channel.unacked_key, message.delivery_tag)
            client.zrem(channel.unacked_index_key, message.delivery_tag)
    lost = {message.headers["id"] for message in taken}
    waiting_lost = set(random.Random(7).sample([job_id for job_id in job_ids if job_id not in lost], 7))
    for payload in client.lrange(QUEUE_NAME, 0, -1):
        if json.loads(payload)["headers"]["id"] in waiting_lost:
            client.lrem(QUEUE_NAME, 1, payload)
    lost |= waiting_lost
    deleted_at = time.monotonic()
    topology.env["WORKER_CONCURRENCY"] = "1"
    for name in ("worker", "maintenance", "beat"):
        topology.start(name)

    def resent(job_id: str) -> int:
        return [event.event for event in load_job(job_id).events].count("reenqueued")

    deadline = deleted_at + 120
    while not all(resent(job_id) for job_id in lost):
        assert time.monotonic() < deadline, [job_id for job_id in lost if not resent(job_id)]
        time.sleep(0.5)
    print(
        f"{len(lost)} of {len(job_ids)} messages lost: all re-sent {time.monotonic() - deleted_at:.1f} s later "
        f"(target: VIDEO_STUCK_AFTER_S + 2 intervals = {settings.stuck_after_s + 2 * settings.reconcile_interval_s} s"
        ", processes' start-up included)"
    )
    assert all(resent(job_id) == 1 for job_id in lost), "each lost job gets exactly one new message"
    others = [job_id for job_id in job_ids if job_id not in lost and resent(job_id)]
    assert others == [], "no job that still had a message gets a second one"
    assert client.llen(QUEUE_NAME) > 100, "the backlog was still there throughout"
