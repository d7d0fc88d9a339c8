"""The database is the source of truth: re-send the messages the broker lost, and catch up traces.

Run by beat every VIDEO_RECONCILE_INTERVAL_S (`reconcile_video_jobs`) and by
operators (`spendsense-video requeue-stuck`, `retry`): one code path.

A job needs a new message when it is `queued` and nobody has touched it for
VIDEO_STUCK_AFTER_S (Redis restarted or was flushed, a publish failed), or
`running` with a lease nobody renewed (its worker died: live workers renew
theirs every few seconds). A job that ended degraded (only a poster: the
provider was down) is taken back up later, a few times, so the user gets the
real video once the outage is over. A queued job is re-sent only when the broker holds
no message for it (`worker.messages.job_ids_with_messages`); a re-sent message
is harmless anyway: workers claim jobs with a compare-and-set. A remote job that already has a
remote id resumes polling; one with an unconfirmed submission is looked up;
neither is ever submitted again. Rows are locked while chosen (`FOR UPDATE SKIP
LOCKED` on PostgreSQL), so two reconcilers never pick the same job.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import and_, func, or_, select

from worker.db.models import POSTER_TIER, JobEvent, JobStatus, VideoJob, VideoJobEvent, utcnow
from worker.db.session import session_scope
from worker.errors import MessageLost
from worker.jobs import recorder
from worker.jobs.leases import BETWEEN_CHECKS
from worker.settings import Settings
from worker.storage import get_store, remove_abandoned_scratch
from worker.trace_files import recommendations_of
from worker.traces import refresh_trace_file, trace_path

log = logging.getLogger(__name__)

#: Jobs examined per pass; the next pass takes the rest.
BATCH_SIZE = 500
#: Traces are rewritten this long before their presigned URLs expire.
URL_REFRESH_MARGIN_S = 86_400


@dataclass
class ReconcileReport:
    requeued: list[str] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)
    retaken: list[str] = field(default_factory=list)
    traces_rewritten: int = 0
    urls_refreshed: int = 0
    scratch_removed: int = 0

    @property
    def changed_jobs(self) -> bool:
        return bool(self.requeued or self.gave_up or self.retaken or self.scratch_removed)

    def summary(self) -> str:
        return (
            f"re-enqueued {len(self.requeued)} stuck job(s), failed {len(self.gave_up)} that kept losing "
            f"their message, took {len(self.retaken)} degraded job(s) back up, "
            f"rewrote {self.traces_rewritten} lagging trace file(s), refreshed the URLs of "
            f"{self.urls_refreshed} trace file(s), removed {self.scratch_removed} abandoned scratch file(s)"
        )


def reconcile(settings: Settings, publish, held_messages, *, quiet_for_s: float | None = None) -> ReconcileReport:
    """One pass; the caller reports it (beat logs it, the CLI prints it).

    `publish(job_id)` sends a generate_video message; `held_messages()` returns the ids of the
    jobs that have a message in the broker, waiting or delivered and unacknowledged (None when
    the broker cannot tell). A queued job nobody has touched for a while is re-sent only when it
    has no message: a backlog is waiting, not lost, and no job ever gets a second message while
    its first still exists. A running job is re-sent once its lease is unrenewed (its worker died;
    the message that worker held comes back only after the visibility timeout). "A while" is
    `quiet_for_s`, VIDEO_STUCK_AFTER_S unless the caller says otherwise (`requeue-stuck --now`: 0).
    """
    report = ReconcileReport()
    held = _held_messages(held_messages)
    quiet_for_s = settings.stuck_after_s if quiet_for_s is None else quiet_for_s
    for job_id, give_up in _claim_stuck(settings, held, quiet_for_s):
        (report.gave_up if give_up else report.requeued).append(job_id)
    report.retaken = _take_up_degraded(settings)
    for job_id in report.requeued + report.retaken:
        try:
            publish(job_id)
        except Exception as exc:  # the next pass tries again; the row says what happened
            log.warning("job %s: re-enqueue failed: %s", job_id, type(exc).__name__)
    report.traces_rewritten = _rewrite_lagging_traces(settings)
    report.urls_refreshed = _refresh_expiring_urls(settings)
    report.scratch_removed = _remove_abandoned_scratch(settings)
    return report


def count_quiet_younger_than(quiet_for_s: float, held: frozenset[str] | None) -> int:
    """How many jobs a pass would re-send if it did not wait `quiet_for_s` (the operator's "why was
    nothing re-sent?"): quiet for less than that, queued without a message or running unrenewed."""
    now = utcnow()
    with session_scope() as session:

        def quiet(after_s: float) -> set[str]:
            running = set(session.scalars(select(VideoJob.id).where(abandoned_running(after_s, now))))
            queued = (
                set()
                if held is None
                else set(session.scalars(select(VideoJob.id).where(quiet_queued(after_s, now)))) - held
            )
            return running | queued

        return len(quiet(0) - quiet(quiet_for_s))


def quiet_queued(quiet_for_s: float, now):
    return and_(VideoJob.status == JobStatus.QUEUED.value, VideoJob.updated_at < now - timedelta(seconds=quiet_for_s))


def abandoned_running(quiet_for_s: float, now):
    """Running, with a lease nobody renewed: live workers renew theirs (worker.jobs.heartbeat), so
    an expired lease means a dead worker. A remote job between two checks holds a lease up to its
    next check, whose message may wait behind a backlog: it is re-sent only once also quiet for
    `quiet_for_s`."""
    lease_ended = or_(VideoJob.lease_expires_at.is_(None), VideoJob.lease_expires_at < now)
    return and_(
        VideoJob.status == JobStatus.RUNNING.value,
        lease_ended,
        or_(~BETWEEN_CHECKS, VideoJob.updated_at < now - timedelta(seconds=quiet_for_s)),
    )


def _held_messages(held_messages) -> frozenset[str] | None:
    try:
        held = held_messages()
    except Exception as exc:  # cannot tell: do not mistake a backlog for a loss
        log.warning(
            "reconciler: the broker's messages could not be read (%s); queued jobs left alone", type(exc).__name__
        )
        return None
    if held is None:
        log.info("reconciler: this broker's messages cannot be read; queued jobs left alone")
    return held


def _claim_stuck(settings: Settings, held: frozenset[str] | None, quiet_for_s: float) -> list[tuple[str, bool]]:
    now = utcnow()
    chosen = []
    with session_scope() as session:
        jobs = list(
            session.scalars(
                select(VideoJob)
                .where(abandoned_running(quiet_for_s, now))
                .order_by(VideoJob.updated_at)
                .limit(BATCH_SIZE)
                .with_for_update(skip_locked=True)
            )
        )
        if held is not None:
            quiet = session.scalars(
                select(VideoJob.id).where(quiet_queued(quiet_for_s, now)).order_by(VideoJob.updated_at)
            ).all()
            lost = [job_id for job_id in quiet if job_id not in held][:BATCH_SIZE]
            if lost:
                jobs += session.scalars(
                    select(VideoJob)
                    .where(VideoJob.id.in_(lost), quiet_queued(quiet_for_s, now))
                    .order_by(VideoJob.updated_at)
                    .with_for_update(skip_locked=True)
                )
        for job in jobs:
            give_up = job.enqueue_count >= settings.max_enqueues
            if give_up:
                message = (
                    f"message lost {job.enqueue_count} times (broker restarted or flushed, or workers died); giving up"
                )
                recorder.fail_loaded(session, job, MessageLost(message), detail={"reason": message})
            else:
                recorder.record_reenqueued(session, job, quiet_s=(now - job.updated_at).total_seconds())
            chosen.append((job.id, give_up))
    return chosen


def _take_up_degraded(settings: Settings) -> list[str]:
    """Degraded jobs (completed with only a poster) go back to `queued` VIDEO_DEGRADED_RETRY_AFTER_S
    after they finished, then twice as long after each further try, at most VIDEO_DEGRADED_RETRIES
    times (an operator's `retry` counts too). A remote job already paid for is resumed, not paid again."""
    if not settings.degraded_retries:
        return []
    now, first_wait = utcnow(), timedelta(seconds=settings.degraded_retry_after_s)
    tries = (
        select(func.count(VideoJobEvent.id))
        .where(VideoJobEvent.job_id == VideoJob.id, VideoJobEvent.event == JobEvent.REQUEUED.value)
        .correlate(VideoJob)
        .scalar_subquery()
    )
    with session_scope() as session:
        degraded = session.execute(
            select(VideoJob.id, VideoJob.finished_at, tries)
            .where(
                VideoJob.status == JobStatus.COMPLETED.value,
                VideoJob.fallback_tier == POSTER_TIER,
                VideoJob.finished_at < now - first_wait,
                tries < settings.degraded_retries,
            )
            .order_by(VideoJob.finished_at)
            .limit(BATCH_SIZE)
        ).all()
        due = [job_id for job_id, finished_at, earlier in degraded if finished_at < now - first_wait * 2**earlier]
        return [
            job_id
            for job_id in due
            if recorder.requeue(session, job_id, "degraded: the reconciler tries for the real video again")
        ]


def _remove_abandoned_scratch(settings: Settings) -> int:
    """A worker killed mid-render leaves its scratch in storage; no live render is twice the time limit old."""
    try:
        return remove_abandoned_scratch(settings.video_storage_dir, older_than_s=2 * settings.task_time_limit_s)
    except OSError as exc:
        log.warning("reconciler: scratch in video storage could not be cleaned: %s", type(exc).__name__)
        return 0


def _refresh_expiring_urls(settings: Settings) -> int:
    """Rewrite traces whose presigned URLs expire within a day (URLs are minted when a trace is written)."""
    ttl_s = settings.video_url_ttl_s
    if not get_store(settings).urls_expire:
        return 0
    stale_before = utcnow().timestamp() - max(ttl_s - URL_REFRESH_MARGIN_S, ttl_s / 2)
    with session_scope() as session:
        users = session.scalars(
            select(VideoJob.user_id)
            .where(VideoJob.status == JobStatus.COMPLETED.value, VideoJob.poster_key.is_not(None))
            .distinct()
        ).all()
    return _rewrite_traces_older_than(settings, dict.fromkeys(users, stale_before), missing_too=False)


def _rewrite_lagging_traces(settings: Settings) -> int:
    """Trace files that missed a recently finished job: written before it finished (the engine's
    write raced the worker's), or since, but still showing another status for it (an engine write
    that landed after the worker's)."""
    since = utcnow() - timedelta(seconds=max(settings.reconcile_interval_s * 3, settings.stuck_after_s))
    with session_scope() as session:
        finished = session.execute(
            select(VideoJob.user_id, VideoJob.id, VideoJob.status, VideoJob.finished_at).where(
                VideoJob.finished_at.is_not(None), VideoJob.finished_at > since
            )
        ).all()
    newest: dict[str, float] = {}
    statuses: dict[str, dict[str, str]] = {}
    for user_id, job_id, status, finished_at in finished:
        assert finished_at is not None  # the query keeps only finished jobs
        newest[user_id] = max(newest.get(user_id, 0.0), finished_at.timestamp())
        statuses.setdefault(user_id, {})[job_id] = status
    for user_id, cutoff in list(newest.items()):
        path = trace_path(user_id, settings)
        if path.exists() and path.stat().st_mtime >= cutoff and _shows_other_status(path, statuses[user_id]):
            newest[user_id] = float("inf")  # stale whatever its age
    return _rewrite_traces_older_than(settings, newest, missing_too=True)


def _shows_other_status(path: Path, statuses: dict[str, str]) -> bool:
    """Does the trace show any of these jobs with a status other than the database's?"""
    try:
        trace = json.loads(path.read_text())
    except (OSError, ValueError):
        return False  # unreadable or not JSON: not ours to rewrite
    recs = recommendations_of(trace) if isinstance(trace, dict) else []
    return any(
        isinstance(rec, dict)
        and rec.get("video_job_id") in statuses
        and rec.get("video_status") != statuses[rec["video_job_id"]]
        for rec in recs
    )


def _rewrite_traces_older_than(settings: Settings, cutoffs: dict[str, float], *, missing_too: bool) -> int:
    """Rewrite each user's trace file last written before its cutoff (at most BATCH_SIZE per pass)."""
    rewritten = 0
    for user_id, cutoff in cutoffs.items():
        path = trace_path(user_id, settings)
        stale = path.stat().st_mtime < cutoff if path.exists() else missing_too
        if not stale or rewritten >= BATCH_SIZE:
            continue
        try:
            refresh_trace_file(user_id, settings)
            rewritten += 1
        except Exception as exc:
            log.warning("reconciler: a trace file could not be rewritten: %s", type(exc).__name__)
    return rewritten
