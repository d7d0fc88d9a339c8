"""The spending caps: a paid create reserves its cost first, atomically, or it is not made.

The reservation is the submission's intent row itself (`video_remote_submissions.cost_usd`, the
seconds asked for × the price), written in the transaction that checks the caps. Only one such
transaction runs at a time: on PostgreSQL a transaction-level advisory lock serializes them; on
SQLite the intent's insert takes the database's single write lock before the spend is summed.
A create certainly never sent (`rejected`, `unsent`) stops counting; once the server answers, the
row holds the seconds it reports × the price. A reused video makes no submission: it costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from worker.db.models import SubmissionOutcome, VideoJob, VideoRemoteSubmission, utcnow
from worker.db.session import session_scope
from worker.errors import FallbackKind, FallbackNeeded
from worker.settings import Settings

#: The advisory lock every paid-submission decision takes on PostgreSQL ("SPEND" in ASCII).
SUBMISSION_LOCK_KEY = 0x5350454E44
#: Sums are of floats: a cap is reached when the spend is within this of it.
EPSILON_USD = 1e-6
#: Submissions that were paid for (the server answered, or listed the job after a crash).
PAID = VideoRemoteSubmission.confirmed_by.in_((SubmissionOutcome.CREATED.value, SubmissionOutcome.FOUND.value))
#: Submissions that were, or may have been, paid for (outcome unknown counts as paid).
COUNTED = or_(VideoRemoteSubmission.confirmed_by.is_(None), PAID)


@dataclass(frozen=True)
class Spend:
    """What `spendsense-video status` shows about money."""

    today_usd: float
    month_usd: float
    per_day_cap: float | None
    per_month_cap: float | None
    paid_today: int
    reused_today: int


def serialize_submissions(session: Session) -> None:
    """Hold the paid-submission lock until the transaction ends (PostgreSQL; SQLite's is its write lock)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(SUBMISSION_LOCK_KEY)))


def price_usd(seconds: float | None, settings: Settings) -> float | None:
    if seconds is None or settings.video_cost_per_second_usd is None:
        return None
    return round(seconds * settings.video_cost_per_second_usd, 6)


def check_caps(session: Session, settings: Settings, now: datetime) -> None:
    """Inside the serialized transaction, after this submission's reservation was added.

    Raises:
        FallbackNeeded(kind=FallbackKind.BUDGET): the reservation would take a period over its cap.
    """
    day_start, month_start = period_starts(now)
    for cap, since, period in (
        (settings.video_budget_usd_per_day, day_start, "daily"),
        (settings.video_budget_usd_per_month, month_start, "monthly"),
    ):
        if cap is None:
            continue
        spent = _spent_since(session, since)
        if spent > cap + EPSILON_USD:
            raise FallbackNeeded(
                f"budget: the {period} video budget of ${cap:.2f} would be exceeded "
                f"(${spent:.2f} with this video); rendered locally instead",
                kind=FallbackKind.BUDGET,
            )


def period_starts(now: datetime) -> tuple[datetime, datetime]:
    """Midnight UTC today, and the first of this UTC month."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return day, day.replace(day=1)


def spend(settings: Settings) -> Spend:
    now = utcnow()
    day_start, month_start = period_starts(now)
    with session_scope() as session:
        paid_today = session.scalar(select(func.count()).where(VideoRemoteSubmission.intent_at >= day_start, PAID))
        reused_today = session.scalar(
            select(func.count()).where(VideoJob.reused_from_job_id.is_not(None), VideoJob.finished_at >= day_start)
        )
        return Spend(
            _spent_since(session, day_start),
            _spent_since(session, month_start),
            settings.video_budget_usd_per_day,
            settings.video_budget_usd_per_month,
            paid_today or 0,
            reused_today or 0,
        )


def render(view: Spend) -> list[str]:
    def cap(value: float | None) -> str:
        return f"of ${value:.2f} cap" if value is not None else "(no cap)"

    return [
        f"spend today: ${view.today_usd:.2f} {cap(view.per_day_cap)}; {view.paid_today} paid video(s), "
        f"{view.reused_today} reused at no cost",
        f"spend this month: ${view.month_usd:.2f} {cap(view.per_month_cap)}",
    ]


def _spent_since(session: Session, since: datetime) -> float:
    return float(
        session.scalar(
            select(func.coalesce(func.sum(VideoRemoteSubmission.cost_usd), 0.0)).where(
                VideoRemoteSubmission.intent_at >= since, COUNTED
            )
        )
        or 0.0
    )
