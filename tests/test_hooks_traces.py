"""The engine's trace save with videos: the video fields, the generation log, the lock, and what needs no query."""

from __future__ import annotations

import copy
import json

import pytest

from engine_hooks import attach_video_trace, enqueue_videos, save_trace
from tests.conftest import SHARED_DIR
from tests.engine_calls import engine_call
from tests.factories import OUTCOME, load_job
from worker.jobs import leases, recorder
from worker.prompts import find_template


def test_attach_video_trace_fills_recommendations_and_log_from_the_database(configured, signals):
    trace, user_id, persona, recs, context = engine_call(SHARED_DIR / "traces" / "user_0001.json", signals)
    [job_id] = enqueue_videos(user_id, persona, recs, context)
    saved = attach_video_trace(trace)
    rec = next(r for r in recs if r.get("video_job_id"))
    assert saved is trace and rec["video_url"] is None and rec["video_metadata"]["status"] == "queued"
    assert [e["event"] for e in trace["video_generation_log"]] == ["queued"]

    leases.claim(job_id, retries=0, lease_s=60)
    recorder.complete(job_id, OUTCOME, attempt=1)
    attach_video_trace(trace)
    meta = rec["video_metadata"]
    assert rec["video_url"] == OUTCOME.video_url and rec["video_status"] == "completed"
    assert {k: meta[k] for k in ("duration_seconds", "resolution", "provider", "template_version")} == {
        "duration_seconds": 8.0,
        "resolution": "1280x720",
        "provider": "local",
        "template_version": find_template("high_utilization", "credit_utilization").version,
    }
    assert meta["generated_at"] and meta["prompt_hash"] == load_job(job_id).prompt_hash
    log = trace["video_generation_log"]
    assert [e["status"] for e in log] == ["queued", "running", "completed"]
    assert set(log[-1]) >= {
        "timestamp",
        "job_id",
        "topic",
        "status",
        "video_url",
        "generation_time_seconds",
        "retry_count",
        "error",
        "fallback_used",
    }
    assert log[-1]["video_url"] == OUTCOME.video_url
    assert trace["signals"] == json.loads((SHARED_DIR / "traces" / "user_0001.json").read_text())["signals"]


def test_save_trace_writes_the_attached_trace_under_the_workers_lock(configured, signals):
    from worker.traces import trace_path

    trace, user_id, persona, recs, context = engine_call(SHARED_DIR / "traces" / "user_0001.json", signals)
    [job_id] = enqueue_videos(user_id, persona, recs, context)
    path = save_trace(trace)
    assert path == trace_path(user_id, configured)
    saved = json.loads(path.read_text())
    assert saved["video_generation_log"][0]["job_id"] == job_id and saved["signals"] == trace["signals"]
    assert (path.parent / ".video-locks" / f"{path.name}.lock").exists(), "locks live out of the engine's way"
    assert not list(path.parent.glob(".*.lock")) and not list(path.parent.glob("*.tmp"))


def test_a_users_first_job_is_saved_to_the_trace_without_reading_it_back(configured, signals, monkeypatch):
    """The trace save right after a user's first enqueue needs no query; its trace is what a read would give."""
    from worker.jobs import reader

    trace, user_id, persona, recs, context = engine_call(SHARED_DIR / "traces" / "user_0001.json", signals)
    [job_id] = enqueue_videos(user_id, persona, recs, context)
    with monkeypatch.context() as patched:
        patched.setattr(reader, "user_events", lambda user: pytest.fail("the first job's trace read the database"))
        saved = json.loads(save_trace(copy.deepcopy(trace)).read_text())
    expected = attach_video_trace(trace)  # nothing remembered now: read from the database
    assert saved["video_generation_log"] == json.loads(json.dumps(expected["video_generation_log"]))
    rec = next(r for r in saved["recommendations"]["recommendations"] if r.get("video_job_id"))
    assert rec["video_job_id"] == job_id and rec["video_status"] == "queued"
    assert "video_generation_error" not in saved


def test_a_repeat_requests_trace_comes_from_the_log_its_enqueue_read(configured, monkeypatch):
    """A repeat request reads the user's log once, in enqueue_videos; the trace save reuses it."""
    from worker.jobs import reader

    [job_id] = enqueue_videos(
        "user_0001", "High Utilization", [{"topic": "credit_utilization"}], {"credit_max_util_pct": 73}
    )
    leases.claim(job_id, retries=0, lease_s=60)
    recorder.complete(job_id, OUTCOME, attempt=1)
    recs = [{"topic": "credit_utilization"}]
    assert enqueue_videos("user_0001", "High Utilization", recs, {"credit_max_util_pct": 73}) == [job_id]
    with monkeypatch.context() as patched:
        patched.setattr(reader, "user_events", lambda *args: pytest.fail("the trace save read the log again"))
        saved = json.loads(
            save_trace({"user_id": "user_0001", "recommendations": {"recommendations": recs}}).read_text()
        )
    [rec] = saved["recommendations"]["recommendations"]
    assert rec["video_status"] == "completed" and rec["video_url"] == OUTCOME.video_url
    assert [entry["event"] for entry in saved["video_generation_log"]] == ["queued", "started", "completed"]


def test_a_job_that_finished_before_the_trace_save_is_read_from_the_database(configured):
    """The worker finished and rewrote the trace between the engine's two calls: nothing stale is written."""
    from worker.traces import refresh_trace_file

    recs = [{"topic": "credit_utilization"}]
    [job_id] = enqueue_videos("user_0001", "High Utilization", recs, {"credit_max_util_pct": 73})
    leases.claim(job_id, retries=0, lease_s=60)
    recorder.complete(job_id, OUTCOME, attempt=1)
    refresh_trace_file("user_0001", configured)  # as the worker does when a job ends
    saved = json.loads(save_trace({"user_id": "user_0001", "recommendations": {"recommendations": recs}}).read_text())
    [rec] = saved["recommendations"]["recommendations"]
    assert rec["video_status"] == "completed" and rec["video_url"] == OUTCOME.video_url


def test_a_user_with_earlier_jobs_gets_the_whole_log_from_the_database(configured):

    [earlier] = enqueue_videos(
        "user_0001", "High Utilization", [{"topic": "credit_utilization"}], {"credit_max_util_pct": 73}
    )
    recs = [{"topic": "credit_utilization"}]
    [job_id] = enqueue_videos("user_0001", "High Utilization", recs, {"credit_max_util_pct": 91})
    saved = json.loads(save_trace({"user_id": "user_0001", "recommendations": {"recommendations": recs}}).read_text())
    assert [entry["job_id"] for entry in saved["video_generation_log"]] == [earlier, job_id]


@pytest.mark.parametrize("flag", ["true", "false"])
def test_importing_the_hooks_loads_the_video_code_only_with_the_flag_on(tmp_path, flag):
    """With the flag on, the engine's start-up (its import of the hooks) loads the database and broker
    code, so its first request does not; with it off, the import loads none of it."""
    import os
    import subprocess
    import sys

    probe = (
        "import sys, engine_hooks; "
        "print(sorted(m for m in ('sqlalchemy.orm', 'celery', 'kombu.transport.sqlalchemy') if m in sys.modules))"
    )
    env = {
        **os.environ,
        "VIDEO_GENERATION_ENABLED": flag,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'jobs.sqlite'}",
        "CELERY_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
        "TRACE_DIR": str(tmp_path / "traces"),
    }
    loaded = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert loaded == ("['celery', 'kombu.transport.sqlalchemy', 'sqlalchemy.orm']" if flag == "true" else "[]")
    assert not (tmp_path / "jobs.sqlite").exists() and not (tmp_path / "broker.sqlite").exists(), (
        "nothing connects at import"
    )
