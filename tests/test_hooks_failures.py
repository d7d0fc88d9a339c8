"""The engine hooks when the video system is down, hung, unmigrated or misconfigured: never fatal.

Hangs are caught by pytest-timeout marks (the run fails if a call blocks), not by
measuring durations: the point is that the engine gets an answer, not how fast.
"""

from __future__ import annotations

import socket
from contextlib import contextmanager

import pytest

from engine_hooks import attach_video_trace, enqueue_videos
from tests.conftest import configure
from tests.factories import event_names, load_job
from worker.celery_app import reconfigure
from worker.settings import get_settings, reload_settings

RECS_CONTEXT = {"credit_max_util_pct": 73}


def queue_one() -> list[dict]:
    recs = [{"topic": "credit_utilization"}]
    assert enqueue_videos("user_0001", "High Utilization", recs, RECS_CONTEXT) == []
    return recs


@contextmanager
def broker_at(monkeypatch, url: str):
    """Publish to `url` for the duration, then back to the test broker."""
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    reconfigure(reload_settings())
    try:
        yield
    finally:
        monkeypatch.setenv("CELERY_BROKER_URL", "memory://")
        reconfigure(reload_settings())


@pytest.fixture
def black_hole():
    """A TCP port that accepts connections and never answers (a hung server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield listener.getsockname()[1]
    listener.close()


def test_unreachable_database_never_reaches_the_engine(monkeypatch, tmp_path):
    configure(monkeypatch, tmp_path, "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2", migrate=False)
    recs = queue_one()
    assert recs[0]["video_status"] == "error"
    assert recs[0]["video_error"].startswith("video system unavailable: OperationalError")
    trace = attach_video_trace({"user_id": "user_0001", "recommendations": {"recommendations": recs}})
    assert trace["video_generation_error"].startswith("video system unavailable")


def test_unmigrated_database_names_the_fix(monkeypatch, tmp_path):
    configure(monkeypatch, tmp_path, f"sqlite:///{tmp_path / 'empty.sqlite'}", migrate=False)
    recs = queue_one()
    assert recs[0]["video_status"] == "error" and "spendsense-video migrate" in recs[0]["video_error"]


def test_unreachable_broker_marks_the_job_failed_with_the_reason(configured, monkeypatch):
    with broker_at(monkeypatch, "redis://127.0.0.1:1/0"):
        recs = queue_one()
    assert recs[0]["video_status"] == "error" and "could not publish to the broker" in recs[0]["video_error"]
    job = load_job(recs[0]["video_job_id"])
    assert job.status == "failed" and "could not publish" in job.error_message
    assert event_names(job.id) == ["queued", "enqueue_failed"]


def test_several_recommendations_try_the_unreachable_broker_once(configured, monkeypatch):
    recs = [{"topic": "credit_utilization", "title": "Lower it"}, {"topic": "credit_utilization", "title": "Why"}]
    with broker_at(monkeypatch, "redis://127.0.0.1:1/0"):
        assert enqueue_videos("user_0001", "High Utilization", recs, RECS_CONTEXT) == []
    assert recs[0]["video_job_id"] == recs[1]["video_job_id"], "one job: its figures come from the user"
    assert all(rec["video_status"] == "error" for rec in recs)
    assert event_names(recs[0]["video_job_id"]) == ["queued", "enqueue_failed"], "one publish, not one per rec"


def test_flag_off_wins_over_unrelated_bad_settings(configured, monkeypatch):
    monkeypatch.setenv("VIDEO_GENERATION_ENABLED", "false")
    monkeypatch.setenv("VIDEO_PUBLIC_BASE_URL", "cdn.example.com/no-scheme")
    get_settings.cache_clear()
    recs = queue_one()
    assert recs == [{"topic": "credit_utilization"}]
    monkeypatch.setenv("VIDEO_GENERATION_ENABLED", "true")
    get_settings.cache_clear()
    recs = queue_one()
    assert recs[0]["video_status"] == "error" and "VIDEO_PUBLIC_BASE_URL" in recs[0]["video_error"]


@pytest.mark.timeout(15)
def test_a_hung_database_does_not_hang_the_engine(monkeypatch, tmp_path, black_hole):
    configure(monkeypatch, tmp_path, f"postgresql+psycopg://u@127.0.0.1:{black_hole}/db", migrate=False)
    recs = queue_one()
    assert recs[0]["video_status"] == "error" and "OperationalError" in recs[0]["video_error"]


@pytest.mark.timeout(20)
def test_a_hung_broker_does_not_hang_the_engine(configured, monkeypatch, black_hole):
    with broker_at(monkeypatch, f"redis://127.0.0.1:{black_hole}/0"):
        recs = queue_one()
    assert recs[0]["video_status"] == "error" and "could not publish" in recs[0]["video_error"]
    assert load_job(recs[0]["video_job_id"]).status == "failed", "never left silently queued"
