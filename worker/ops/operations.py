"""Operator actions on jobs: list, retry failed ones, re-send stuck ones (the reconciler's code path)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from worker.db.models import POSTER_TIER, JobStatus, VideoJob
from worker.db.session import session_scope
from worker.jobs import recorder
from worker.messages import job_ids_with_messages, publish_job
from worker.ops.reconcile import ReconcileReport, count_quiet_younger_than, reconcile
from worker.settings import Settings

#: Rows `list` prints unless told otherwise.
DEFAULT_LIST_LIMIT = 50


def list_jobs(user_id: str | None = None, state: str | None = None, limit: int = DEFAULT_LIST_LIMIT) -> list[VideoJob]:
    query = select(VideoJob).order_by(VideoJob.created_at.desc()).limit(limit)
    if user_id:
        query = query.where(VideoJob.user_id == user_id)
    if state:
        query = query.where(VideoJob.status == JobStatus(state).value)
    with session_scope() as session:
        return list(session.scalars(query))


@dataclass(frozen=True)
class RetryOutcome:
    job_id: str
    requeued: bool
    reason: str = ""  # why it was not re-queued


def retry_jobs(job_ids: list[str] | None = None, *, all_failed: bool = False) -> list[RetryOutcome]:
    """Re-queue failed or degraded jobs (by id, or every failed one) and publish them.

    One outcome per id, in order; one that was not re-queued says why (malformed, unknown, not failed).
    """
    with session_scope() as session:
        if all_failed:
            job_ids = list(session.scalars(select(VideoJob.id).where(VideoJob.status == JobStatus.FAILED.value)))
        outcomes = [_retry_one(session, job_id) for job_id in job_ids or []]
    for outcome in outcomes:
        if outcome.requeued:
            publish_job(outcome.job_id)
    return outcomes


def _retry_one(session, job_id: str) -> RetryOutcome:
    try:
        uuid.UUID(job_id)
    except ValueError:
        return RetryOutcome(job_id, False, "not a job id (job ids are UUIDs, as `list` and Flower show them)")
    job = session.get(VideoJob, job_id)
    if job is None:
        return RetryOutcome(job_id, False, "no such job in this database")
    if recorder.requeue(session, job_id, "operator retry"):
        return RetryOutcome(job_id, True)
    if job.status == JobStatus.COMPLETED.value and job.fallback_tier != POSTER_TIER:
        return RetryOutcome(job_id, False, "completed with its video; only failed or degraded jobs are re-queued")
    return RetryOutcome(job_id, False, f"{job.status}; only failed or degraded jobs are re-queued")


@dataclass(frozen=True)
class StuckReport:
    reconciled: ReconcileReport
    quiet_for_s: float
    younger: int  # quiet jobs left alone because they have been quiet for less than quiet_for_s

    def summary(self) -> str:
        line = self.reconciled.summary()
        if self.younger:
            line += (
                f"; left {self.younger} quiet job(s) younger than {self.quiet_for_s:g} s "
                "(VIDEO_STUCK_AFTER_S) alone: --now re-sends them too"
            )
        return line


def requeue_stuck(settings: Settings, *, now: bool = False) -> StuckReport:
    """What beat's reconciler does, on demand; `now` re-sends every quiet job whatever its age."""
    quiet_for_s = 0.0 if now else settings.stuck_after_s

    def held() -> frozenset[str] | None:
        return job_ids_with_messages(settings.stuck_after_s)

    younger = 0 if now else count_quiet_younger_than(quiet_for_s, _held_or_none(held))
    return StuckReport(reconcile(settings, publish_job, held, quiet_for_s=quiet_for_s), quiet_for_s, younger)


def _held_or_none(held) -> frozenset[str] | None:
    try:
        return held()
    except Exception:  # the pass itself says the broker could not be read
        return None


def format_job(job: VideoJob) -> str:
    when = job.created_at.strftime("%Y-%m-%d %H:%M:%S")
    extra = job.video_url or (f"{job.error_type}: {(job.error_message or '')[:80]}" if job.error_type else "")
    return f"{job.id}  {job.status:<9}  {when}  attempt={job.attempt}  {job.provider or '-':<7}  {extra}"
