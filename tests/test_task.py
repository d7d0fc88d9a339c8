"""`generate_video` under a real (in-process) Celery worker: autoretry, permanent errors, re-delivery.

The worker is Celery's own test worker (`celery_worker` fixture) consuming real
messages from the in-memory broker; the hooks publish them exactly as in
production. Providers that fail on purpose are registered like any other.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine_hooks import enqueue_videos
from tests.factories import events, load_job, queued_job
from tests.failing_providers import ATTEMPTS, AlwaysBusy, BrokenPoster, FlakyRenderer, Refusing
from tests.helpers import enqueue_one, trace_when_done, wait_for_terminal
from tests.storyboards import card_context
from worker import providers
from worker.celery_app import app
from worker.db.models import utcnow
from worker.jobs import leases
from worker.tasks import MAX_RETRIES
from worker.traces import video_metadata


@pytest.mark.parametrize("provider", [FlakyRenderer], indirect=True)
def test_transient_errors_are_retried_by_celery_until_success(provider, celery_worker):
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    assert events(job_id) == [
        ("queued", 0),
        ("started", 1),
        ("retrying", 1),
        ("started", 2),
        ("retrying", 2),
        ("started", 3),
        ("completed", 3),
    ]
    job = load_job(job_id)
    assert (job.attempt, job.retry_count, job.error_type) == (3, 2, None)
    assert job.provider == "flaky" and job.resolution == "1280x720"
    retry_errors = [e.error_message for e in job.events if e.event == "retrying"]
    assert retry_errors == ["provider busy (attempt 1)", "provider busy (attempt 2)"]
    trace = trace_when_done("user_0001", provider, job_id)
    assert [e["retry_count"] for e in trace["video_generation_log"] if e["event"] == "started"] == [0, 1, 2]


def test_unusable_job_input_fails_at_once_without_fallback(sqlite_configured, celery_worker):
    from sqlalchemy import update

    from worker.db.models import VideoJob
    from worker.db.session import session_scope

    job_id = queued_job()
    with session_scope() as session:  # e.g. a row written by a buggy older release
        session.execute(update(VideoJob).where(VideoJob.id == job_id).values(input={"figures": {"bogus": 1}}))
    app.send_task("generate_video", args=[job_id], task_id=job_id)
    assert wait_for_terminal(job_id) == "failed"
    assert events(job_id) == [("queued", 0), ("started", 1), ("failed", 1)]
    job = load_job(job_id)
    assert job.error_type == "InvalidVideoInput" and "no usable figures" in job.error_message
    assert job.fallback_used is False
    trace = trace_when_done("user_0001", sqlite_configured, job_id)
    assert trace["video_generation_log"][-1]["error"].startswith("InvalidVideoInput: job input has no usable figures")


def test_a_finished_video_brings_its_card_captions_description_and_poster_to_the_trace(
    sqlite_configured, celery_worker
):
    recs = [{"topic": "credit_utilization", "disclaimer": "Educational only. Not advice."}]
    [job_id] = enqueue_videos("user_0034", "High Utilization", recs, card_context(14_215, 15_000, mask="2385"))
    assert wait_for_terminal(job_id) == "completed"
    trace = trace_when_done("user_0034", sqlite_configured, job_id)
    metadata = video_metadata(load_job(job_id))
    assert metadata["storyboard"] == "card" and metadata["card_note"] is None
    assert metadata["captions_url"].endswith(".vtt") and "ending in 2385" in metadata["description"]
    captions = Path(metadata["captions_url"].removeprefix("file://")).read_text()
    assert "$9,715" in captions and "Educational only. Not advice." in captions
    assert Path(metadata["poster_url"].removeprefix("file://")).stat().st_size > 0
    assert trace["video_generation_log"][-1]["event"] == "completed"


def test_bad_card_data_still_gets_a_video_and_says_why(sqlite_configured, celery_worker):
    context = card_context(float("nan"), -5, mask="<script>", currency="ZZZ", signal=81.0)
    recs = [{"topic": "credit_utilization"}]
    [job_id] = enqueue_videos("user_0002", "High Utilization", recs, context)
    assert recs[0]["video_status"] == "queued"
    assert wait_for_terminal(job_id) == "completed"
    metadata = video_metadata(load_job(job_id))
    assert metadata["storyboard"] == "utilization"
    assert metadata["card_note"] == "no usable credit card (balance is not a finite number)"
    assert "81%" in metadata["description"] and "script" not in metadata["description"]


@pytest.mark.parametrize("provider", [Refusing], indirect=True)
def test_a_refusing_provider_falls_back_at_once_to_the_poster(provider, celery_worker):
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    assert ATTEMPTS[job_id] == 1, "a permanent error is not retried"
    assert events(job_id) == [("queued", 0), ("started", 1), ("fallback", 1), ("completed", 1)]
    job = load_job(job_id)
    assert (job.fallback_used, job.fallback_tier, job.provider) == (True, "poster", "poster")
    assert job.video_url is None and job.poster_url.endswith(".jpg")
    assert "content policy refused the prompt" in job.fallback_reason
    trace = trace_when_done("user_0001", provider, job_id)
    fallback = next(e for e in trace["video_generation_log"] if e["event"] == "fallback")
    assert fallback["fallback_tier"] == "poster" and "content policy" in fallback["error"]


@pytest.mark.parametrize("provider", [Refusing], indirect=True)
def test_when_every_tier_fails_the_job_fails_with_every_reason(provider, celery_worker):
    previous = providers.register("poster", BrokenPoster)
    try:
        job_id = enqueue_one()
        assert wait_for_terminal(job_id) == "failed"
    finally:
        providers.unregister("poster", restore=previous)
    job = load_job(job_id)
    assert (job.fallback_tier, job.error_type) == ("none", "NoVideoAvailable")
    assert "refusing: PermanentVideoError" in job.error_message and "poster: OSError" in job.error_message
    assert [name for name, _ in events(job_id)] == ["queued", "started", "fallback", "fallback", "failed"]


@pytest.mark.parametrize("provider", [AlwaysBusy], indirect=True)
def test_exhausted_retries_move_down_the_chain(provider, celery_worker):
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    assert ATTEMPTS[job_id] == 1 + MAX_RETRIES
    names = [name for name, _ in events(job_id)]
    assert names.count("retrying") == MAX_RETRIES and names[-2:] == ["fallback", "completed"]
    job = load_job(job_id)
    assert job.fallback_tier == "poster" and job.fallback_reason.startswith("gave up after retries")


def test_redelivery_produces_one_video_and_one_row(sqlite_configured, celery_worker):
    job_id = enqueue_one()
    app.send_task("generate_video", args=[job_id], task_id=job_id)  # the broker delivers it again
    app.send_task("generate_video", args=[job_id], task_id=job_id)
    assert wait_for_terminal(job_id) == "completed"
    time.sleep(1.5)  # give the duplicates time to be consumed
    assert [name for name, _ in events(job_id)].count("started") == 1
    assert [name for name, _ in events(job_id)].count("completed") == 1
    assert len(list(sqlite_configured.video_storage_dir.rglob("*.mp4"))) == 1
    from sqlalchemy import func, select

    from worker.db.models import VideoJob
    from worker.db.session import session_scope

    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(VideoJob)) == 1


def test_a_job_held_by_a_dead_worker_is_taken_over_when_its_lease_ends(sqlite_configured, celery_worker):
    from datetime import timedelta

    from sqlalchemy import update

    from worker.db.models import VideoJob
    from worker.db.session import session_scope

    job_id = queued_job()
    # A worker claimed the job and died: running, lease ending in 2 s. Then its message comes back.
    with session_scope() as session:
        session.execute(
            update(VideoJob)
            .where(VideoJob.id == job_id)
            .values(status="running", attempt=1, lease_expires_at=utcnow() + timedelta(seconds=2))
        )
    app.send_task("generate_video", args=[job_id], task_id=job_id)
    assert wait_for_terminal(job_id, timeout_s=30) == "completed"
    assert [name for name, _ in events(job_id)] == ["queued", "started", "completed"]
    assert load_job(job_id).attempt == 2
    assert leases.claim(job_id, retries=0, lease_s=60) is None


def test_the_embedded_broker_sends_through_kombus_own_path_when_it_cannot_create_the_queue_row(tmp_path, monkeypatch):
    """kombu hands back an unsaved queue (id None) when creating its row fails; the message must
    then go through kombu's own publish (which raises if it fails too), never land without a queue."""
    from kombu import Connection

    from worker import embedded_broker

    with Connection(f"sqlite:///{tmp_path / 'broker.sqlite'}", transport=embedded_broker.TRANSPORT) as connection:
        channel = connection.default_channel
        real = channel._get_or_create
        monkeypatch.setattr(channel, "_get_or_create", lambda queue: channel.queue_cls(queue))
        channel._put("video-test", {"body": "first"})
        monkeypatch.setattr(channel, "_get_or_create", real)
        channel._put("video-test", {"body": "second"})
        assert [channel._get("video-test")["body"] for _ in range(2)] == ["first", "second"]
        orphans = channel.session.query(channel.message_cls).filter(channel.message_cls.queue_id.is_(None)).count()
        assert orphans == 0
