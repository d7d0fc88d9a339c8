"""Every status change of a job after it is first queued happens here, and only here.

Each change is a compare-and-set (`UPDATE ... WHERE status IN (...)`), so two
workers that receive the same message cannot both run the job, and a late
writer cannot move a finished job backwards. Each successful change appends one
`video_job_events` row: the audit log the trace is built from. See
`worker.db.models` for the allowed transitions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from worker.db.models import POSTER_TIER, JobStatus, VideoJob, VideoJobEvent, utcnow
from worker.db.session import session_scope
from worker.errors import AttemptsExhausted

log = logging.getLogger(__name__)

#: Longest error message kept; enough to debug, short enough for a trace.
MAX_ERROR_CHARS = 2000
#: Attempts (not polls) a job may start; more means its workers keep dying mid-job.
MAX_ATTEMPTS = 8
#: A poll message may claim its job this long before the poll is due (timers are not exact).
POLL_LEASE_MARGIN_S = 1.0
_LIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
#: The event of a job that made its video but could not store it (see `record_storage_wait`).
STORAGE_WAIT_EVENT = "storage_unavailable"


@dataclass(frozen=True)
class ClaimedJob:
    """What a worker needs to run one attempt, detached from the session."""

    id: str
    user_id: str
    topic: str
    persona: str
    template_id: str
    template_version: str
    prompt: str
    prompt_hash: str
    input: dict[str, Any]
    attempt: int
    #: Set once the job has left its first tier (remote → local → poster → none).
    fallback_tier: str | None = None
    #: True when this delivery only checks on a job the remote server is rendering.
    is_poll: bool = False


@dataclass(frozen=True)
class Outcome:
    """A finished job's facts. Only a poster (no video) when the poster tier produced it."""

    provider: str
    renderer_version: str
    video_url: str | None
    poster_url: str | None
    video_sha256: str | None
    file_size_bytes: int | None
    duration_seconds: float | None
    width: int | None
    height: int | None
    fps: float | None
    codec: str | None
    generation_time_seconds: float
    captions_url: str | None = None
    description: str | None = None
    video_key: str | None = None
    poster_key: str | None = None
    captions_key: str | None = None


@dataclass(frozen=True)
class LeaseHeld:
    """Another worker is running the job; its lease ends in `seconds_left`."""

    seconds_left: float


def claim(job_id: str, *, retries: int, lease_s: int, poll_lease_s: int | None = None) -> ClaimedJob | LeaseHeld | None:
    """Move a queued job (or one whose worker died) to running.

    Returns:
        The claimed job; `LeaseHeld` when another worker holds a live lease (a
        duplicate delivery, which should look again when the lease ends); or
        None when there is nothing to do (unknown id, already finished).

    A delivery that only checks on a remote job holds the shorter `poll_lease_s`, so a worker
    dying mid-check delays the job by that much, not by a whole task time limit.
    """
    now = utcnow()
    polling = VideoJob.remote_id.is_not(None)  # the server renders; this delivery only checks on it
    with session_scope() as session:
        claimable = or_(
            VideoJob.status == JobStatus.QUEUED.value,
            and_(VideoJob.status == JobStatus.RUNNING.value, VideoJob.lease_expires_at < now),
        )
        changed = session.execute(
            update(VideoJob)
            .where(VideoJob.id == job_id, claimable)
            .values(
                status=JobStatus.RUNNING.value,
                attempt=case((polling, VideoJob.attempt), else_=VideoJob.attempt + 1),
                retry_count=retries,
                started_at=now,
                lease_expires_at=case((polling, now + timedelta(seconds=poll_lease_s or lease_s)),
                                      else_=now + timedelta(seconds=lease_s)),
                updated_at=now,
            )
        ).rowcount
        if changed != 1:
            return _unclaimed(session, job_id)
        job = session.get_one(VideoJob, job_id)
        if job.attempt > MAX_ATTEMPTS:
            _give_up(session, job)
            return None
        if job.wait_seconds is None:
            job.wait_seconds = round((now - job.created_at).total_seconds(), 3)
        is_poll = job.remote_id is not None
        if not is_poll:
            session.add(make_event(job_id, "started", JobStatus.RUNNING, job.attempt))
        return ClaimedJob(
            id=job.id, user_id=job.user_id, topic=job.topic, persona=job.persona, template_id=job.template_id,
            template_version=job.template_version, prompt=job.prompt, prompt_hash=job.prompt_hash,
            input=dict(job.input), attempt=job.attempt, fallback_tier=job.fallback_tier, is_poll=is_poll,
        )


def _give_up(session: Session, job: VideoJob) -> None:
    """A job whose attempts keep dying with their worker (killed, out of memory) must still end."""
    error = AttemptsExhausted(f"gave up after {MAX_ATTEMPTS} attempts: each ended without recording a result, "
                              "most likely because its worker process died")
    job.status, job.finished_at, job.lease_expires_at = JobStatus.FAILED.value, utcnow(), None
    job.error_type, job.error_message = type(error).__name__, str(error)
    session.add(make_event(job.id, "failed", JobStatus.FAILED, job.attempt, error=error))
    log.error("job %s failed: %s", job.id, error)


def renew_lease(job_id: str, attempt: int, lease_s: float) -> bool:
    """Extend the running job's lease by `lease_s` from now, if it is still this attempt's."""
    with session_scope() as session:
        return session.execute(
            update(VideoJob)
            .where(VideoJob.id == job_id, VideoJob.status == JobStatus.RUNNING.value, VideoJob.attempt == attempt,
                   VideoJob.lease_expires_at.is_not(None))
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
        ).rowcount == 1


def release_for_poll(job_id: str, poll_after_s: float) -> None:
    """Let go of a job the remote server is rendering; the poll message due in `poll_after_s` claims it."""
    with session_scope() as session:
        session.execute(
            update(VideoJob)
            .where(VideoJob.id == job_id, VideoJob.status == JobStatus.RUNNING.value)
            .values(lease_expires_at=utcnow() + timedelta(seconds=max(poll_after_s - POLL_LEASE_MARGIN_S, 0)),
                    updated_at=utcnow())
        )


def record_fallback(job_id: str, *, tier: str, reason: str, kind: str, attempt: int) -> None:
    """The job moves down the chain (remote → local → poster → none); the reason is kept."""
    with session_scope() as session:
        session.execute(
            update(VideoJob).where(VideoJob.id == job_id)
            .values(fallback_used=True, fallback_tier=tier, fallback_reason=reason[:MAX_ERROR_CHARS],
                    updated_at=utcnow())
        )
        session.add(make_event(job_id, "fallback", JobStatus.RUNNING, attempt,
                               detail={"tier": tier, "kind": kind, "reason": reason[:MAX_ERROR_CHARS]}))


def record_retry(job_id: str, error: BaseException, *, attempt: int, countdown_s: float | None = None) -> bool:
    """running → queued: a transient error; Celery will deliver the job again (after `countdown_s`, when known)."""
    with session_scope() as session:
        return _transition(
            session, job_id, (JobStatus.RUNNING.value,), JobStatus.QUEUED, "retrying", attempt,
            {"queued_at": utcnow(), "lease_expires_at": None, **_error_fields(error)},
            error=error, detail={"countdown_s": countdown_s} if countdown_s is not None else None,
        )


def record_worker_lost(job_id: str, error: BaseException) -> bool:
    """running → queued: the attempt's pool process died; its claim is released at once."""
    with session_scope() as session:
        attempt = session.scalar(select(VideoJob.attempt).where(VideoJob.id == job_id)) or 0
        return _transition(
            session, job_id, (JobStatus.RUNNING.value,), JobStatus.QUEUED, "worker_lost", attempt,
            {"queued_at": utcnow(), "lease_expires_at": None, **_error_fields(error)}, error=error,
        )


def record_storage_wait(job_id: str, error: BaseException, *, attempt: int) -> int:
    """running → queued: the video was made but storage could not keep it; the job waits for storage.

    The delivery does not count as an attempt (the next claim gives it the same number again),
    so a storage outage never uses up a job's attempts. Returns how many times this job has
    waited for storage, or 0 if it was no longer running.
    """
    with session_scope() as session:
        if not _transition(
            session, job_id, (JobStatus.RUNNING.value,), JobStatus.QUEUED, STORAGE_WAIT_EVENT, attempt,
            {"queued_at": utcnow(), "lease_expires_at": None, "attempt": VideoJob.attempt - 1, **_error_fields(error)},
            error=error,
        ):
            return 0
        return session.scalar(select(func.count()).where(
            VideoJobEvent.job_id == job_id, VideoJobEvent.event == STORAGE_WAIT_EVENT)) or 0


def complete(job_id: str, outcome: Outcome, *, attempt: int) -> bool:
    """running → completed, with everything known about the video."""
    values = {key: getattr(outcome, key) for key in Outcome.__dataclass_fields__}
    values.update(finished_at=utcnow(), lease_expires_at=None, error_type=None, error_message=None)
    with session_scope() as session:
        return _transition(
            session, job_id, (JobStatus.RUNNING.value,), JobStatus.COMPLETED, "completed", attempt, values,
            detail={"generation_time_seconds": outcome.generation_time_seconds, "provider": outcome.provider},
        )


def fail(job_id: str, error: BaseException, *, attempt: int, event: str = "failed") -> bool:
    """queued|running → failed, keeping the error's type and message."""
    with session_scope() as session:
        return _transition(
            session, job_id, _LIVE, JobStatus.FAILED, event, attempt,
            {"finished_at": utcnow(), "lease_expires_at": None, **_error_fields(error)}, error=error,
        )


def requeue(session: Session, job_id: str, reason: str) -> bool:
    """failed, or completed with only a poster → queued, inside the caller's transaction (the
    engine or an operator asked again).

    The fallback chain starts over; a remote job already submitted is resumed, never paid again.
    Returns False when another caller re-queued it first.
    """
    return _transition(
        session, job_id, (JobStatus.FAILED.value, JobStatus.COMPLETED.value), JobStatus.QUEUED, "requeued", 0,
        {"queued_at": utcnow(), "finished_at": None, "attempt": 0, "enqueue_count": 1,
         "fallback_used": False, "fallback_tier": None, "fallback_reason": None, "poll_deadline_at": None},
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
    event: str,
    attempt: int,
    values: dict[str, Any],
    *,
    error: BaseException | None = None,
    detail: dict[str, Any] | None = None,
    only_if: Any = None,
) -> bool:
    changed = session.execute(
        update(VideoJob)
        .where(VideoJob.id == job_id, VideoJob.status.in_(tuple(from_states)),
               *([only_if] if only_if is not None else []))
        .values(status=to.value, updated_at=utcnow(), **values)
    ).rowcount
    if changed != 1:
        log.info("job %s: %s skipped, job is no longer in %s", job_id, event, "/".join(from_states))
        return False
    session.add(make_event(job_id, event, to, attempt, error=error, detail=detail))
    return True


def make_event(job_id: str, event: str, status: JobStatus, attempt: int, *, error: BaseException | None = None,
           detail: dict[str, Any] | None = None) -> VideoJobEvent:
    fields = _error_fields(error) if error is not None else {}
    return VideoJobEvent(job_id=job_id, event=event, status=status.value, attempt=attempt, detail=detail,
                         created_at=utcnow(), **fields)


def _error_fields(error: BaseException) -> dict[str, str]:
    return {"error_type": type(error).__name__, "error_message": (str(error) or repr(error))[:MAX_ERROR_CHARS]}


def _unclaimed(session: Session, job_id: str) -> LeaseHeld | None:
    """Why the claim matched no row. The lease is measured from now, not from when the claim began:
    a concurrent claimer may have started later and won, so its lease can end more than `lease_s`
    after this claim's start."""
    row = session.execute(select(VideoJob.status, VideoJob.lease_expires_at).where(VideoJob.id == job_id)).first()
    if row is None:
        log.warning("job %s: no such job, message dropped", job_id)
        return None
    status, lease_expires_at = row
    if status == JobStatus.RUNNING.value and lease_expires_at is not None:
        return LeaseHeld(max((lease_expires_at - utcnow()).total_seconds(), 0.0))
    log.info("job %s: duplicate delivery ignored (status %s)", job_id, status)
    return None
