"""The engine hooks when the video system is down, hung, unmigrated or misconfigured: never fatal, never waiting.

Hangs are caught by pytest-timeout marks (the run fails if a call blocks); how long each call
takes is printed by bench/bench_engine_overhead.py, never asserted here.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time

import pytest

from engine_hooks import attach_video_trace, budget, enqueue_videos, save_trace, warm_up
from engine_hooks.outcomes import ENGINE_STATUSES, MESSAGES
from tests.conftest import broker, configure
from tests.factories import event_names, load_job
from tests.helpers import wait_for_terminal
from worker.settings import get_settings, reload_settings
from worker.traces import trace_path, trace_write_lock

RECS_CONTEXT = {"credit_max_util_pct": 73}
#: What must never reach the engine: hosts, ports, database names, paths, driver names.
INTERNALS = re.compile(r"127\.0\.0\.1|localhost|:\d{2,5}\b|secretdb|/tmp|/work|sqlite|psycopg|redis|Error\b")


def queue_one(user_id: str = "user_0001") -> list[dict]:
    recs = [{"topic": "credit_utilization"}]
    enqueue_videos(user_id, "High Utilization", recs, RECS_CONTEXT)
    return recs


def engine_trace(user_id: str, recs: list[dict]) -> dict:
    return {"user_id": user_id, "recommendations": {"recommendations": recs}}


def assert_clean_for_the_engine(recs: list[dict]) -> None:
    for rec in recs:
        assert rec["video_status"] in ENGINE_STATUSES
        if "video_error" in rec:
            code, sentence = rec["video_error"].split(": ", 1)
            assert code in MESSAGES or code == "invalid_input"
            assert not INTERNALS.search(rec["video_error"]), rec["video_error"]


@pytest.fixture
def black_hole():
    """A TCP port that accepts connections and never answers (a hung server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def production_budget(monkeypatch):
    """The hooks' production time budget (the test default is generous for slow CI machines)."""
    monkeypatch.setenv("VIDEO_HOOK_BUDGET_MS", "50")
    monkeypatch.setenv("VIDEO_HOOK_BACKOFF_S", "30")


@pytest.mark.timeout(30)
def test_a_hung_database_answers_every_call_unavailable_and_the_trace_is_written(
    monkeypatch, tmp_path, black_hole, production_budget
):
    settings = configure(
        monkeypatch, tmp_path, f"postgresql+psycopg://u@127.0.0.1:{black_hole}/secretdb", migrate=False
    )
    for _ in range(20):
        recs = queue_one()
        assert recs[0]["video_status"] == "unavailable"
        assert recs[0]["video_error"].startswith("database_unavailable: ")
        assert_clean_for_the_engine(recs)
        path = save_trace(engine_trace("user_0001", recs))
        assert json.loads(path.read_text())["recommendations"]["recommendations"] == recs
    assert path == trace_path("user_0001", settings)


@pytest.mark.timeout(30)
def test_a_hung_broker_answers_every_call_unavailable_and_the_trace_is_written(
    sqlite_configured, monkeypatch, black_hole, production_budget
):
    reload_settings()
    assert warm_up() is True, "the database answers"
    with broker(monkeypatch, f"redis://127.0.0.1:{black_hole}/0"):
        for call in range(20):
            recs = queue_one(f"user_{call:04d}")
            assert recs[0]["video_status"] == "unavailable", recs
            # Until the hung publish gives up, the call that overran cannot tell a slow first write
            # from a hung broker; the code is one of the two, and never an internal.
            assert recs[0]["video_error"].split(":")[0] in ("broker_unavailable", "database_unavailable")
            assert_clean_for_the_engine(recs)
            path = save_trace(engine_trace(f"user_{call:04d}", recs))
            saved = json.loads(path.read_text())
            assert saved["user_id"] == f"user_{call:04d}"
            # A job the broker never took is not shown as queued, though its row says so for now.
            assert saved["recommendations"]["recommendations"][0]["video_status"] == "unavailable", saved


@pytest.mark.timeout(30)
def test_a_broker_that_overruns_the_budget_still_hands_the_engine_its_job(sqlite_configured, monkeypatch, black_hole):
    monkeypatch.setenv("VIDEO_HOOK_BUDGET_MS", "1000")  # room for the insert; the hung broker overruns
    reload_settings()
    with broker(monkeypatch, f"redis://127.0.0.1:{black_hole}/0"):
        recs = queue_one()
        assert recs[0]["video_error"].startswith("broker_unavailable"), recs
        job_id = recs[0]["video_job_id"]
        assert load_job(job_id).status in ("queued", "failed")
        # The overrun publish goes on in the background and records why it gave up.
        assert wait_for_terminal(job_id, timeout_s=20) == "failed"
    assert event_names(job_id) == ["queued", "enqueue_failed"]


def test_a_call_that_overran_before_a_reset_cannot_trip_the_breaker_after_it():
    finish = threading.Event()

    def hangs_then_fails(stage) -> None:
        finish.wait(10)
        raise ConnectionError("gave up")

    with pytest.raises(budget.ServiceUnavailable):
        budget.within_budget(hangs_then_fails, first=budget.BROKER, budget_ms=10, backoff_s=30)
    assert budget.sick(budget.BROKER) == budget.BROKER
    budget.reset()
    finish.set()
    time.sleep(0.3)  # the late verdict lands within microseconds of the call's end
    assert budget.sick(budget.BROKER) is None, "a verdict from before the reset"


def test_an_unreachable_broker_leaves_a_job_the_engine_can_ask_for_again(configured, monkeypatch):
    with broker(monkeypatch, "redis://127.0.0.1:1/0"):
        recs = queue_one()
    assert recs[0]["video_status"] == "unavailable" and recs[0]["video_error"].startswith("broker_unavailable")
    job = load_job(recs[0]["video_job_id"])
    assert job.status == "failed" and "could not publish" in job.error_message, "the details are the operator's"
    assert event_names(job.id) == ["queued", "enqueue_failed"]
    budget.reset()  # the back-off has passed
    again = queue_one()
    assert again[0]["video_job_id"] == job.id and again[0]["video_status"] == "queued"


def test_several_recommendations_try_the_unreachable_broker_once(configured, monkeypatch):
    recs = [{"topic": "credit_utilization", "title": "Lower it"}, {"topic": "credit_utilization", "title": "Why"}]
    with broker(monkeypatch, "redis://127.0.0.1:1/0"):
        returned = enqueue_videos("user_0001", "High Utilization", recs, RECS_CONTEXT)
    assert recs[0]["video_job_id"] == recs[1]["video_job_id"], "one job: its figures come from the user"
    assert returned == [recs[0]["video_job_id"]] * 2, "a job id for each recommendation that carries one"
    assert all(rec["video_status"] == "unavailable" for rec in recs)
    assert event_names(recs[0]["video_job_id"]) == ["queued", "enqueue_failed"], "one publish, not one per rec"


def test_a_sick_service_is_skipped_for_the_back_off(configured, monkeypatch):
    with broker(monkeypatch, "redis://127.0.0.1:1/0"):
        queue_one("user_0001")
        recs = queue_one("user_0002")
    assert recs[0]["video_error"].startswith("broker_unavailable") and "video_job_id" not in recs[0], (
        "skipped: not even a row was written"
    )


def test_error_texts_carry_no_internals(monkeypatch, tmp_path):
    cases = [
        "postgresql+psycopg://admin:pw@127.0.0.1:1/secretdb",
        f"sqlite:///{tmp_path / 'secretdb.sqlite'}",  # exists but unmigrated
    ]
    for url in cases:
        configure(monkeypatch, tmp_path, url, migrate=False)
        budget.reset()
        recs = queue_one()
        assert recs[0]["video_status"] == "unavailable"
        assert_clean_for_the_engine(recs)
        trace = attach_video_trace(engine_trace("user_0001", [{"topic": "credit_utilization", "video_job_id": "x"}]))
        assert not INTERNALS.search(trace["video_generation_error"])


def test_unmigrated_database_names_the_fix(monkeypatch, tmp_path):
    configure(monkeypatch, tmp_path, f"sqlite:///{tmp_path / 'empty.sqlite'}", migrate=False)
    recs = queue_one()
    assert (
        recs[0]["video_error"].startswith("schema_outdated:") and "spendsense-video migrate" in recs[0]["video_error"]
    )


def test_an_invalid_setting_with_the_flag_off_costs_the_engine_nothing(configured, monkeypatch, tmp_path):
    monkeypatch.setenv("VIDEO_GENERATION_ENABLED", "false")
    monkeypatch.setenv("CELERY_BROKER_URL", "rediss+typo://nowhere")
    get_settings.cache_clear()
    recs = queue_one()
    assert recs == [{"topic": "credit_utilization"}]
    trace = engine_trace("user_0001", recs)
    path = save_trace(trace, tmp_path / "engine" / "user_0001.json")  # no SettingsError into the engine
    assert path.read_text() == json.dumps(trace, indent=2)
    monkeypatch.setenv("VIDEO_GENERATION_ENABLED", "true")
    get_settings.cache_clear()
    recs = queue_one()
    assert recs[0]["video_status"] == "unavailable" and recs[0]["video_error"].startswith("configuration_invalid")
    monkeypatch.setenv("CELERY_BROKER_URL", "memory://")
    reload_settings()


def test_a_user_without_a_video_gets_the_engines_own_bytes_and_nothing_else(configured):
    from tests.conftest import SHARED_DIR

    original = (SHARED_DIR / "traces" / "user_0003.json").read_text()
    trace = json.loads(original)
    before = set(configured.trace_dir.rglob("*")) if configured.trace_dir.exists() else set()
    path = save_trace(trace)
    assert path.read_text() == json.dumps(json.loads(original), indent=2), "byte for byte the engine's json.dump"
    assert set(configured.trace_dir.rglob("*")) - before == {path}, "no lock file, no temporary file"
    assert "video_generation_log" not in json.loads(path.read_text())


@pytest.mark.timeout(30)
def test_a_held_trace_lock_delays_the_engine_at_most_the_budget(configured, monkeypatch):
    recs = [{"topic": "credit_utilization"}]
    [job_id] = enqueue_videos("user_0001", "High Utilization", recs, RECS_CONTEXT)  # the test's generous budget
    monkeypatch.setenv("VIDEO_HOOK_BUDGET_MS", "50")  # production's, for the trace save under test
    reload_settings()
    path = trace_path("user_0001", get_settings())
    path.parent.mkdir(parents=True, exist_ok=True)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with trace_write_lock(path):
            held.set()
            release.wait(20)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    try:
        save_trace(engine_trace("user_0001", recs))
        saved = json.loads(path.read_text())
        assert saved["recommendations"]["recommendations"][0]["video_job_id"] == job_id, "written anyway"
    finally:
        release.set()
        holder.join()


def test_a_file_system_that_cannot_lock_still_gets_the_trace(configured, monkeypatch):
    """NFS without lockd or some FUSE mounts refuse flock itself: the trace is written without the lock."""
    import errno
    import fcntl

    def refuse(*_args):
        raise OSError(errno.ENOLCK, "No locks available")

    recs = [{"topic": "credit_utilization"}]
    [job_id] = enqueue_videos("user_0001", "High Utilization", recs, RECS_CONTEXT)
    monkeypatch.setattr(fcntl, "flock", refuse)
    path = save_trace(engine_trace("user_0001", recs))
    assert json.loads(path.read_text())["recommendations"]["recommendations"][0]["video_job_id"] == job_id
