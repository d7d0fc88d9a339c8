"""What an operator asks first: how many jobs are where, what is stuck, what is broken."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from worker.db.models import LIVE_STATUSES, JobStatus, ProviderCircuitBreaker, VideoJob, utcnow
from worker.db.session import session_scope
from worker.remote.breaker import open_breakers
from worker.remote.spending import Spend, spend
from worker.remote.spending import render as render_spend
from worker.settings import get_settings

#: How many recent failures the overview lists.
RECENT_ERRORS = 5


@dataclass(frozen=True)
class Overview:
    counts: dict[str, int]
    oldest_unfinished: tuple[str, str, float] | None  # job id, status, age in seconds
    breakers: list[ProviderCircuitBreaker]
    recent_errors: list[tuple[str, datetime | None, str | None, str | None]]  # id, when, type, message
    spend: Spend


def overview() -> Overview:
    with session_scope() as session:
        counts = {status.value: 0 for status in JobStatus if status is not JobStatus.NOT_FOUND}
        counts.update(dict(session.execute(select(VideoJob.status, func.count()).group_by(VideoJob.status)).all()))
        oldest = session.execute(
            select(VideoJob.id, VideoJob.status, VideoJob.created_at)
            .where(VideoJob.status.in_(LIVE_STATUSES))
            .order_by(VideoJob.created_at)
            .limit(1)
        ).first()
        errors = session.execute(
            select(VideoJob.id, VideoJob.finished_at, VideoJob.error_type, VideoJob.error_message)
            .where(VideoJob.status == JobStatus.FAILED.value)
            .order_by(VideoJob.finished_at.desc())
            .limit(RECENT_ERRORS)
        ).all()
    stuck = (oldest.id, oldest.status, (utcnow() - oldest.created_at).total_seconds()) if oldest else None
    return Overview(
        counts,
        stuck,
        open_breakers(),
        [(job_id, when, kind, message) for job_id, when, kind, message in errors],
        spend(get_settings()),
    )


def render(view: Overview) -> str:
    """Plain text for the terminal."""
    lines = ["jobs: " + ", ".join(f"{count} {status}" for status, count in view.counts.items())]
    if view.oldest_unfinished:
        job_id, status, age_s = view.oldest_unfinished
        lines.append(f"oldest unfinished: {job_id} ({status} for {age_s:.0f}s)")
    else:
        lines.append("oldest unfinished: none")
    lines.extend(render_spend(view.spend))
    lines.append(f"circuit breakers open: {len(view.breakers)}")
    for breaker in view.breakers:
        lines.append(
            f"  {breaker.model} at {breaker.base_url} until {breaker.open_until.isoformat()}: {breaker.reason}"
        )
    lines.append(f"recent failures: {len(view.recent_errors)}")
    for job_id, when, error_type, message in view.recent_errors:
        lines.append(f"  {job_id} {when.isoformat() if when else '-'} {error_type}: {(message or '')[:160]}")
    return "\n".join(lines)
