"""Remote generation against the fake Videos API server, through the real openai SDK and a real worker.

Every fault of the protocol must end in the right terminal state, with the
right events, and never with a second paid create for the same job.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PIL import Image

from engine_hooks import enqueue_videos
from tests.factories import event_names, load_job
from tests.fake_videos_api import API_KEY, MODEL, Fault
from tests.helpers import enqueue_one, wait_for_terminal
from tests.storyboards import card_context
from worker.remote.breaker import open_breakers
from worker.render.probe import check_deliverable, probe_video
from worker.settings import get_settings, reload_settings


@pytest.fixture
def remote(remote_env, sqlite_configured):
    """VIDEO_PROVIDER=openai pointed at the fake server."""
    remote_env(VIDEO_COST_PER_SECOND_USD="0.10")
    return get_settings()


def detail(job_id: str, event: str) -> dict:
    return next(e.detail for e in load_job(job_id).events if e.event == event)


def test_remote_video_is_downloaded_into_our_storage(remote, fake, celery_worker):
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    job = load_job(job_id)
    assert (job.provider, job.fallback_used, job.remote_model) == ("openai", False, MODEL)
    assert (job.remote_size, job.remote_seconds, job.estimated_cost_usd) == ("1280x720", 8, 0.8)
    assert job.remote_id in fake.jobs and job.remote_id not in job.video_url
    stored = Path(job.video_url.removeprefix("file://"))
    assert stored.is_relative_to(remote.video_storage_dir)
    assert check_deliverable(probe_video(stored)).width == 1280 and job.poster_url
    assert event_names(job_id)[:4] == ["queued", "started", "submitting", "submitted"]
    assert event_names(job_id)[-2:] == ["remote_completed", "completed"]
    assert fake.create_calls == {f"{job_id}:1": 1} and fake.jobs_created == 1
    assert job.poll_count >= 1 and job.retry_count == 0 and job.attempt == 1


def test_prompt_sent_to_the_server_holds_no_user_data(remote, fake, celery_worker):
    job_id = enqueue_one(user_id="user_0042", utilization=77.7)
    wait_for_terminal(job_id)
    [sent] = [job.prompt for job in fake.jobs.values()]
    assert "78%" in sent and "user_0042" not in sent and "77.7" not in sent


def test_a_remote_video_gets_the_storyboards_captions_description_and_our_own_poster(remote, fake, celery_worker):
    fake.thumbnails = False
    recs = [{"topic": "credit_utilization", "disclaimer": "Educational only."}]
    [job_id] = enqueue_videos("user_0034", "High Utilization", recs, card_context(14_215, 15_000, mask="2385"))
    assert wait_for_terminal(job_id) == "completed"
    job = load_job(job_id)
    [sent] = [remote_job.prompt for remote_job in fake.jobs.values()]
    assert "95%" in sent and "2385" not in sent and "14,215" not in sent and "$" not in sent
    captions = Path(job.captions_url.removeprefix("file://")).read_text()
    assert captions.startswith("WEBVTT") and "$9,715" in captions and "Educational only." in captions
    assert "ending in 2385" in job.description and job.provider == "openai"
    poster = Path(job.poster_url.removeprefix("file://"))
    assert poster.suffix == ".jpg" and Image.open(poster).size == (1280, 720), "drawn here: the server had none"


def test_rate_limit_honours_retry_after(remote, fake, celery_worker):
    fake.inject(Fault("POST", r"^/v1/videos$", "status", status=429, retry_after_s=3, code="rate_limit_exceeded"))
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    events = load_job(job_id).events
    retry = next(e for e in events if e.event == "retrying")
    restart = [e for e in events if e.event == "started"][1]
    assert retry.detail == {"countdown_s": 3.0}, "the server's Retry-After, not our backoff"
    assert (restart.created_at - retry.created_at).total_seconds() >= 2.9, "and Celery waited that long"
    assert "429" in retry.error_message and fake.jobs_created == 1
    assert sum(fake.create_calls.values()) == 1, "the refused create created nothing; one create followed"


def test_server_errors_while_polling_are_retried_without_resubmitting(remote, fake, celery_worker):
    fake.inject(Fault("GET", r"^/v1/videos/video_\w+$", "status", count=2, status=500))
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    assert event_names(job_id).count("retrying") == 2 and fake.jobs_created == 1
    assert sum(fake.create_calls.values()) == 1


def test_malformed_json_is_a_transient_error(remote, fake, celery_worker):
    fake.inject(Fault("GET", r"^/v1/videos/video_\w+$", "malformed"))
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    assert "unreadable reply" in next(e.error_message for e in load_job(job_id).events if e.event == "retrying")


def test_a_create_that_times_out_after_creating_is_looked_up_not_repaid(remote, fake, celery_worker):
    fake.inject(Fault("POST", r"^/v1/videos$", "hang_after_create", seconds=4))
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    assert fake.create_calls == {f"{job_id}:1": 1} and fake.jobs_created == 1
    assert detail(job_id, "submitted")["confirmed_by"] == "found"
    assert "create timed out" in next(e.error_message for e in load_job(job_id).events if e.event == "retrying")


def test_a_failed_remote_job_falls_back_to_the_local_renderer(remote, fake, celery_worker):
    fake.failing_prompts["Below 30%"] = {"code": "moderation_blocked", "message": "prompt flagged"}
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    job = load_job(job_id)
    assert (job.provider, job.fallback_used, job.fallback_tier) == ("local", True, "local")
    assert "moderation_blocked: prompt flagged" in job.fallback_reason
    assert detail(job_id, "fallback")["kind"] == "failed" and sum(fake.create_calls.values()) == 1


def test_truncated_content_is_downloaded_again_without_a_new_submission(remote, fake, celery_worker):
    fake.inject(Fault("GET", r"/content$", "truncate"))
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    job = load_job(job_id)
    assert job.provider == "openai" and job.fallback_used is False
    assert "truncated" in next(e.error_message for e in job.events if e.event == "retrying")
    assert sum(fake.create_calls.values()) == 1


def test_forbidden_download_is_retried(remote, fake, celery_worker):
    fake.inject(Fault("GET", r"/content$", "status", status=403, code="forbidden"))
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    assert load_job(job_id).provider == "openai" and sum(fake.create_calls.values()) == 1


def test_expired_content_falls_back_and_is_never_repaid(remote, fake, celery_worker):
    fake.content_expired = True
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    job = load_job(job_id)
    assert (job.provider, job.fallback_tier) == ("local", "local")
    assert detail(job_id, "fallback")["kind"] == "expired" and sum(fake.create_calls.values()) == 1


def test_a_forgotten_job_gets_exactly_one_new_submission(remote, fake, celery_worker, monkeypatch):
    fake.latency_s = 3
    job_id = enqueue_one()
    _wait_for(lambda: fake.jobs_created == 1)
    fake.forget_all()  # the server restarts and loses its in-memory jobs
    assert wait_for_terminal(job_id) == "completed"
    assert fake.create_calls == {f"{job_id}:1": 1, f"{job_id}:2": 1}
    assert "remote_forgotten" in event_names(job_id) and load_job(job_id).provider == "openai"


def test_a_job_forgotten_twice_falls_back(remote, fake, celery_worker):
    fake.latency_s = 3
    job_id = enqueue_one()
    _wait_for(lambda: fake.jobs_created == 1)
    fake.forget_all()
    _wait_for(lambda: fake.jobs_created == 2)
    fake.forget_all()
    assert wait_for_terminal(job_id) == "completed"
    assert detail(job_id, "fallback")["kind"] == "forgotten" and fake.jobs_created == 2


def test_a_removed_model_opens_the_breaker_for_later_jobs(remote, fake, celery_worker):
    fake.removed_models.add(MODEL)
    first = enqueue_one()
    assert wait_for_terminal(first) == "completed"
    assert detail(first, "fallback")["kind"] == "gone" and "circuit_opened" in event_names(first)
    [breaker] = open_breakers()
    assert (breaker.model, breaker.base_url) == (MODEL, fake.base_url) and "410" in breaker.reason

    posts_before = fake.requests[("POST", "/v1/videos")]
    second = enqueue_one(user_id="user_0002", utilization=55)
    assert wait_for_terminal(second) == "completed"
    assert detail(second, "fallback")["kind"] == "breaker"
    assert fake.requests[("POST", "/v1/videos")] == posts_before, "no request spent on a dead endpoint"


def test_a_sunset_model_is_never_called(remote, fake, celery_worker, monkeypatch):
    monkeypatch.setenv("VIDEO_MODEL", "sora-2-2025-10-06")
    reload_settings()
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    assert detail(job_id, "fallback")["kind"] == "sunset"
    assert "shut down on 2026-09-24" in load_job(job_id).fallback_reason
    assert sum(fake.requests.values()) == 0


def test_a_job_past_its_deadline_falls_back(remote, fake, celery_worker, monkeypatch):
    monkeypatch.setenv("VIDEO_POLL_DEADLINE_S", "10")
    reload_settings()
    fake.latency_s = 60
    job_id = enqueue_one()
    assert wait_for_terminal(job_id, timeout_s=40) == "completed"
    job = load_job(job_id)
    assert detail(job_id, "fallback")["kind"] == "deadline" and job.provider == "local"
    assert fake.jobs_created == 1


def test_a_rejected_key_falls_back_at_once(remote, fake, celery_worker):
    fake.api_key = "sk-another-key"
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    assert detail(job_id, "fallback")["kind"] == "permanent" and "401" in load_job(job_id).fallback_reason
    assert "retrying" not in event_names(job_id)


def _wait_for(condition, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_a_poll_that_hangs_past_the_timeout_is_retried(remote, fake, celery_worker):
    fake.inject(Fault("GET", r"^/v1/videos/video_\w+$", "hang", seconds=3))  # the client gives up after 2 s
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    assert "retrieve timed out" in next(e.error_message for e in load_job(job_id).events if e.event == "retrying")
    assert load_job(job_id).provider == "openai" and fake.jobs_created == 1


@pytest.fixture
def short_settle(monkeypatch):
    """An unlisted create counts as never arrived 12 s after it was sent (twice the 2 s request timeout
    plus 8 s), not production's 34 s: the two tests below wait that window out."""
    from worker.remote import generation

    monkeypatch.setattr(generation, "CREATE_SETTLE_MARGIN_S", 8)


def test_a_slow_create_is_waited_for_not_sent_again_even_without_idempotency(remote, fake, short_settle, celery_worker):
    fake.honour_idempotency = False  # a server that would bill a repeated key again
    # Times out at 2 s and creates at 6 s: the retry (2-4 s) looks the job up before it exists.
    fake.inject(Fault("POST", r"^/v1/videos$", "hang", seconds=6))
    job_id = enqueue_one()
    assert wait_for_terminal(job_id, timeout_s=90) == "completed"
    assert sum(fake.create_calls.values()) == 1 and fake.jobs_created == 1
    assert detail(job_id, "submitted")["confirmed_by"] == "found"
    names = event_names(job_id)
    assert "create_unconfirmed" in names and detail(job_id, "create_unconfirmed")["look_again_s"] > 0
    assert names.count("retrying") == 1, "only the timed-out create was an error; waiting for the list is not"
    assert load_job(job_id).provider == "openai", "no fallback while the paid job could still appear"


def test_a_create_that_never_arrived_is_sent_again_once_under_the_same_key(remote, fake, short_settle, celery_worker):
    fake.inject(Fault("POST", r"^/v1/videos$", "drop", seconds=3))  # times out at 2 s; nothing is created
    job_id = enqueue_one()
    assert wait_for_terminal(job_id, timeout_s=90) == "completed"
    assert fake.requests[("POST", "/v1/videos")] == 2 and fake.create_calls == {f"{job_id}:1": 1}
    assert fake.jobs_created == 1 and load_job(job_id).provider == "openai"
    names = event_names(job_id)
    assert names.count("submitting") == 1, "one intent: the second request re-sends it, same key"
    assert "create_unconfirmed" in names and detail(job_id, "submitted")["confirmed_by"] == "created"


def test_a_gateway_that_echoes_the_key_never_gets_it_stored(remote, fake, celery_worker):
    from tests.helpers import database_dump

    fake.inject(Fault("POST", r"^/v1/videos$", "status", status=401, code=f"bad key {API_KEY}"))
    job_id = enqueue_one()
    assert wait_for_terminal(job_id) == "completed"
    assert "[redacted]" in load_job(job_id).fallback_reason
    assert API_KEY not in database_dump(remote.database_url)
