"""Recovery under a real (in-process) Celery worker: storage that cannot keep a video, poster-only results, leases."""

from __future__ import annotations

import json
import time

import pytest

from tests.factories import events, load_job
from tests.failing_providers import FullDisk, Refusing, SlowRenderer, using_provider
from tests.helpers import enqueue_one, wait_for_terminal
from worker.db.models import utcnow
from worker.settings import reload_settings


def test_a_full_disk_waits_for_storage_and_then_completes_with_the_real_video(
    sqlite_configured, celery_worker, monkeypatch
):
    """Storage failures are not provider failures: no fallback to a poster, no attempts used up,
    no partial file left, and the real video once the disk has room again."""
    from worker import tasks
    from worker.storage import files

    full_disk = FullDisk(failures=tasks.MAX_RETRIES + 1)  # more waits than the retry budget allows retries
    monkeypatch.setattr(files.shutil, "copyfile", full_disk)
    monkeypatch.setattr(tasks, "STORAGE_BACKOFF_S", 0.2)
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    job = load_job(job_id)
    names = [name for name, _ in events(job_id)]
    assert names.count("storage_unavailable") == full_disk.failures
    assert "fallback" not in names and "retrying" not in names
    assert (job.fallback_tier, job.provider, job.attempt) == (None, "local", 1), "waits are not attempts"
    assert job.video_key and job.resolution == "1280x720" and not job.is_degraded
    wait = next(e for e in job.events if e.event == "storage_unavailable")
    assert wait.status == "queued" and "No space left on device" in wait.error_message
    assert not list(sqlite_configured.video_storage_dir.rglob("*.partial")), "no partial copy is left behind"


def test_a_poster_only_result_is_degraded_never_reused_and_taken_back_up(sqlite_configured, celery_worker, monkeypatch):
    from engine_hooks import save_trace
    from worker.db.models import POSTER_TIER

    with using_provider(Refusing, monkeypatch):
        degraded = enqueue_one("user_0001")
        assert wait_for_terminal(degraded) == "completed" and load_job(degraded).fallback_tier == POSTER_TIER
    reload_settings()
    recs = [{"topic": "credit_utilization"}]
    other = enqueue_one("user_0004", recs=recs)
    assert other != degraded and recs[0]["video_status"] == "queued", "a poster-only result is never reused"
    trace = json.loads(
        save_trace(
            {
                "user_id": "user_0001",
                "recommendations": {"recommendations": [{"topic": "credit_utilization", "video_job_id": degraded}]},
            }
        ).read_text()
    )
    [rec] = trace["recommendations"]["recommendations"]
    assert rec["video_status"] == "degraded" and rec["video_error"].startswith("video_degraded: ")
    assert rec["video_metadata"]["fallback_tier"] == POSTER_TIER and rec["video_metadata"]["poster_url"]
    again = [{"topic": "credit_utilization"}]
    assert enqueue_one("user_0001", recs=again) == degraded and again[0]["video_status"] == "queued"
    assert wait_for_terminal(degraded) == "completed"
    job = load_job(degraded)
    assert (job.fallback_tier, job.provider) == (None, "local") and job.video_key, "taken back up to a real video"


@pytest.mark.parametrize("provider", [SlowRenderer], indirect=True)
def test_a_live_slow_job_keeps_its_short_lease_and_is_never_taken_over(provider, celery_worker, monkeypatch):
    from worker.ops.reconcile import reconcile

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


def test_a_lost_pool_process_is_retried_after_the_tasks_own_backoff():
    """Celery's worker-lost retry asks for `default_retry_delay`; it gets the exponential backoff."""

    from celery.app.task import Context

    from worker.tasks import RETRY_BACKOFF_MAX_S, RETRY_BACKOFF_S, generate_video

    assert generate_video.default_retry_delay is None
    request = Context(id="job-1", args=["job-1"], kwargs={}, delivery_info={})
    for retries in (1, 2, 3, 9):
        ceiling = min(RETRY_BACKOFF_MAX_S, RETRY_BACKOFF_S * 2 ** (retries - 1))
        delays = {
            generate_video.signature_from_request(request, countdown=None, retries=retries).options["countdown"]
            for _ in range(200)
        }
        assert delays <= set(range(ceiling + 1)) and max(delays) > ceiling // 2, (retries, delays)
    explicit = generate_video.signature_from_request(request, countdown=7, retries=1)
    assert explicit.options["countdown"] == 7, "a delay the server or autoretry chose is kept"


@pytest.fixture
def full_filesystem(sqlite_configured):
    """VIDEO_STORAGE_DIR on a real 4 MB tmpfs, filled to the last byte; yields the ballast file."""
    import errno
    import subprocess

    storage = sqlite_configured.video_storage_dir
    storage.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(storage)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"mounting a small tmpfs needs root (CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    ballast = storage / "ballast"
    try:
        with ballast.open("wb") as sink:
            while True:
                sink.write(b"\0" * 65_536)
                sink.flush()
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    try:
        yield ballast
    finally:
        subprocess.run(["umount", "-l", str(storage)], check=True)


def test_a_full_filesystem_then_freed_ends_with_every_real_video_and_no_partial_file(
    full_filesystem, celery_worker, monkeypatch
):
    """A real ENOSPC, during the render's scratch writes as much as the copy into storage."""
    from worker import tasks

    monkeypatch.setattr(tasks, "STORAGE_BACKOFF_S", 0.3)
    job_ids = [enqueue_one(f"user_00{number:02d}", 40.0 + 11 * number) for number in range(1, 4)]
    deadline = time.monotonic() + 90
    while not all("storage_unavailable" in [name for name, _ in events(job_id)] for job_id in job_ids):
        assert time.monotonic() < deadline, {job_id: events(job_id) for job_id in job_ids}
        time.sleep(0.1)
    full_filesystem.unlink()  # the operator frees space
    for job_id in job_ids:
        assert wait_for_terminal(job_id, timeout_s=90) == "completed", events(job_id)
        job = load_job(job_id)
        assert job.video_key and not job.is_degraded and job.fallback_tier is None, events(job_id)
        assert "fallback" not in [name for name, _ in events(job_id)]
    storage = full_filesystem.parent
    assert len({load_job(job_id).video_key for job_id in job_ids}) == 3
    assert not list(storage.rglob("*.partial")), "no partial copy is left behind"
    assert not list(storage.glob(".work-*")), "no render scratch is left behind"
