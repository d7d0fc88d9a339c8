"""The paid-submission ledger and a job's remote fields. Never changes a job's status; its events are
written through `worker.jobs.recorder.add_event`, in the same transaction as the ledger rows.

Exactly-once submission rests on one rule: the intent to create (a row in
`video_remote_submissions` with a unique idempotency key) is committed before
the create request leaves the worker. Whoever finds an intent with no remote id
knows the outcome is unknown and must look the job up, never create it blindly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from worker.db.models import JobEvent, JobStatus, SubmissionOutcome, VideoJob, VideoRemoteSubmission, utcnow
from worker.db.session import session_scope
from worker.jobs import reuse
from worker.jobs.recorder import add_event
from worker.providers.base import SharedVideo
from worker.remote import spending
from worker.remote.api import RemoteVideo
from worker.remote.twins import TwinInFlight, twin_in_flight
from worker.settings import Settings


@dataclass(frozen=True)
class Submission:
    id: int
    idempotency_key: str
    model: str
    intent_at: datetime


@dataclass(frozen=True)
class RemoteState:
    """What the database knows about a job's remote side."""

    remote_id: str | None
    remote_status: str | None
    poll_count: int
    poll_deadline_at: datetime | None
    submissions: int  # paid or possibly paid (created, found, or outcome unknown)
    open_submission: Submission | None  # intent recorded, outcome unknown


def remote_state(job_id: str) -> RemoteState:
    with session_scope() as session:
        job = session.get_one(VideoJob, job_id)
        count = (
            session.scalar(select(func.count()).where(VideoRemoteSubmission.job_id == job_id, spending.COUNTED)) or 0
        )
        pending = session.scalar(
            select(VideoRemoteSubmission)
            .where(VideoRemoteSubmission.job_id == job_id, VideoRemoteSubmission.confirmed_by.is_(None))
            .order_by(VideoRemoteSubmission.id.desc())
            .limit(1)
        )
        return RemoteState(
            job.remote_id,
            job.remote_status,
            job.poll_count,
            job.poll_deadline_at,
            count,
            _submission(pending) if pending is not None else None,
        )


def submitted_at(job_id: str) -> datetime | None:
    """When the create behind the job's remote id was about to be sent (read once, when the video is done)."""
    remote_id = select(VideoJob.remote_id).where(VideoJob.id == job_id).scalar_subquery()
    with session_scope() as session:
        return session.scalar(
            select(func.min(VideoRemoteSubmission.intent_at)).where(
                VideoRemoteSubmission.job_id == job_id, VideoRemoteSubmission.remote_id == remote_id
            )
        )


def record_intent(
    job_id: str, prompt_hash: str, settings: Settings, attempt: int
) -> Submission | TwinInFlight | SharedVideo:
    """Commit the intent to create the job's next submission, reserving its cost, unless a twin has
    made, or is making, this video (then nothing is written).

    One such decision runs at a time (`spending.serialize_submissions`; on SQLite, the write lock
    the intent's insert takes), so twins and spending caps hold across workers.

    Raises:
        FallbackNeeded(kind=FallbackKind.BUDGET): the cost would take the day or month over its cap.
        IntegrityError: another worker recorded this submission first.
    """
    base_url, model = settings.video_api_base_url, settings.video_model
    try:
        with session_scope() as session:
            number = (session.scalar(select(func.count()).where(VideoRemoteSubmission.job_id == job_id)) or 0) + 1
            spending.serialize_submissions(session)
            row = VideoRemoteSubmission(
                job_id=job_id,
                idempotency_key=f"{job_id}:{number}",
                base_url=base_url,
                model=model,
                intent_at=utcnow(),
                cost_usd=spending.price_usd(settings.video_seconds, settings),
            )
            session.add(row)
            session.flush()  # on SQLite this takes the write lock, held until the commit
            if (donor := reuse.finished_twin(session, prompt_hash, first_tier_only=True)) is not None:
                session.expunge(donor)  # loaded; the rollback below must not expire it
                raise _Twin(SharedVideo(donor))
            if twin := twin_in_flight(session, job_id, prompt_hash, base_url, model):
                raise _Twin(TwinInFlight(twin))
            spending.check_caps(session, settings, row.intent_at)
            session.execute(
                update(VideoJob)
                .where(VideoJob.id == job_id, VideoJob.twin_job_id.is_not(None))
                .values(twin_job_id=None, poll_count=0)
            )  # it makes its own video now
            add_event(
                session,
                job_id,
                JobEvent.SUBMITTING,
                JobStatus.RUNNING,
                attempt,
                detail={"idempotency_key": row.idempotency_key, "model": model, "cost_usd": row.cost_usd},
            )
            return _submission(row)
    except _Twin as twin:
        return twin.verdict


def record_twin_wait(job_id: str, twin_id: str, attempt: int) -> int:
    """The job waits for `twin_id` (an event when it starts waiting on this twin); its deliveries are
    checks from now on. Returns the looks before this one (the wait between looks grows with it)."""
    with session_scope() as session:
        job = session.get_one(VideoJob, job_id)
        looks = job.poll_count
        job.poll_count += 1
        if job.twin_job_id != twin_id:
            job.twin_job_id = twin_id
            add_event(
                session, job_id, JobEvent.WAITING_FOR_TWIN, JobStatus.RUNNING, attempt, detail={"twin_job_id": twin_id}
            )
        return looks


class _Twin(Exception):
    """Abandons the intent's transaction: a twin made, or is making, the video."""

    def __init__(self, verdict: TwinInFlight | SharedVideo) -> None:
        super().__init__(verdict)
        self.verdict = verdict


def confirm(
    submission: Submission, remote: RemoteVideo, *, by: SubmissionOutcome, attempt: int, settings: Settings
) -> None:
    """Record the server's job id (from the create reply, or `found` by lookup after a crash)."""
    now = utcnow()
    with session_scope() as session:
        row = session.get_one(VideoRemoteSubmission, submission.id)
        row.remote_id, row.confirmed_at, row.confirmed_by = remote.id, now, by.value
        job = session.get_one(VideoJob, row.job_id)
        seconds = _int(remote.seconds)
        job.remote_id, job.remote_status, job.remote_model = remote.id, remote.status, remote.model
        job.remote_size, job.remote_seconds = remote.size, seconds
        job.poll_deadline_at = now + timedelta(seconds=settings.video_poll_deadline_s)
        if seconds:  # what the server will bill, by its own count
            row.cost_usd = spending.price_usd(seconds, settings)
        job.estimated_cost_usd = row.cost_usd
        add_event(
            session,
            job.id,
            JobEvent.SUBMITTED,
            JobStatus.RUNNING,
            attempt,
            detail={
                "remote_id": remote.id,
                "confirmed_by": by.value,
                "model": remote.model,
                "remote_status": remote.status,
                "idempotency_key": row.idempotency_key,
            },
        )


def close_unsent(submission: Submission, how: SubmissionOutcome) -> None:
    """The create certainly started nothing (`REJECTED` with a verdict, or `UNSENT`): nothing to recover."""
    with session_scope() as session:
        row = session.get_one(VideoRemoteSubmission, submission.id)
        row.confirmed_at, row.confirmed_by = utcnow(), how.value


def restart_deadline(job_id: str, deadline_s: int) -> RemoteState:
    """A re-queued remote job gets a fresh polling deadline."""
    with session_scope() as session:
        session.get_one(VideoJob, job_id).poll_deadline_at = utcnow() + timedelta(seconds=deadline_s)
    return remote_state(job_id)


def forget(job_id: str, reason: str, attempt: int) -> None:
    """The server lost the job (404 on a known id): clear it so one new submission may be made."""
    with session_scope() as session:
        job = session.get_one(VideoJob, job_id)
        add_event(
            session,
            job_id,
            JobEvent.REMOTE_FORGOTTEN,
            JobStatus.RUNNING,
            attempt,
            detail={"remote_id": job.remote_id, "reason": reason},
        )
        job.remote_id = job.remote_status = None


def record_unconfirmed(job_id: str, *, waited_s: float, look_again_s: float, attempt: int) -> None:
    """A create whose outcome is unknown is not listed yet; the job waits for a verdict, not a retry."""
    with session_scope() as session:
        add_event(
            session,
            job_id,
            JobEvent.CREATE_UNCONFIRMED,
            JobStatus.RUNNING,
            attempt,
            detail={"waited_s": round(waited_s, 1), "look_again_s": round(look_again_s, 1)},
        )


def record_poll(job_id: str, remote: RemoteVideo, attempt: int) -> bool:
    """Count a status check; append an event only when the remote status changes (returns whether it did)."""
    with session_scope() as session:
        job = session.get_one(VideoJob, job_id)
        job.poll_count += 1
        changed = job.remote_status != remote.status
        if changed:
            add_event(
                session,
                job_id,
                JobEvent.remote(remote.status),
                JobStatus.RUNNING,
                attempt,
                detail={"remote_id": remote.id, "progress": remote.progress, "remote_status": remote.status},
            )
        job.remote_status = remote.status
        return changed


def record_breaker_opened(job_id: str, base_url: str, model: str, reason: str, attempt: int) -> None:
    """This job is the one that found the endpoint gone and opened the circuit breaker."""
    with session_scope() as session:
        add_event(
            session,
            job_id,
            JobEvent.CIRCUIT_OPENED,
            JobStatus.RUNNING,
            attempt,
            detail={"base_url": base_url, "model": model, "reason": reason},
        )


def _submission(row: VideoRemoteSubmission) -> Submission:
    return Submission(row.id, row.idempotency_key, row.model, row.intent_at)


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def record_resend(submission: Submission) -> Submission:
    """The create of unknown outcome never showed up: it is sent again under its key, from now. The
    lookup window and the settle wait run from the latest send."""
    with session_scope() as session:
        row = session.get_one(VideoRemoteSubmission, submission.id)
        row.intent_at = utcnow()
        return _submission(row)


def remote_ids_since(since: datetime) -> frozenset[str]:
    """The remote ids our submissions hold, of those intended since `since` (a lookup must not take one)."""
    with session_scope() as session:
        return frozenset(
            session.scalars(
                select(VideoRemoteSubmission.remote_id).where(
                    VideoRemoteSubmission.intent_at >= since, VideoRemoteSubmission.remote_id.is_not(None)
                )
            )
        )
