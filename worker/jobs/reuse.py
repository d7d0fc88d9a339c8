"""Identical videos are made once: what counts as a finished twin, and what a job takes from it.

Two jobs are twins when their prompt hashes match (the hash covers the template,
the figures, the card and the disclaimer). A completed twin's video is reused
when a request is enqueued (`engine_hooks.enqueue`) and by a remote job that
waited for its twin to finish (`worker.remote.twins`). A reused video costs
nothing, and says so (`estimated_cost_usd` 0). A degraded twin (a poster only)
is never reused.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from worker.db.models import POSTER_TIER, JobStatus, VideoJob, utcnow
from worker.jobs.outcome import Outcome

#: A finished job whose video another request may reuse: completed with a video, not just a poster.
REUSABLE = and_(
    VideoJob.status == JobStatus.COMPLETED.value,
    or_(VideoJob.fallback_tier.is_(None), VideoJob.fallback_tier != POSTER_TIER),
)
#: Columns a job takes from the twin whose video it reuses.
REUSED_COLUMNS = (
    "provider",
    "renderer_version",
    "video_url",
    "poster_url",
    "captions_url",
    "description",
    "video_sha256",
    "video_key",
    "poster_key",
    "captions_key",
    "file_size_bytes",
    "duration_seconds",
    "width",
    "height",
    "fps",
    "codec",
    "generation_time_seconds",
    "fallback_used",
    "fallback_tier",
)


def finished_twin(session: Session, prompt_hash: str, *, first_tier_only: bool = False) -> VideoJob | None:
    """The newest completed job whose video is identical (any user's); never a degraded one.

    `first_tier_only`: only a video made by the tier it was asked of, not by a fallback (a remote
    job whose twin fell back tries the remote provider itself rather than take the fallback's video).
    """
    query = select(VideoJob).where(VideoJob.prompt_hash == prompt_hash, REUSABLE)
    if first_tier_only:
        query = query.where(VideoJob.fallback_used.is_(False))
    return session.scalars(query.order_by(VideoJob.finished_at.desc()).limit(1)).first()


def reuse_at_enqueue(job: VideoJob, donor: VideoJob) -> None:
    """A new job row born completed, with its twin's video."""
    for column in REUSED_COLUMNS:
        setattr(job, column, getattr(donor, column))
    job.status = JobStatus.COMPLETED.value
    job.reused_from_job_id = maker_of(donor)
    job.estimated_cost_usd = 0.0
    job.finished_at = job.started_at = utcnow()
    job.wait_seconds = 0.0


def reused_outcome(donor: VideoJob) -> Outcome:
    """What a running job completes with when its twin made the video (`recorder.complete` writes it)."""
    facts = {name: getattr(donor, name) for name in Outcome.__dataclass_fields__ if name != "reused_from_job_id"}
    return Outcome(**facts, reused_from_job_id=maker_of(donor))


def maker_of(donor: VideoJob) -> str:
    """The job that made the video (a donor may itself have reused it)."""
    return donor.reused_from_job_id or donor.id
