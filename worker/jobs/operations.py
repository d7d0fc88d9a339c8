"""Operator actions on jobs: list, retry failed ones, re-send stuck ones (the reconciler's code path)."""

from __future__ import annotations

from sqlalchemy import select

from worker.db.models import JobStatus, VideoJob
from worker.db.session import session_scope
from worker.jobs import recorder
from worker.jobs.reconcile import ReconcileReport, reconcile
from worker.messages import job_ids_with_messages, publish_job
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


def retry_jobs(job_ids: list[str] | None = None, *, all_failed: bool = False) -> list[str]:
    """Re-queue failed or degraded jobs (by id, or every failed one) and publish them; returns those re-queued."""
    with session_scope() as session:
        if all_failed:
            job_ids = list(session.scalars(select(VideoJob.id).where(VideoJob.status == JobStatus.FAILED.value)))
        requeued = [job_id for job_id in job_ids or [] if recorder.requeue(session, job_id, "operator retry")]
    for job_id in requeued:
        publish_job(job_id)
    return requeued


def requeue_stuck(settings: Settings) -> ReconcileReport:
    """What beat's reconciler does, on demand."""
    return reconcile(settings, publish_job, lambda: job_ids_with_messages(settings.stuck_after_s))


def format_job(job: VideoJob) -> str:
    when = job.created_at.strftime("%Y-%m-%d %H:%M:%S")
    extra = job.video_url or (f"{job.error_type}: {(job.error_message or '')[:80]}" if job.error_type else "")
    return f"{job.id}  {job.status:<9}  {when}  attempt={job.attempt}  {job.provider or '-':<7}  {extra}"
