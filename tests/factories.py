"""Write job rows directly, as the hooks would, so readers and the recorder can be tested alone."""

from __future__ import annotations

from engine_hooks.enqueue import _new_row_values
from engine_hooks.inputs import job_spec
from worker.db.models import VideoJob, VideoJobEvent
from worker.db.session import session_scope
from worker.jobs.recorder import Outcome

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
