"""What gateways do to the Videos API, against the fake server set up to behave like them.

LiteLLM's proxy, the most used gateway, wraps ids (234 characters), answers the
thumbnail request with the MP4, and does not pass listing on. The real proxy is
in tests/test_litellm_proxy.py; these tests pin each behaviour on its own.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from tests.factories import load_job
from tests.helpers import enqueue_one, wait_for_terminal
from worker.remote.probe import probe_server
from worker.render.stills import is_image, still_from_video
from worker.settings import get_settings

#: The length of a video id as LiteLLM's proxy hands it out (base64 of provider, model, id, deployment).
LITELLM_ID_LENGTH = 234


@pytest.fixture
def gateway(remote_env, configured):
    """VIDEO_PROVIDER=openai pointed at the fake server, on SQLite and on PostgreSQL."""
    remote_env()
    return get_settings()


def stored(url: str) -> Path:
    return Path(url.removeprefix("file://"))


def test_a_remote_id_of_any_length_is_kept(gateway, fake, celery_worker):
    fake.id_length = LITELLM_ID_LENGTH
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    job = load_job(job_id)
    assert job.provider == "openai" and not job.fallback_used, [e.event for e in job.events]
    assert len(job.remote_id) == LITELLM_ID_LENGTH and job.remote_id in fake.jobs
    assert fake.jobs_created == 1


def test_a_thumbnail_that_is_really_the_video_never_becomes_the_poster(gateway, fake, celery_worker, tmp_path):
    fake.thumbnail_is_video = True
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    job = load_job(job_id)
    poster, video = stored(job.poster_url), stored(job.video_url)
    assert is_image(poster) and not poster.read_bytes().startswith(video.read_bytes()[:64])
    with Image.open(poster) as image:
        assert image.format == "JPEG" and image.size == (1280, 720)
        reference = Image.open(still_from_video(video, tmp_path / "still.jpg")).convert("RGB")
        difference = ImageStat.Stat(ImageChops.difference(image.convert("RGB"), reference)).mean
    assert max(difference) < 3, "the poster is a still of the video"


def test_a_thumbnail_that_is_an_image_is_kept(gateway, fake, celery_worker):
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    from tests.fake_media import sample_thumbnail

    assert stored(load_job(job_id).poster_url).read_bytes() == sample_thumbnail(), "the server's own thumbnail"


def test_generation_time_runs_from_submission_to_stored_video(gateway, fake, celery_worker):
    fake.latency_s = 2.0
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    job = load_job(job_id)
    assert job.poll_count >= 2, "the video took more than one check"
    assert job.generation_time_seconds >= fake.latency_s, job.generation_time_seconds


def test_one_log_line_per_remote_state_change_not_per_check(gateway, fake, celery_worker, caplog):
    fake.latency_s = 2.0
    caplog.set_level(logging.INFO)
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    messages = [record.getMessage() for record in caplog.records]
    job = load_job(job_id)
    assert not [m for m in messages if "'polling'" in m], "no 'succeeded: polling' line per check"
    changes = [m.rsplit(" is ", 1)[1] for m in messages if m.startswith(f"job {job_id}: the remote video is")]
    recorded = [e.event.removeprefix("remote_").replace("_", " ") for e in job.events if e.event.startswith("remote_")]
    assert changes == recorded and changes[-1] == "completed", (changes, recorded)
    assert job.poll_count > len(changes), "checks that saw no change log nothing"


def test_celerys_received_line_is_kept_for_a_first_delivery_and_dropped_for_a_check(caplog):
    """Celery's own "received" line, logged as Celery logs it (the in-process test worker logs none)."""
    from celery.app.trace import LOG_RECEIVED

    import worker.celery_app  # noqa: F401  (installs the filter)

    strategy = logging.getLogger("celery.worker.strategy")
    caplog.set_level(logging.INFO, logger=strategy.name)
    for eta in (None, "2026-11-24T23:59:00+00:00"):
        for name in ("generate_video", "reconcile_video_jobs"):
            context = {"id": f"{name}-{eta}", "name": name, "args": "[]", "kwargs": "{}", "eta": eta}
            strategy.info(LOG_RECEIVED, context, extra={"data": context})
    shown = [record.getMessage() for record in caplog.records]
    assert shown == [
        "Task generate_video[generate_video-None] received",
        "Task reconcile_video_jobs[reconcile_video_jobs-None] received",
        "Task reconcile_video_jobs[reconcile_video_jobs-2026-11-24T23:59:00+00:00] received",
    ], shown


def test_probe_warns_when_the_server_cannot_list(gateway, fake):
    fake.list_supported = False
    checks = probe_server(gateway)
    verdicts = {check.name: check.verdict for check in checks}
    assert "fail" not in verdicts.values(), checks
    assert verdicts["list GET /videos"] == "warn"
    assert "crash recovery is limited" in next(c.detail for c in checks if c.name == "list GET /videos")
    assert fake.jobs_created == 0


def test_a_lost_create_answer_on_a_server_that_cannot_list_is_never_paid_twice(gateway, fake, celery_worker):
    """As through LiteLLM's proxy: no listing, and the upstream never sees our Idempotency-Key."""
    from tests.fake_videos_api import Fault

    fake.list_supported, fake.honour_idempotency = False, False
    fake.inject(Fault("POST", r"^/v1/videos$", "hang_after_create", seconds=5))  # past VIDEO_API_TIMEOUT_S
    job_id = enqueue_one()
    assert wait_for_terminal(job_id, timeout_s=120) == "completed"
    job = load_job(job_id)
    assert fake.jobs_created == 1 and sum(fake.create_calls.values()) == 1, "created once, never re-sent"
    assert job.fallback_used and job.provider == "local", [e.event for e in job.events]


def test_a_lost_create_is_recognised_on_everything_it_sent_never_on_prompt_and_model_alone(fake):
    from datetime import timedelta

    from tests.fake_videos_api import API_KEY, MODEL
    from worker.db.models import utcnow
    from worker.remote.api import SentCreate, VideosApi

    api = VideosApi(fake.base_url, API_KEY, 5)
    intent_at = utcnow()
    held, lost = (
        api.create(prompt="the same prompt", model=MODEL, seconds=8, size="1280x720", idempotency_key=f"k{n}")
        for n in range(2)
    )
    sent = SentCreate(
        prompt="the same prompt",
        model=MODEL,
        seconds=8,
        size="1280x720",
        intent_at=intent_at,
        since=intent_at - timedelta(seconds=60),
        until=intent_at + timedelta(seconds=60),
        taken_ids=frozenset({held.id}),
    )
    assert api.find(sent).id == lost.id, "the other listed twin belongs to another submission"
    assert api.find(SentCreate(**{**sent.__dict__, "taken_ids": frozenset({held.id, lost.id})})) is None
    assert api.find(SentCreate(**{**sent.__dict__, "seconds": 5})) is None, "asked for 5 s: not ours"
    assert api.find(SentCreate(**{**sent.__dict__, "size": "1920x1080"})) is None
    too_late = SentCreate(
        **{**sent.__dict__, "until": intent_at - timedelta(seconds=61), "since": intent_at - timedelta(seconds=120)}
    )
    assert api.find(too_late) is None, "created after the request could have arrived"
