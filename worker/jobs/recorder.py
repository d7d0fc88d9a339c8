"""Every write of a job's state and log: new jobs, retries, waits, fallbacks, completion, failure,
re-queueing, and the events other layers record (remote submissions, lost messages).

Only this module writes `video_jobs.status` or appends to `video_job_events`, with one exception
kept for the engine's latency: a request never seen before is a single `INSERT`
(`worker.jobs.new_jobs`) that writes the new row with this module's `QUEUED_EVENT`. Claiming a job,
and keeping or releasing that claim, is `worker.jobs.leases`, which records through the functions
here. The functions that take a `session` write inside the caller's transaction (a new job, the
paid-submission ledger, the reconciler); the others open their own.

Each status change is a compare-and-set (`UPDATE ... WHERE status IN (...)`), so two
workers that receive the same message cannot both run the job, and a late
writer cannot move a finished job backwards. Each successful change appends one
`video_job_events` row: the audit log the trace is built from. See
`worker.db.models` for the allowed transitions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from worker.db.models import LIVE_STATUSES, POSTER_TIER, JobEvent, JobStatus, VideoJob, VideoJobEvent, utcnow
from worker.db.session import session_scope
from worker.jobs.outcome import Outcome

log = logging.getLogger(__name__)

#: Longest error message kept; enough to debug, short enough for a trace.
MAX_ERROR_CHARS = 2000
#: The columns of the event every new job starts with (the engine's insert writes it in the same statement).
QUEUED_EVENT = {"event": JobEvent.QUEUED.value, "status": JobStatus.QUEUED.value, "attempt": 0}


def add_new_job(session: Session, job: VideoJob) -> None:
    """A new job row with its first event: `queued`, or `reused` when it was born completed with a twin's video."""
    if job.status == JobStatus.COMPLETED.value:
        event = _make_event(
            job.id, JobEvent.REUSED, JobStatus.COMPLETED, 0, detail={"reused_from_job_id": job.reused_from_job_id}
        )
    else:
        event = queued_event(job)
    session.add_all([job, event])


def queued_event(job: VideoJob) -> VideoJobEvent:
    """The `queued` event a new job is written with (`worker.jobs.new_jobs` writes the same values)."""
    return VideoJobEvent(job_id=job.id, created_at=job.created_at, **QUEUED_EVENT)


def add_event(
    session: Session,
    job_id: str,
    event: JobEvent,
    status: JobStatus,
    attempt: int,
    *,
    error: BaseException | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one event that changes no status (a remote submission's progress, a claim), in the caller's
    transaction, next to the columns it changes."""
    session.add(_make_event(job_id, event, status, attempt, error=error, detail=detail))


def fail_loaded(session: Session, job: VideoJob, error: BaseException, *, detail: dict[str, Any] | None = None) -> None:
    """queued|running → failed for a row the caller has locked in its transaction (the reconciler's lost
    messages, a claim whose attempts are used up)."""
    now = utcnow()
    job.status, job.finished_at, job.lease_expires_at, job.updated_at = JobStatus.FAILED.value, now, None, now
    job.error_type, job.error_message = _error_fields(error).values()
    session.add(_make_event(job.id, JobEvent.FAILED, JobStatus.FAILED, job.attempt, error=error, detail=detail))


def record_reenqueued(session: Session, job: VideoJob, quiet_s: float) -> None:
    """The reconciler sends a lost message again; the status stays, the count goes up."""
    job.enqueue_count += 1
    job.updated_at = utcnow()
    session.add(
        _make_event(
            job.id,
            JobEvent.REENQUEUED,
            JobStatus(job.status),
            job.attempt,
            detail={"was": job.status, "quiet_s": round(quiet_s)},
        )
    )


def record_fallback(job_id: str, *, tier: str, reason: str, kind: str, attempt: int) -> None:
    """The job moves down the chain (remote → local → poster → none); the reason is kept."""
    with session_scope() as session:
        session.execute(
            update(VideoJob)
            .where(VideoJob.id == job_id)
            .values(
                fallback_used=True,
                fallback_tier=tier,
                fallback_reason=reason[:MAX_ERROR_CHARS],
                twin_job_id=None,
                updated_at=utcnow(),
            )
        )
        session.add(
            _make_event(
                job_id,
                JobEvent.FALLBACK,
                JobStatus.RUNNING,
                attempt,
                detail={"tier": tier, "kind": kind, "reason": reason[:MAX_ERROR_CHARS]},
            )
        )


def record_retry(job_id: str, error: BaseException, *, attempt: int, countdown_s: float | None = None) -> bool:
    """running → queued: a transient error; Celery will deliver the job again (after `countdown_s`, when known)."""
    with session_scope() as session:
        return _transition(
            session,
            job_id,
            (JobStatus.RUNNING.value,),
            JobStatus.QUEUED,
            JobEvent.RETRYING,
            attempt,
            {"queued_at": utcnow(), "lease_expires_at": None, **_error_fields(error)},
            error=error,
            detail={"countdown_s": countdown_s} if countdown_s is not None else None,
        )


def record_worker_lost(job_id: str, error: BaseException) -> bool:
    """running → queued: the attempt's pool process died; its claim is released at once."""
    with session_scope() as session:
        attempt = session.scalar(select(VideoJob.attempt).where(VideoJob.id == job_id)) or 0
        return _transition(
            session,
            job_id,
            (JobStatus.RUNNING.value,),
            JobStatus.QUEUED,
            JobEvent.WORKER_LOST,
            attempt,
            {"queued_at": utcnow(), "lease_expires_at": None, **_error_fields(error)},
            error=error,
        )


def record_storage_wait(job_id: str, error: BaseException, *, attempt: int) -> int:
    """running → queued: the video was made but storage could not keep it; the job waits for storage.

    The delivery does not count as an attempt (the next claim gives it the same number again),
    so a storage outage never uses up a job's attempts. Returns how many times this job has
    waited for storage, or 0 if it was no longer running.
    """
    with session_scope() as session:
        if not _transition(
            session,
            job_id,
            (JobStatus.RUNNING.value,),
            JobStatus.QUEUED,
            JobEvent.STORAGE_UNAVAILABLE,
            attempt,
            {"queued_at": utcnow(), "lease_expires_at": None, "attempt": VideoJob.attempt - 1, **_error_fields(error)},
            error=error,
        ):
            return 0
        return (
            session.scalar(
                select(func.count()).where(
                    VideoJobEvent.job_id == job_id, VideoJobEvent.event == JobEvent.STORAGE_UNAVAILABLE.value
                )
            )
            or 0
        )


def complete(job_id: str, outcome: Outcome, *, attempt: int) -> bool:
    """running → completed, with everything known about the video."""
    values = {key: getattr(outcome, key) for key in Outcome.__dataclass_fields__}
    values.update(finished_at=utcnow(), lease_expires_at=None, error_type=None, error_message=None)
    detail = {"generation_time_seconds": outcome.generation_time_seconds, "provider": outcome.provider}
    if outcome.reused_from_job_id:
        values["estimated_cost_usd"] = 0.0
        detail["reused_from_job_id"] = outcome.reused_from_job_id
    with session_scope() as session:
        return _transition(
            session,
            job_id,
            (JobStatus.RUNNING.value,),
            JobStatus.COMPLETED,
            JobEvent.COMPLETED,
            attempt,
            values,
            detail=detail,
        )


def fail(job_id: str, error: BaseException, *, attempt: int, event: JobEvent = JobEvent.FAILED) -> bool:
    """queued|running → failed, keeping the error's type and message."""
    with session_scope() as session:
        return _transition(
            session,
            job_id,
            LIVE_STATUSES,
            JobStatus.FAILED,
            event,
            attempt,
            {"finished_at": utcnow(), "lease_expires_at": None, **_error_fields(error)},
            error=error,
        )


def requeue(session: Session, job_id: str, reason: str) -> bool:
    """failed, or completed with only a poster → queued, inside the caller's transaction (the
    engine or an operator asked again).

    The fallback chain starts over; a remote job already submitted is resumed, never paid again.
    Returns False when another caller re-queued it first.
    """
    return _transition(
        session,
        job_id,
        (JobStatus.FAILED.value, JobStatus.COMPLETED.value),
        JobStatus.QUEUED,
        JobEvent.REQUEUED,
        0,
        {
            "queued_at": utcnow(),
            "finished_at": None,
            "attempt": 0,
            "enqueue_count": 1,
            "fallback_used": False,
            "fallback_tier": None,
            "fallback_reason": None,
            "poll_deadline_at": None,
            "twin_job_id": None,
        },
        detail={"reason": reason},
        only_if=or_(VideoJob.status == JobStatus.FAILED.value, VideoJob.fallback_tier == POSTER_TIER),
    )


def guarded(write, *args: Any, **kwargs: Any) -> bool:
    """Run a recorder write, logging instead of raising: recording must not break a task."""
    try:
        return bool(write(*args, **kwargs))
    except Exception:
        log.exception("could not record job state change %s", getattr(write, "__name__", write))
        return False


def _transition(
    session: Session,
    job_id: str,
    from_states: Iterable[str],
    to: JobStatus,
    event: JobEvent,
    attempt: int,
    values: dict[str, Any],
    *,
    error: BaseException | None = None,
    detail: dict[str, Any] | None = None,
    only_if: Any = None,
) -> bool:
    conditions = [VideoJob.id == job_id, VideoJob.status.in_(tuple(from_states))]
    if only_if is not None:
        conditions.append(only_if)
    statement = update(VideoJob).where(*conditions).values(status=to.value, updated_at=utcnow(), **values)
    changed = cast(CursorResult, session.execute(statement)).rowcount
    if changed != 1:
        log.info("job %s: %s skipped, job is no longer in %s", job_id, event, "/".join(from_states))
        return False
    session.add(_make_event(job_id, event, to, attempt, error=error, detail=detail))
    return True


def _make_event(
    job_id: str,
    event: JobEvent,
    status: JobStatus,
    attempt: int,
    *,
    error: BaseException | None = None,
    detail: dict[str, Any] | None = None,
) -> VideoJobEvent:
    fields = _error_fields(error) if error is not None else {}
    row = {"event": event.value, "status": status.value, "attempt": attempt, "detail": detail}
    return VideoJobEvent(job_id=job_id, created_at=utcnow(), **row, **fields)


def _error_fields(error: BaseException) -> dict[str, str]:
    return {"error_type": type(error).__name__, "error_message": (str(error) or repr(error))[:MAX_ERROR_CHARS]}
