"""Exact lost-message detection against real brokers: only jobs with no message at all are re-sent.

Jobs are queued through the hooks (real messages, no worker running). Some of their
messages are then moved to Redis's `unacked` hash, as kombu does when a worker takes a
message it has not acknowledged yet (prefetched, or held for a countdown). Ten chosen
messages are deleted, from the queue and from the unacked hash, while the others wait.
"""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from engine_hooks import enqueue_videos
from worker.celery_app import app
from worker.db.models import VideoJob, utcnow
from worker.db.session import session_scope
from worker.messages import QUEUE_NAME, job_ids_with_messages, publish_job
from worker.ops.reconcile import reconcile

WAITING, LOST = 40, 10


def queue_jobs(count: int) -> list[str]:
    job_ids = []
    for number in range(count):
        recs = [{"topic": "credit_utilization"}]
        job_ids += enqueue_videos(f"user_{number:04d}", "High Utilization", recs, {"credit_max_util_pct": 73.0})
    return job_ids


def quiet_for_long(settings) -> None:
    """Nobody has touched any job for longer than VIDEO_STUCK_AFTER_S."""
    from datetime import timedelta

    with session_scope() as session:
        session.execute(update(VideoJob).values(updated_at=utcnow() - timedelta(seconds=settings.stuck_after_s + 5)))


def job_id_of(payload: bytes | str) -> str:
    return json.loads(payload)["headers"]["id"]


def resend_pass(settings) -> list[str]:
    """One reconciler pass that really publishes; returns the jobs it sent."""
    sent: list[str] = []

    def publish(job_id: str) -> None:
        sent.append(job_id)
        publish_job(job_id)

    report = reconcile(settings, publish, lambda: job_ids_with_messages(settings.stuck_after_s))
    assert sorted(sent) == sorted(report.requeued)
    return sent


@pytest.mark.redis
def test_on_redis_exactly_the_jobs_whose_messages_are_gone_are_resent(sqlite_configured, redis_broker):
    import redis

    job_ids = queue_jobs(WAITING)
    client = redis.Redis.from_url(redis_broker)
    with app.connection_for_read() as connection:
        unacked_key, index_key = connection.default_channel.unacked_key, connection.default_channel.unacked_index_key
    # A quarter of the messages are delivered but unacknowledged, as kombu keeps them.
    for tag, payload in enumerate(client.lrange(QUEUE_NAME, 0, WAITING // 4 - 1)):
        client.lrem(QUEUE_NAME, 1, payload)
        client.hset(unacked_key, f"tag-{tag}", json.dumps([json.loads(payload), "", QUEUE_NAME]))
        client.zadd(index_key, {f"tag-{tag}": time.time()})
    unacked = {job_id_of(json.dumps(json.loads(value)[0])) for value in client.hvals(unacked_key)}
    assert job_ids_with_messages(sqlite_configured.stuck_after_s) == frozenset(job_ids), (
        "every message is found, queued or unacked"
    )

    lost = set(random.Random(7).sample(sorted(unacked), LOST // 2))
    lost |= set(random.Random(8).sample(sorted(set(job_ids) - unacked), LOST // 2))
    for payload in client.lrange(QUEUE_NAME, 0, -1):
        if job_id_of(payload) in lost:
            client.lrem(QUEUE_NAME, 1, payload)
    for tag, value in client.hgetall(unacked_key).items():
        if job_id_of(json.dumps(json.loads(value)[0])) in lost:
            client.hdel(unacked_key, tag)

    quiet_for_long(sqlite_configured)
    assert sorted(resend_pass(sqlite_configured)) == sorted(lost), "exactly the lost ones, each once"
    assert job_ids_with_messages() == frozenset(job_ids), "each lost job has its message again"
    quiet_for_long(sqlite_configured)
    assert resend_pass(sqlite_configured) == [], "no job ever gets a second message"


@pytest.mark.redis
def test_on_redis_a_message_held_by_a_dead_worker_counts_as_lost_but_a_countdown_does_not(
    sqlite_configured, redis_broker
):
    """A worker runs what it takes at once: a message unacknowledged long after delivery (or after its
    countdown fell due) is held by a worker that died, and Redis would return it only in an hour."""
    import redis

    dead_workers, countdown = queue_jobs(2)
    client = redis.Redis.from_url(redis_broker)
    with app.connection_for_read() as connection:
        unacked_key, index_key = connection.default_channel.unacked_key, connection.default_channel.unacked_index_key
    long_ago = time.time() - sqlite_configured.stuck_after_s - 60
    for tag, payload in enumerate(client.lrange(QUEUE_NAME, 0, -1)):
        message = json.loads(payload)
        if message["headers"]["id"] == countdown:  # a retry due in five minutes, delivered long ago
            message["headers"]["eta"] = datetime.fromtimestamp(time.time() + 300, UTC).isoformat()
        client.lrem(QUEUE_NAME, 1, payload)
        client.hset(unacked_key, f"tag-{tag}", json.dumps([message, "", QUEUE_NAME]))
        client.zadd(index_key, {f"tag-{tag}": long_ago})
    quiet_for_long(sqlite_configured)
    assert resend_pass(sqlite_configured) == [dead_workers]


def test_on_the_embedded_broker_exactly_the_jobs_whose_messages_are_gone_are_resent(sqlite_configured, embedded_broker):
    import sqlite3

    job_ids = queue_jobs(WAITING)
    assert job_ids_with_messages() == frozenset(job_ids)
    lost = set(random.Random(9).sample(job_ids, LOST))
    database = sqlite3.connect(embedded_broker.removeprefix("sqla+sqlite:///"))
    with database:
        for row_id, payload in database.execute("SELECT id, payload FROM kombu_message").fetchall():
            if job_id_of(payload) in lost:
                database.execute("DELETE FROM kombu_message WHERE id = ?", (row_id,))
    database.close()
    quiet_for_long(sqlite_configured)
    assert sorted(resend_pass(sqlite_configured)) == sorted(lost)
    quiet_for_long(sqlite_configured)
    assert resend_pass(sqlite_configured) == []
