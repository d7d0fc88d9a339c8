"""Write the queued `video_jobs` row, then publish `generate_video(job_id)`.

The row is committed before the message is sent, so a job always exists in the
database before any worker can see it. If publishing fails the row is marked
failed with the reason, so no job is left silently queued. The same request
twice (same user, topic and figures) is the same job: a unique idempotency key
makes enqueueing idempotent, and a failed job is re-queued rather than copied.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine_hooks.inputs import JobSpec
from worker.db.models import JobStatus, VideoJob, VideoJobEvent, utcnow
from worker.db.session import session_scope
from worker.jobs import recorder
from worker.messages import publish_job
from worker.storage.urls import job_urls
from worker.traces import video_metadata

#: Columns copied from a finished job whose video is identical to the one requested.
_REUSED_COLUMNS = (
    "provider", "renderer_version", "video_url", "poster_url", "captions_url", "description", "video_sha256",
    "video_key", "poster_key", "captions_key", "file_size_bytes",
    "duration_seconds", "width", "height", "fps", "codec", "generation_time_seconds",
    "fallback_used", "fallback_tier",
)


class PublishError(RuntimeError):
    """The broker did not take the message; the job has been marked failed."""

    def __init__(self, message: str, job_id: str) -> None:
        super().__init__(message)
        self.job_id = job_id


@dataclass(frozen=True)
class EnqueuedJob:
    job_id: str
    status: str
    video_url: str | None
    video_metadata: dict[str, Any] | None


def enqueue_job(spec: JobSpec, before_publish: Callable[[], None] | None = None) -> EnqueuedJob:
    """Create (or find) the job for `spec` and make sure a worker will see it.

    `before_publish` runs after the database work and before the message is sent.

    Raises:
        PublishError: the broker refused; the job row now says failed, and why.
        SQLAlchemyError: the database is unreachable (nothing was written).
    """
    try:
        job, publish = _create_or_find(spec)
    except IntegrityError:  # another process created the same job a moment ago
        job, publish = _create_or_find(spec)
    if publish:
        if before_publish is not None:
            before_publish()
        _publish(job)
    if job.status != JobStatus.COMPLETED.value:
        return EnqueuedJob(job.id, job.status, None, None)
    urls = job_urls(job)
    return EnqueuedJob(job.id, job.status, urls.video_url, video_metadata(job, urls))


def _create_or_find(spec: JobSpec) -> tuple[VideoJob, bool]:
    """One query finds this request's job or a finished twin; one flush writes the new job and its event."""
    with session_scope() as session:
        job, donor = _existing_and_twin(session, spec)
        if job is not None:
            if job.status == JobStatus.FAILED.value and recorder.requeue(session, job.id, "requested again"):
                session.refresh(job)
                return job, True
            return job, False
        job = _new_row(spec)
        if donor is None:
            session.add_all([job, VideoJobEvent(job_id=job.id, event="queued", status=job.status, attempt=0)])
            return job, True
        _reuse(job, donor)
        session.add_all([job, VideoJobEvent(job_id=job.id, event="reused", status=job.status, attempt=0,
                                            detail={"reused_from_job_id": donor.id})])
        return job, False


def _new_row(spec: JobSpec) -> VideoJob:
    now = utcnow()
    return VideoJob(
        id=str(uuid.uuid4()), idempotency_key=spec.idempotency_key, user_id=spec.user_id, persona=spec.persona,
        topic=spec.topic, template_id=spec.template.template_id, template_version=spec.template.version,
        prompt_hash=spec.prompt_hash, prompt=spec.prompt, input=spec.row_input(),
        status=JobStatus.QUEUED.value, attempt=0, retry_count=0, enqueue_count=1,
        created_at=now, queued_at=now, updated_at=now, fallback_used=False,
    )


def _existing_and_twin(session: Session, spec: JobSpec) -> tuple[VideoJob | None, VideoJob | None]:
    """This request's job (same idempotency key), else the newest completed job with identical content."""
    mine = VideoJob.idempotency_key == spec.idempotency_key
    rows = session.scalars(
        select(VideoJob)
        .where(or_(mine, and_(VideoJob.prompt_hash == spec.prompt_hash, VideoJob.status == JobStatus.COMPLETED.value)))
        .order_by(case((mine, 0), else_=1), VideoJob.finished_at.desc())
        .limit(1)
    ).all()
    if not rows:
        return None, None
    return (rows[0], None) if rows[0].idempotency_key == spec.idempotency_key else (None, rows[0])


def _reuse(job: VideoJob, donor: VideoJob) -> None:
    for column in _REUSED_COLUMNS:
        setattr(job, column, getattr(donor, column))
    job.status = JobStatus.COMPLETED.value
    job.reused_from_job_id = donor.id
    job.finished_at = job.started_at = utcnow()
    job.wait_seconds = 0.0


def _publish(job: VideoJob) -> None:
    try:
        publish_job(job.id)
    except Exception as exc:
        failure = PublishError(f"could not publish to the broker: {type(exc).__name__}: {exc}", job.id)
        recorder.guarded(recorder.fail, job.id, failure, attempt=job.attempt, event="enqueue_failed")
        job.status = JobStatus.FAILED.value
        raise failure from exc
