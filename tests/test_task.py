"""`generate_video` under a real (in-process) Celery worker: autoretry, permanent errors, re-delivery.

The worker is Celery's own test worker (`celery_worker` fixture) consuming real
messages from the in-memory broker; the hooks publish them exactly as in
production. Providers that fail on purpose are registered like any other.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from engine_hooks import enqueue_videos
from tests.factories import load_job, queued_job, trace_when_done
from tests.storyboards import card_context
from worker import providers
from worker.celery_app import app
from worker.db.models import utcnow
from worker.errors import PermanentVideoError, TransientVideoError
from worker.jobs import leases, reader
from worker.providers.local import LocalRenderer
from worker.settings import reload_settings
from worker.traces import video_metadata
from worker.tasks import MAX_RETRIES

#: Long enough for 1 + 3 attempts with backoff 2/4/8 s (full jitter) and local renders.
JOB_TIMEOUT_S = 60
ATTEMPTS: Counter[str] = Counter()


class FlakyRenderer(LocalRenderer):
    """Fails with a transient error on the first `failures` attempts of each job."""

    name = "flaky"
    failures = 2

    def produce(self, request, workdir):
        ATTEMPTS[request.job_id] += 1
        if ATTEMPTS[request.job_id] <= self.failures:
            raise TransientVideoError(f"provider busy (attempt {ATTEMPTS[request.job_id]})")
        return super().produce(request, workdir)


class AlwaysBusy(FlakyRenderer):
    name = "always_busy"
    failures = 99


class Refusing(LocalRenderer):
    name = "refusing"

    def produce(self, request, workdir):
        ATTEMPTS[request.job_id] += 1
        raise PermanentVideoError("content policy refused the prompt")


class BrokenPoster:
    name = "poster"

    def produce(self, request, workdir):
        raise OSError(28, "No space left on device")


@pytest.fixture
def provider(request, monkeypatch, sqlite_configured):
    """Select a test provider by name for this test's worker."""
    cls = request.param
    providers.register(cls.name, cls)
    monkeypatch.setenv("VIDEO_PROVIDER", cls.name)
    yield reload_settings()
    providers.unregister(cls.name)


def wait_for_terminal(job_id: str, timeout_s: float = JOB_TIMEOUT_S) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = reader.get_status(job_id).value
        if status in ("completed", "failed"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {reader.get_status(job_id).value} after {timeout_s}s")


def enqueue_one(user_id: str = "user_0001", utilization: float = 73.0) -> str:
    [job_id] = enqueue_videos(user_id, "High Utilization", [{"topic": "credit_utilization"}],
                              {"credit_max_util_pct": utilization})
    return job_id


def events(job_id: str) -> list[tuple[str, int]]:
    return [(event.event, event.attempt) for event in load_job(job_id).events]


@pytest.mark.parametrize("provider", [FlakyRenderer], indirect=True)
def test_transient_errors_are_retried_by_celery_until_success(provider, celery_worker):
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    assert events(job_id) == [
        ("queued", 0), ("started", 1), ("retrying", 1), ("started", 2), ("retrying", 2), ("started", 3),
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


def test_a_finished_video_brings_its_card_captions_description_and_poster_to_the_trace(sqlite_configured,
                                                                                      celery_worker):
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
        session.execute(update(VideoJob).where(VideoJob.id == job_id).values(
            status="running", attempt=1, lease_expires_at=utcnow() + timedelta(seconds=2)))
    app.send_task("generate_video", args=[job_id], task_id=job_id)
    assert wait_for_terminal(job_id, timeout_s=30) == "completed"
    assert [name for name, _ in events(job_id)] == ["queued", "started", "completed"]
    assert load_job(job_id).attempt == 2
    assert leases.claim(job_id, retries=0, lease_s=60) is None


class FullDisk:
    """`shutil.copyfile` for the file store that fills the disk on the first `failures` copies:
    part of the file is written, then ENOSPC, as a real full disk does."""

    def __init__(self, failures: int) -> None:
        self.failures, self.calls = failures, 0
        import shutil

        self.copy = shutil.copyfile

    def __call__(self, source, target):
        self.calls += 1
        if self.calls <= self.failures:
            Path(target).write_bytes(Path(source).read_bytes()[:4096])
            raise OSError(28, "No space left on device")
        return self.copy(source, target)


def test_a_full_disk_waits_for_storage_and_then_completes_with_the_real_video(sqlite_configured, celery_worker,
                                                                             monkeypatch):
    """Storage failures are not provider failures: no fallback to a poster, no attempts used up,
    no partial file left, and the real video once the disk has room again."""
    from worker import tasks
    from worker.storage import files

    full_disk = FullDisk(failures=5)
    monkeypatch.setattr(files.shutil, "copyfile", full_disk)
    monkeypatch.setattr(tasks, "STORAGE_BACKOFF_S", 0.2)
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    job = load_job(job_id)
    names = [name for name, _ in events(job_id)]
    assert names.count("storage_unavailable") == 5 and "fallback" not in names and "retrying" not in names
    assert (job.fallback_tier, job.provider, job.attempt) == (None, "local", 1), "waits are not attempts"
    assert job.video_key and job.resolution == "1280x720" and not job.is_degraded
    wait = next(e for e in job.events if e.event == "storage_unavailable")
    assert wait.status == "queued" and "No space left on device" in wait.error_message
    assert not list(sqlite_configured.video_storage_dir.rglob("*.partial")), "no partial copy is left behind"


def test_a_poster_only_result_is_degraded_never_reused_and_taken_back_up(sqlite_configured, celery_worker,
                                                                        monkeypatch):
    from engine_hooks import save_trace
    from worker.db.models import POSTER_TIER

    providers.register(Refusing.name, Refusing)
    monkeypatch.setenv("VIDEO_PROVIDER", Refusing.name)
    reload_settings()
    try:
        degraded = enqueue_one("user_0001")
        assert wait_for_terminal(degraded) == "completed" and load_job(degraded).fallback_tier == POSTER_TIER
    finally:
        providers.unregister(Refusing.name)
    monkeypatch.setenv("VIDEO_PROVIDER", "local")
    reload_settings()
    recs = [{"topic": "credit_utilization"}]
    [other] = enqueue_videos("user_0004", "High Utilization", recs, {"credit_max_util_pct": 73.0})
    assert other != degraded and recs[0]["video_status"] == "queued", "a poster-only result is never reused"
    trace = json.loads(save_trace({"user_id": "user_0001", "recommendations": {"recommendations": [
        {"topic": "credit_utilization", "video_job_id": degraded}]}}).read_text())
    [rec] = trace["recommendations"]["recommendations"]
    assert rec["video_status"] == "degraded" and rec["video_error"].startswith("video_degraded: ")
    assert rec["video_metadata"]["fallback_tier"] == POSTER_TIER and rec["video_metadata"]["poster_url"]
    again = [{"topic": "credit_utilization"}]
    assert enqueue_one_into(again, "user_0001") == degraded and again[0]["video_status"] == "queued"
    assert wait_for_terminal(degraded) == "completed"
    job = load_job(degraded)
    assert (job.fallback_tier, job.provider) == (None, "local") and job.video_key, "taken back up to a real video"


def enqueue_one_into(recs: list[dict], user_id: str, utilization: float = 73.0) -> str:
    [job_id] = enqueue_videos(user_id, "High Utilization", recs, {"credit_max_util_pct": utilization})
    return job_id


class SlowRenderer(LocalRenderer):
    """Takes several leases' time to render."""

    name = "slow"
    seconds = 4.0

    def produce(self, request, workdir):
        time.sleep(self.seconds)
        return super().produce(request, workdir)


@pytest.mark.parametrize("provider", [SlowRenderer], indirect=True)
def test_a_live_slow_job_keeps_its_short_lease_and_is_never_taken_over(provider, celery_worker, monkeypatch):
    from worker.jobs.reconcile import reconcile

    monkeypatch.setenv("VIDEO_LEASE_S", "3")
    settings = reload_settings()
    job_id = enqueue_one()
    deadline = time.monotonic() + 20
    while load_job(job_id).status != "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    sent: list[str] = []
    time.sleep(settings.lease_s + 0.5)  # past the first lease: only the heartbeat keeps the claim
    assert load_job(job_id).lease_expires_at > utcnow(), "renewed while the render runs"
    assert reconcile(settings, sent.append, frozenset).requeued == [] and sent == []
    assert wait_for_terminal(job_id) == "completed"
    assert [name for name, _ in events(job_id)] == ["queued", "started", "completed"]
