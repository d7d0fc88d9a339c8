"""The reconciler, with state written directly (no broker, no worker); its command is in test_cli_jobs."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import timedelta

import pytest

from tests.factories import OUTCOME, age, event_names, load_job, queued_job
from worker.db.models import utcnow
from worker.jobs import leases, recorder
from worker.ops.reconcile import reconcile
from worker.storage import SCRATCH_PREFIX
from worker.traces import trace_path


class Broker:
    """Records what the reconciler publishes; `held` are the jobs whose messages it still holds."""

    def __init__(self, held: set[str] | None = None) -> None:
        self.held = set(held or ())
        self.published: list[str] = []

    def publish(self, job_id: str) -> None:
        self.published.append(job_id)

    def held_messages(self) -> frozenset[str]:
        return frozenset(self.held)


def test_a_queued_job_whose_message_was_lost_is_sent_again(configured):
    stale, fresh = queued_job("user_0001", 70), queued_job("user_0002", 71)
    age(stale, configured.stuck_after_s + 5)
    broker = Broker()
    report = reconcile(configured, broker.publish, broker.held_messages)
    assert broker.published == report.requeued == [stale]
    assert event_names(stale)[-1] == "reenqueued" and load_job(stale).enqueue_count == 2
    assert event_names(fresh) == ["queued"]
    assert reconcile(configured, broker.publish, broker.held_messages).requeued == [], "not again at once"


def test_a_backlog_in_the_broker_is_waiting_not_lost(configured):
    job_id = queued_job()
    age(job_id, configured.stuck_after_s + 5)
    broker = Broker(held={job_id})
    assert reconcile(configured, broker.publish, broker.held_messages).requeued == []

    def unknown() -> frozenset[str]:
        raise ConnectionError("broker down")

    assert reconcile(configured, broker.publish, unknown).requeued == []
    assert reconcile(configured, broker.publish, lambda: None).requeued == [], "a broker that cannot tell"


def test_a_running_job_of_a_dead_worker_is_sent_again_once_its_claim_expires(configured):
    job_id = queued_job()
    leases.claim(job_id, retries=0, lease_s=30)
    age(job_id, configured.stuck_after_s + 5)
    broker = Broker(held={job_id})  # the dead worker's unacknowledged message comes back only much later
    assert reconcile(configured, broker.publish, broker.held_messages).requeued == [], "claim still held"
    age(job_id, 1, lease_expires_at=utcnow() - timedelta(seconds=1))  # nobody renewed it: its worker died
    assert reconcile(configured, broker.publish, broker.held_messages).requeued == [job_id], (
        "an unrenewed lease is enough: no wait for VIDEO_STUCK_AFTER_S"
    )
    assert load_job(job_id).status == "running", "the next claim takes it over"


def test_a_job_that_keeps_losing_its_message_fails(configured):
    job_id = queued_job()
    age(job_id, configured.stuck_after_s + 5, enqueue_count=configured.max_enqueues)
    broker = Broker()
    report = reconcile(configured, broker.publish, broker.held_messages)
    assert report.gave_up == [job_id] and broker.published == []
    job = load_job(job_id)
    assert (job.status, job.error_type) == ("failed", "MessageLost")


def test_a_trace_older_than_its_users_latest_job_is_rewritten(configured):
    job_id = queued_job("user_0001")
    path = trace_path("user_0001", configured)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"user_id": "user_0001", "engine": "kept"}))
    os.utime(path, (time.time() - 3600, time.time() - 3600))  # the engine wrote it, then the job finished
    leases.claim(job_id, retries=0, lease_s=60)
    recorder.complete(job_id, OUTCOME, attempt=1)
    report = reconcile(configured, Broker().publish, Broker().held_messages)
    assert report.traces_rewritten == 1
    trace = json.loads(path.read_text())
    assert trace["engine"] == "kept" and trace["video_generation_log"][-1]["event"] == "completed"
    assert reconcile(configured, Broker().publish, Broker().held_messages).traces_rewritten == 0


def test_a_trace_written_after_its_job_finished_but_showing_an_older_status_is_rewritten(configured):
    """The engine's write landed after the worker's: newer file, stale video fields."""
    job_id = queued_job("user_0001")
    leases.claim(job_id, retries=0, lease_s=60)
    recorder.complete(job_id, OUTCOME, attempt=1)
    path = trace_path("user_0001", configured)
    path.parent.mkdir(parents=True, exist_ok=True)
    stale = {
        "user_id": "user_0001",
        "recommendations": {
            "recommendations": [{"topic": "credit_utilization", "video_job_id": job_id, "video_status": "queued"}]
        },
    }
    path.write_text(json.dumps(stale))
    assert reconcile(configured, Broker().publish, Broker().held_messages).traces_rewritten == 1
    [rec] = json.loads(path.read_text())["recommendations"]["recommendations"]
    assert rec["video_status"] == "completed" and rec["video_url"] == OUTCOME.video_url
    assert reconcile(configured, Broker().publish, Broker().held_messages).traces_rewritten == 0


@pytest.mark.postgres
def test_concurrent_reconcilers_never_pick_the_same_job(monkeypatch, tmp_path, postgres_url):
    from tests.conftest import configure

    settings = configure(monkeypatch, tmp_path, postgres_url)
    job_ids = [queued_job(f"user_{i:04d}", 40 + i) for i in range(30)]
    for job_id in job_ids:
        age(job_id, settings.stuck_after_s + 5)
    brokers = [Broker(), Broker(), Broker()]
    threads = [threading.Thread(target=reconcile, args=(settings, b.publish, b.held_messages)) for b in brokers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    published = [job_id for broker in brokers for job_id in broker.published]
    assert sorted(published) == sorted(job_ids), "every job once, none twice"


def test_exactly_the_jobs_without_a_message_are_resent_whatever_their_age(configured):
    job_ids = [queued_job(f"user_{i:04d}", 40 + i) for i in range(5)]
    for index, job_id in enumerate(job_ids):
        age(job_id, configured.stuck_after_s + 50 - index)  # the first is the oldest
    broker = Broker(held={job_ids[0], job_ids[2], job_ids[4]})
    assert reconcile(configured, broker.publish, broker.held_messages).requeued == [job_ids[1], job_ids[3]]


def test_scratch_left_by_a_killed_render_is_removed_but_a_live_render_is_not(configured):
    root = configured.video_storage_dir
    (root / "ab").mkdir(parents=True)
    killed = root / f"{SCRATCH_PREFIX}killed"
    killed.mkdir()
    (killed / "video.mp4").write_bytes(b"half a video")
    partial = root / "ab" / ".ab12.mp4.4242.partial"
    partial.write_bytes(b"half a copy")
    live = root / f"{SCRATCH_PREFIX}live"
    live.mkdir()
    stored = root / "ab" / "ab12.mp4"
    stored.write_bytes(b"a finished video")
    long_ago = time.time() - 2 * configured.task_time_limit_s - 60
    for path in (killed, partial, stored):
        os.utime(path, (long_ago, long_ago))
    report = reconcile(configured, Broker().publish, Broker().held_messages)
    assert report.scratch_removed == 2
    assert not killed.exists() and not partial.exists()
    assert live.exists() and stored.exists(), "a render in progress and finished videos stay"


def test_a_degraded_job_is_taken_back_up_later_a_bounded_number_of_times(configured):
    """A poster-only result (the provider was down) is tried again after a wait that doubles."""
    from worker.db.models import POSTER_TIER

    degraded, real = queued_job("user_0001", 70), queued_job("user_0002", 71)
    wait_s = configured.degraded_retry_after_s

    def finished(job_id: str, seconds_ago: float, tier: str | None) -> None:
        age(
            job_id,
            seconds_ago,
            status="completed",
            fallback_tier=tier,
            finished_at=utcnow() - timedelta(seconds=seconds_ago),
        )

    finished(degraded, wait_s - 60, POSTER_TIER)
    finished(real, 10 * wait_s, None)
    broker = Broker()
    assert reconcile(configured, broker.publish, broker.held_messages).retaken == [], "too soon"
    finished(degraded, wait_s + 60, POSTER_TIER)
    report = reconcile(configured, broker.publish, broker.held_messages)
    assert report.retaken == broker.published == [degraded], "a real video is never taken back up"
    job = load_job(degraded)
    assert job.status == "queued" and job.fallback_tier is None and event_names(degraded)[-1] == "requeued"
    finished(degraded, wait_s + 60, POSTER_TIER)  # it degraded again: the next wait is twice as long
    assert reconcile(configured, broker.publish, broker.held_messages).retaken == []
    for try_number in range(1, configured.degraded_retries):
        finished(degraded, wait_s * 2**try_number + 60, POSTER_TIER)
        assert reconcile(configured, broker.publish, broker.held_messages).retaken == [degraded], try_number
    finished(degraded, 100 * wait_s, POSTER_TIER)
    assert reconcile(configured, broker.publish, broker.held_messages).retaken == [], "at most N times"
    assert event_names(degraded).count("requeued") == configured.degraded_retries
