"""Jobs for tests, as rows written directly through the recorder (as the hooks would): readers, the
recorder and the reconciler can be tested alone. Queueing through the hooks and waiting is
`tests.helpers`."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from engine_hooks.enqueue import _new_row_values
from engine_hooks.inputs import job_spec
from worker.db.models import VideoJob, utcnow
from worker.db.session import session_scope
from worker.jobs import recorder
from worker.jobs.outcome import Outcome

#: What a finished local render records; for tests that complete jobs by hand.
OUTCOME = Outcome(
    provider="local",
    renderer_version="local-1.1",
    video_url="file:///v.mp4",
    poster_url=None,
    video_sha256="ab" * 32,
    file_size_bytes=1234,
    duration_seconds=8.0,
    width=1280,
    height=720,
    fps=24.0,
    codec="h264",
    generation_time_seconds=1.5,
)


def queued_job(user_id: str = "user_0001", utilization: float = 73.0) -> str:
    spec = job_spec(user_id, "High Utilization", "credit_utilization", {"credit_max_util_pct": utilization})
    row = VideoJob(**_new_row_values(spec))
    with session_scope() as session:
        recorder.add_new_job(session, row)
    return row.id


def load_job(job_id: str) -> VideoJob:
    with session_scope() as session:
        found = session.get(VideoJob, job_id)
        assert found is not None
        _ = list(found.events)  # load while the session is open
        return found


def event_names(job_id: str) -> list[str]:
    return [event.event for event in load_job(job_id).events]


def events(job_id: str) -> list[tuple[str, int]]:
    return [(event.event, event.attempt) for event in load_job(job_id).events]


def age(job_id: str, seconds: float, **values) -> None:
    """Pretend nothing has happened to the job for `seconds`."""
    with session_scope() as session:
        session.execute(
            update(VideoJob)
            .where(VideoJob.id == job_id)
            .values(updated_at=utcnow() - timedelta(seconds=seconds), **values)
        )
