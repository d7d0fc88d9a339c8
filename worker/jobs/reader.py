"""Read job state from the database, the only source of truth (never Celery's result backend)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from worker.db.models import JobStatus, VideoJob, VideoJobEvent
from worker.db.session import autocommit_session


def get_status(job_id: str) -> JobStatus:
    """The job's status; `JobStatus.NOT_FOUND` for an id that was never created (or was deleted)."""
    with autocommit_session() as session:
        status = session.scalar(select(VideoJob.status).where(VideoJob.id == job_id))
    return JobStatus(status) if status else JobStatus.NOT_FOUND


def get_job(job_id: str) -> VideoJob | None:
    """A detached copy of the job row, or None."""
    with autocommit_session() as session:
        return session.get(VideoJob, job_id)


def jobs_by_id(job_ids: Iterable[str]) -> dict[str, VideoJob]:
    ids = sorted(set(job_ids))
    if not ids:
        return {}
    with autocommit_session() as session:
        return {job.id: job for job in session.scalars(select(VideoJob).where(VideoJob.id.in_(ids)))}


def user_events(user_id: str, session: Session | None = None) -> list[tuple[VideoJobEvent, VideoJob]]:
    """Every event of every job of one user, oldest first (in `session`'s transaction, if given;
    else one statement on its own, which the engine's hooks and trace writers make on every call)."""
    if session is None:
        with autocommit_session() as own:
            return user_events(user_id, own)
    return [(event, job) for event, job in session.execute(_USER_EVENTS, {"user_id": user_id})]


#: Built once: the hooks read a user's log on every repeat request.
_USER_EVENTS = (
    select(VideoJobEvent, VideoJob)
    .join(VideoJob, VideoJobEvent.job_id == VideoJob.id)
    .where(VideoJob.user_id == bindparam("user_id"))
    .order_by(VideoJobEvent.created_at, VideoJobEvent.id)
)
