"""Trace files: merged into the engine's JSON, atomic, and convergent under concurrent writers."""

import json
import multiprocessing
import random
import time

import pytest

from tests.conftest import SHARED_DIR
from tests.factories import OUTCOME, queued_job
from worker.db.session import dispose_engines
from worker.jobs import leases, reader, recorder
from worker.settings import reload_settings
from worker.traces import refresh_trace_file, trace_path


def _engine_trace_with_job(settings, job_id):
    trace = json.loads((SHARED_DIR / "traces" / "user_0001.json").read_text())
    rec = next(r for r in trace["recommendations"]["recommendations"] if r["topic"] == "credit_utilization")
    rec["video_job_id"], rec["video_status"] = job_id, "queued"
    path = trace_path("user_0001", settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(trace))
    return trace


def test_refresh_keeps_everything_the_engine_wrote(configured):
    job_id = queued_job("user_0001")
    original = _engine_trace_with_job(configured, job_id)
    leases.claim(job_id, retries=0, lease_s=60)
    recorder.complete(job_id, OUTCOME, attempt=1)

    path = refresh_trace_file("user_0001", configured)

    updated = json.loads(path.read_text())
    for key in ("signals", "persona_assignment", "timestamp", "phase"):
        assert updated[key] == original[key]
    rec = next(r for r in updated["recommendations"]["recommendations"] if r.get("video_job_id"))
    assert rec["video_status"] == "completed" and rec["video_url"] == OUTCOME.video_url
    assert [e["event"] for e in updated["video_generation_log"]] == ["queued", "started", "completed"]
    others = [r for r in updated["recommendations"]["recommendations"] if not r.get("video_job_id")]
    assert all("video_url" not in r for r in others)


def test_refresh_creates_a_missing_trace(configured):
    job_id = queued_job("user_0099")
    path = refresh_trace_file("user_0099", configured)
    trace = json.loads(path.read_text())
    assert trace["user_id"] == "user_0099"
    assert trace["video_generation_log"][0]["job_id"] == job_id


def test_a_corrupt_trace_is_left_alone(configured):
    path = trace_path("user_0001", configured)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    assert refresh_trace_file("user_0001", configured) is None
    assert path.read_text() == "{not json"


def test_a_hostile_user_id_stays_in_the_trace_directory(configured):
    queued_job("../../etc/passwd")
    path = refresh_trace_file("../../etc/passwd", configured)
    assert path.parent == configured.trace_dir
    assert json.loads(path.read_text())["user_id"] == "../../etc/passwd"


def _complete_and_refresh(job_id: str, seed: int) -> None:
    dispose_engines()  # never share a parent's connections after fork
    settings = reload_settings()
    # Widen the window between reading the database and writing the file, so that
    # writers which are not serialised would overwrite each other's newer state.
    delays = random.Random(seed)
    read_events = reader.user_events

    def slow_read(user_id, session=None):
        rows = read_events(user_id, session)
        time.sleep(delays.uniform(0, 0.3))
        return rows

    reader.user_events = slow_read
    time.sleep(delays.uniform(0, 0.1))
    leases.claim(job_id, retries=0, lease_s=60)
    recorder.complete(job_id, OUTCOME, attempt=1)
    refresh_trace_file("user_0001", settings)


@pytest.mark.parametrize("run", range(3))
def test_concurrent_completions_for_one_user_keep_every_entry(sqlite_configured, run):
    job_ids = [queued_job("user_0001", utilization=40 + i) for i in range(8)]
    trace = {
        "user_id": "user_0001",
        "engine_field": run,
        "recommendations": {"recommendations": [{"topic": "credit_utilization", "video_job_id": j} for j in job_ids]},
    }
    path = trace_path("user_0001", sqlite_configured)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(trace))
    dispose_engines()

    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_complete_and_refresh, args=(job_id, run * 100 + index))
        for index, job_id in enumerate(job_ids)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert all(process.exitcode == 0 for process in processes)

    final = json.loads(path.read_text())
    assert final["engine_field"] == run
    assert {r["video_status"] for r in final["recommendations"]["recommendations"]} == {"completed"}
    completed = {e["job_id"] for e in final["video_generation_log"] if e["event"] == "completed"}
    assert completed == set(job_ids)
    assert not list(path.parent.glob("*.tmp")), "no temporary files left behind"
