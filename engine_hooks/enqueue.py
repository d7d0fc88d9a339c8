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

import typing
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Insert, Table, bindparam, cast, exists, func, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine_hooks.inputs import JobSpec
from worker.db.models import JobEvent, JobStatus, VideoJob, VideoJobEvent, utcnow
from worker.db.session import autocommit_session, get_engine, session_scope
from worker.jobs import reader, recorder
from worker.jobs.reuse import REUSABLE, finished_twin, reuse_at_enqueue
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
        _insert(session, _new_row_values(spec))
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
        earlier_jobs = _insert_if_new(values)
        if earlier_jobs is not None:
            job = VideoJob(**values)
            queued = VideoJobEvent(job_id=job.id, created_at=job.created_at, **recorder.QUEUED_EVENT)
            return job, True, ([(queued, job)] if earlier_jobs == 0 else None)
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


def _insert_if_new(values: dict[str, Any]) -> int | None:
    """Write the job and its `queued` event unless this request's job or a finished twin exists.

    On PostgreSQL that is one statement, sent on its own (one round trip, no BEGIN or COMMIT);
    SQLite takes a short transaction. Returns None when nothing was written, else how many other
    jobs the user has.
    """
    if get_engine().dialect.name == "postgresql":
        with autocommit_session() as session:
            return _insert(session, values)
    with session_scope() as session:
        return _insert(session, values)


def _insert(session: Session, values: dict[str, Any]) -> int | None:
    dialect = session.get_bind().dialect.name
    statement, with_event = _insert_statement(dialect, tuple(values))
    row = session.execute(statement, values).first()
    if row is None:
        return None
    if with_event:
        return row.earlier_jobs
    session.execute(
        insert(typing.cast(Table, VideoJobEvent.__table__)),
        {**recorder.QUEUED_EVENT, "job_id": values["id"], "created_at": values["created_at"]},
    )
    earlier_jobs = session.scalar(select(func.count()).where(VideoJob.user_id == values["user_id"]))
    assert earlier_jobs is not None  # count() always answers one row
    return earlier_jobs - 1


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


@lru_cache(maxsize=4)
def _insert_statement(dialect: str, columns: tuple[str, ...]) -> tuple[Insert, bool]:
    """`INSERT … SELECT … WHERE NOT EXISTS (twin) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`.

    The same request already queued, or an identical video already made, inserts nothing (and
    the caller takes the slower path). On PostgreSQL a writable CTE adds the `queued` event in
    the same statement and counts the user's earlier jobs (the second value returned is True);
    SQLite has none, so the caller does both in the same transaction. Built once per process:
    only the parameters change.
    """
    # Declared as FromClause by DeclarativeBase; a declarative class's __table__ is always a Table.
    jobs, events = typing.cast(Table, VideoJob.__table__), typing.cast(Table, VideoJobEvent.__table__)
    on_postgresql = dialect == "postgresql"

    def param(column):  # PostgreSQL infers no type for a bare parameter in a SELECT list
        bound = bindparam(column.name, type_=column.type)
        return cast(bound, column.type) if on_postgresql else bound

    no_twin = ~exists().where(jobs.c.prompt_hash == bindparam("prompt_hash"), REUSABLE)
    new_job = (
        (postgresql.insert if on_postgresql else sqlite.insert)(jobs)
        .from_select(list(columns), select(*(param(jobs.c[name]) for name in columns)).where(no_twin))
        .on_conflict_do_nothing(index_elements=[jobs.c.idempotency_key])
        .returning(jobs.c.id)
    )
    if not on_postgresql:
        return new_job, False
    inserted = new_job.cte("new_job")
    # Sees the table as it was before this statement, so the new job is not counted.
    earlier_jobs = select(func.count()).where(jobs.c.user_id == bindparam("user_id")).scalar_subquery()
    event_values = [literal(value, events.c[name].type) for name, value in recorder.QUEUED_EVENT.items()]
    with_event = (
        insert(events)
        .from_select(
            ["job_id", *recorder.QUEUED_EVENT, "created_at"],
            select(inserted.c.id, *event_values, cast(bindparam("created_at"), events.c.created_at.type)),
        )
        .returning(events.c.job_id, earlier_jobs.label("earlier_jobs"))
        .add_cte(inserted)
    )
    return with_event, True


def _publish(job: VideoJob) -> None:
    try:
        publish_job(job.id)
    except Exception as exc:
        failure = PublishError(f"could not publish to the broker: {type(exc).__name__}: {exc}", job.id)
        recorder.guarded(recorder.fail, job.id, failure, attempt=job.attempt, event=JobEvent.ENQUEUE_FAILED)
        job.status = JobStatus.FAILED.value
        raise failure from exc
