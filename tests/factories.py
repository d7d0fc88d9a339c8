"""Jobs for tests: rows written directly (as the hooks would), jobs queued through the hooks, and waits.

Rows written directly let readers and the recorder be tested alone; `enqueue_one` goes
through `enqueue_videos`, so a worker receives a real message.
"""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import update

from engine_hooks import enqueue_videos
from engine_hooks.enqueue import _new_row_values
from engine_hooks.inputs import job_spec
from worker.db.models import VideoJob, VideoJobEvent, utcnow
from worker.db.session import session_scope
from worker.jobs import reader
from worker.jobs.recorder import Outcome

#: Long enough for 1 + 3 attempts with backoff 2/4/8 s (full jitter) and local renders.
JOB_TIMEOUT_S = 60
#: What a finished local render records; for tests that complete jobs by hand.
OUTCOME = Outcome(
    provider="local", renderer_version="local-1.1", video_url="file:///v.mp4", poster_url=None,
    video_sha256="ab" * 32, file_size_bytes=1234, duration_seconds=8.0, width=1280, height=720, fps=24.0,
    codec="h264", generation_time_seconds=1.5,
)


def queued_job(user_id: str = "user_0001", utilization: float = 73.0) -> str:
    spec = job_spec(user_id, "High Utilization", "credit_utilization", {"credit_max_util_pct": utilization})
    row = VideoJob(**_new_row_values(spec))
    with session_scope() as session:
        session.add(row)
        session.add(VideoJobEvent(job_id=row.id, event="queued", status=row.status, attempt=0))
    return row.id


def load_job(job_id: str) -> VideoJob:
    with session_scope() as session:
        found = session.get(VideoJob, job_id)
        assert found is not None
        _ = list(found.events)  # load while the session is open
        return found


def event_names(job_id: str) -> list[str]:
    return [event.event for event in load_job(job_id).events]


def trace_when_done(user_id: str, settings, job_id: str, timeout_s: float = 15) -> dict:
    """The user's trace file once it records the job's final event (written just after the row)."""
    import json
    import time

    from worker.traces import trace_path

    deadline = time.monotonic() + timeout_s
    path = trace_path(user_id, settings)
    while True:
        if path.exists():
            trace = json.loads(path.read_text())
            finals = [e for e in trace.get("video_generation_log", [])
                      if e["job_id"] == job_id and e["event"] in ("completed", "failed")]
            if finals:
                return trace
        assert time.monotonic() < deadline, f"trace of {job_id} never recorded its final event"
        time.sleep(0.05)


def wait_for_terminal(job_id: str, timeout_s: float = JOB_TIMEOUT_S) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = reader.get_status(job_id).value
        if status in ("completed", "failed"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {reader.get_status(job_id).value} after {timeout_s}s")


def enqueue_one(user_id: str = "user_0001", utilization: float = 73.0, recs: list[dict] | None = None) -> str:
    """Queue one video through the hooks (annotating `recs`, when given, as the engine would see it)."""
    [job_id] = enqueue_videos(user_id, "High Utilization", recs if recs is not None else [{"topic": "credit_utilization"}],
                              {"credit_max_util_pct": utilization})
    return job_id


def events(job_id: str) -> list[tuple[str, int]]:
    return [(event.event, event.attempt) for event in load_job(job_id).events]


def age(job_id: str, seconds: float, **values) -> None:
    """Pretend nothing has happened to the job for `seconds`."""
    with session_scope() as session:
        session.execute(update(VideoJob).where(VideoJob.id == job_id)
                        .values(updated_at=utcnow() - timedelta(seconds=seconds), **values))
