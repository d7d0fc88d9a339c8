"""Write the queued `video_jobs` row, then publish `generate_video(job_id)`.

The row is committed before the message is sent, so a job always exists in the
database before any worker can see it. If publishing fails the row is marked
failed with the reason, so no job is left silently queued. The same request
twice (same user, topic and figures) is the same job: a unique idempotency key
makes enqueueing idempotent, and a failed job is re-queued rather than copied.

The common case, a request never seen before, costs one statement on
PostgreSQL (the job and its `queued` event in one `INSERT`) and one
transaction on SQLite; only when that insert finds this request's job or a
finished twin does the slower path read them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine_hooks.inputs import JobSpec
from worker.db.models import JobEvent, JobStatus, VideoJob, VideoJobEvent, utcnow
from worker.db.session import autocommit_session, session_scope
from worker.jobs import new_jobs, reader, recorder
from worker.jobs.reuse import finished_twin, reuse_at_enqueue
from worker.messages import publish_job
from worker.storage.urls import job_urls
from worker.traces import engine_status, video_metadata


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
    #: The user's whole video log (events with their jobs) as this call found or wrote it, when
    #: known without another query: the trace save that follows can fill the trace from it.
    whole_log: list[tuple[VideoJobEvent, VideoJob]] | None = None


def enqueue_job(spec: JobSpec, before_publish: Callable[[str], None] | None = None) -> EnqueuedJob:
    """Create (or find) the job for `spec` and make sure a worker will see it.

    `before_publish(job_id)` runs after the database work and before the message is sent.

    Raises:
        PublishError: the broker refused; the job row now says failed, and why.
        SQLAlchemyError: the database is unreachable (nothing was written).
    """
    try:
        job, publish, whole_log = _create_or_find(spec)
    except IntegrityError:  # another process created the same job a moment ago
        job, publish, whole_log = _create_or_find(spec)
    if publish:
        if before_publish is not None:
            before_publish(job.id)
        _publish(job)
    if job.status != JobStatus.COMPLETED.value:
        return EnqueuedJob(job.id, engine_status(job), None, None, whole_log)
    urls = job_urls(job)
    return EnqueuedJob(job.id, engine_status(job), urls.video_url, video_metadata(job, urls), whole_log)


def rehearse(spec: JobSpec) -> None:
    """Run a new job's insert and a log read for `spec`, then roll both back: nothing is written, and
    the first real request finds its statements compiled (for `engine_hooks.warm_up`)."""
    with session_scope() as session:
        new_jobs.insert(session, _new_row_values(spec))
        reader.user_events(spec.user_id, session)
        session.rollback()
    with autocommit_session() as session:
        reader.user_events(spec.user_id, session)


def _create_or_find(spec: JobSpec) -> tuple[VideoJob, bool, list[tuple[VideoJobEvent, VideoJob]] | None]:
    """Insert the new job in one go; else read the user's log, which holds this request's job if it exists.

    Returns the job, whether to publish it, and the user's whole log when it is known.
    A request this process has already seen skips the insert attempt (its job almost surely
    exists). Only a job to re-queue, or one that is missing after all, takes a transaction
    that reads the log again and writes.
    """
    if not _seen_here(spec.idempotency_key):
        values = _new_row_values(spec)
        earlier_jobs = new_jobs.insert_if_new(values)
        if earlier_jobs is not None:
            job = VideoJob(**values)
            return job, True, ([(recorder.queued_event(job), job)] if earlier_jobs == 0 else None)
    whole_log = reader.user_events(spec.user_id)  # one statement, no transaction around it
    found = _request_job(whole_log, spec)
    if found is not None and not _wants_requeue(found):
        return found, False, whole_log
    with session_scope() as session:
        return _requeue_or_create(session, spec)


def _requeue_or_create(
    session: Session, spec: JobSpec
) -> tuple[VideoJob, bool, list[tuple[VideoJobEvent, VideoJob]] | None]:
    """In one transaction: re-queue this request's failed job, or write the job it lacks (sharing a
    finished twin's video when there is one)."""
    whole_log = reader.user_events(spec.user_id, session)
    job = _request_job(whole_log, spec)
    if job is not None:
        if _wants_requeue(job) and recorder.requeue(session, job.id, "requested again"):
            session.refresh(job)
            return job, True, None
        return job, False, whole_log  # another caller re-queued it first
    job = VideoJob(**_new_row_values(spec))
    donor = finished_twin(session, spec.prompt_hash)
    if donor is not None:
        reuse_at_enqueue(job, donor)
    recorder.add_new_job(session, job)
    return job, donor is None, None


def _request_job(whole_log: list[tuple[VideoJobEvent, VideoJob]], spec: JobSpec) -> VideoJob | None:
    return next((job for _, job in whole_log if job.idempotency_key == spec.idempotency_key), None)


def _wants_requeue(job: VideoJob) -> bool:
    """Asked for again after it failed, or after it ended with only a poster."""
    return job.status == JobStatus.FAILED.value or job.is_degraded


def _new_row_values(spec: JobSpec) -> dict[str, Any]:
    """The columns of a new queued job for `spec`."""
    now = utcnow()
    return dict(
        id=str(uuid.uuid4()),
        idempotency_key=spec.idempotency_key,
        user_id=spec.user_id,
        persona=spec.persona,
        topic=spec.topic,
        template_id=spec.template.template_id,
        template_version=spec.template.version,
        prompt_hash=spec.prompt_hash,
        prompt=spec.prompt,
        input=spec.row_input(),
        status=JobStatus.QUEUED.value,
        attempt=0,
        retry_count=0,
        enqueue_count=1,
        created_at=now,
        queued_at=now,
        updated_at=now,
        fallback_used=False,
    )


def _seen_here(idempotency_key: str) -> bool:
    """True if this process asked for this job before; remembers the key either way (bounded)."""
    if idempotency_key in _SEEN:
        return True
    if len(_SEEN) >= _SEEN_LIMIT:
        _SEEN.clear()
    _SEEN.add(idempotency_key)
    return False


def forget_seen_requests() -> None:
    """Forget which requests this process has seen (tests, which switch databases within one process)."""
    _SEEN.clear()


#: Idempotency keys this process has enqueued (a repeat call goes straight to the lookup).
_SEEN: set[str] = set()
_SEEN_LIMIT = 100_000


def _publish(job: VideoJob) -> None:
    try:
        publish_job(job.id)
    except Exception as exc:
        failure = PublishError(f"could not publish to the broker: {type(exc).__name__}: {exc}", job.id)
        recorder.guarded(recorder.fail, job.id, failure, attempt=job.attempt, event=JobEvent.ENQUEUE_FAILED)
        job.status = JobStatus.FAILED.value
        raise failure from exc
