"""Who may work on a job now: claiming it, renewing the claim while working, releasing it for a poll.

A claim is a compare-and-set from `queued` (or `running` with an expired lease) to
`running` with a lease. Two deliveries of the same message cannot both win; a
duplicate learns how long the other's lease has left (`LeaseHeld`). Leases are
short and renewed by the worker's heartbeat (`worker.jobs.heartbeat`), so a dead
worker's job is free again within one lease.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from worker.db.models import JobEvent, JobStatus, VideoJob, utcnow
from worker.db.session import session_scope
from worker.errors import AttemptsExhausted
from worker.jobs import recorder

log = logging.getLogger(__name__)

#: Attempts (not polls) a job may start; more means its workers keep dying mid-job.
MAX_ATTEMPTS = 8
#: A job the server renders, or whose twin does: its deliveries only check on it (until it falls back).
BETWEEN_CHECKS = and_(
    VideoJob.fallback_tier.is_(None), or_(VideoJob.remote_id.is_not(None), VideoJob.twin_job_id.is_not(None))
)
#: A poll message may claim its job this long before the poll is due (timers are not exact).
POLL_LEASE_MARGIN_S = 1.0


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
    polling = BETWEEN_CHECKS
    with session_scope() as session:
        claimable = or_(
            VideoJob.status == JobStatus.QUEUED.value,
            and_(VideoJob.status == JobStatus.RUNNING.value, VideoJob.lease_expires_at < now),
        )
        changed = cast(
            CursorResult,
            session.execute(
                update(VideoJob)
                .where(VideoJob.id == job_id, claimable)
                .values(
                    status=JobStatus.RUNNING.value,
                    attempt=case((polling, VideoJob.attempt), else_=VideoJob.attempt + 1),
                    retry_count=retries,
                    started_at=now,
                    lease_expires_at=case(
                        (polling, now + timedelta(seconds=poll_lease_s or lease_s)),
                        else_=now + timedelta(seconds=lease_s),
                    ),
                    updated_at=now,
                )
            ),
        ).rowcount
        if changed != 1:
            return _unclaimed(session, job_id)
        job = session.get_one(VideoJob, job_id)
        if job.attempt > MAX_ATTEMPTS:
            _give_up(session, job)
            return None
        if job.wait_seconds is None:
            job.wait_seconds = round((now - job.created_at).total_seconds(), 3)
        is_poll = job.fallback_tier is None and (job.remote_id is not None or job.twin_job_id is not None)
        if not is_poll:
            recorder.add_event(session, job_id, JobEvent.STARTED, JobStatus.RUNNING, job.attempt)
        return ClaimedJob(
            id=job.id,
            user_id=job.user_id,
            topic=job.topic,
            persona=job.persona,
            template_id=job.template_id,
            template_version=job.template_version,
            prompt=job.prompt,
            prompt_hash=job.prompt_hash,
            input=dict(job.input),
            attempt=job.attempt,
            fallback_tier=job.fallback_tier,
            is_poll=is_poll,
        )


def _give_up(session: Session, job: VideoJob) -> None:
    """A job whose attempts keep dying with their worker (killed, out of memory) must still end."""
    error = AttemptsExhausted(
        f"gave up after {MAX_ATTEMPTS} attempts: each ended without recording a result, "
        "most likely because its worker process died"
    )
    recorder.fail_loaded(session, job, error)
    log.error("job %s failed: %s", job.id, error)


def renew_lease(job_id: str, attempt: int, lease_s: float) -> bool:
    """Extend the running job's lease by `lease_s` from now, if it is still this attempt's."""
    with session_scope() as session:
        return (
            cast(
                CursorResult,
                session.execute(
                    update(VideoJob)
                    .where(
                        VideoJob.id == job_id,
                        VideoJob.status == JobStatus.RUNNING.value,
                        VideoJob.attempt == attempt,
                        VideoJob.lease_expires_at.is_not(None),
                    )
                    .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
                ),
            ).rowcount
            == 1
        )


def release_for_poll(job_id: str, poll_after_s: float) -> None:
    """Let go of a job the remote server is rendering; the poll message due in `poll_after_s` claims it."""
    with session_scope() as session:
        session.execute(
            update(VideoJob)
            .where(VideoJob.id == job_id, VideoJob.status == JobStatus.RUNNING.value)
            .values(
                lease_expires_at=utcnow() + timedelta(seconds=max(poll_after_s - POLL_LEASE_MARGIN_S, 0)),
                updated_at=utcnow(),
            )
        )


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
