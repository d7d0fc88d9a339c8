"""Identical content in flight is generated once: a job whose twin is being made remotely waits for it.

A twin in flight is another live job with the same prompt hash (`worker.jobs.reuse`) whose
submission to the same endpoint and model was, or may have been, paid for: the job that will make
the video. The check runs inside the serialized submission transaction (`ledger.record_intent`),
so of twins that reach it together exactly one submits. The others wait, each delivery a poll and
not a retry, and then complete with the video the twin made. A twin that fails, or leaves the
remote tier, is no longer in flight: the next waiting job to look takes over, under the same
at-most-once rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from worker.db.models import LIVE_STATUSES, VideoJob, VideoRemoteSubmission


@dataclass(frozen=True)
class TwinInFlight:
    """The job making this job's video; ask again later."""

    job_id: str


def twin_in_flight(session: Session, job_id: str, prompt_hash: str, base_url: str, model: str) -> str | None:
    """The id of the live twin whose paid submission will make this video, if there is one.

    Only a maker counts: a twin with a server job (`remote_id`) or a create of unknown outcome, not
    one that is itself waiting (two waiters must never wait on each other)."""
    return session.scalar(
        select(VideoJob.id)
        .join(VideoRemoteSubmission, VideoRemoteSubmission.job_id == VideoJob.id)
        .where(
            VideoJob.prompt_hash == prompt_hash,
            VideoJob.id != job_id,
            VideoJob.status.in_(LIVE_STATUSES),
            VideoJob.fallback_tier.is_(None),
            VideoJob.twin_job_id.is_(None),
            VideoRemoteSubmission.base_url == base_url,
            VideoRemoteSubmission.model == model,
            or_(
                VideoRemoteSubmission.confirmed_by.is_(None),
                and_(VideoJob.remote_id.is_not(None), VideoRemoteSubmission.remote_id == VideoJob.remote_id),
            ),
        )
        .order_by(VideoRemoteSubmission.intent_at)
        .limit(1)
    )
