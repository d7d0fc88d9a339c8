"""Commands on jobs: list, retry, requeue-stuck. Job ids are the ones Flower and the traces show."""

from __future__ import annotations

import json
from datetime import datetime

import click

from worker.db.models import JobStatus
from worker.ops.operations import DEFAULT_LIST_LIMIT

_STATES = [status.value for status in JobStatus if status is not JobStatus.NOT_FOUND]
#: `list`'s columns: header, width (the last one takes the rest of the line).
_COLUMNS = (
    ("JOB", 36),
    ("USER", 12),
    ("STATE", 9),
    ("PROVIDER", 8),
    ("TIER", 7),
    ("CREATED", 19),
    ("FINISHED", 19),
    ("DETAIL", 0),
)


def _ready() -> None:
    from worker.db.migrate import ensure_schema_current

    ensure_schema_current()


@click.command("list", short_help="recent jobs, newest first")
@click.option("--user", "user_id", metavar="USER_ID", help="only this user's jobs")
@click.option("--state", type=click.Choice(_STATES), help="only jobs in this state")
@click.option("--limit", type=click.IntRange(min=1), default=DEFAULT_LIST_LIMIT, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="one JSON array, for scripts")
def list_command(user_id: str | None, state: str | None, limit: int, as_json: bool) -> int:
    """Recent jobs, newest first: who they are for, where they are, and what they produced or why they failed."""
    from worker.ops.operations import list_jobs

    _ready()
    jobs = list_jobs(user_id, state, limit)
    if as_json:
        click.echo(json.dumps([_as_dict(job) for job in jobs], indent=2))
        return 0
    click.echo(_row([header for header, _ in _COLUMNS]))
    for job in jobs:
        click.echo(
            _row(
                [
                    job.id,
                    job.user_id,
                    job.status,
                    job.provider or "-",
                    job.fallback_tier or "-",
                    _when(job.created_at),
                    _when(job.finished_at),
                    _detail(job),
                ]
            )
        )
    click.echo(f"{len(jobs)} job(s)" + (f" (the newest {limit}; --limit shows more)" if len(jobs) == limit else ""))
    return 0


def _row(cells: list[str]) -> str:
    return "  ".join(f"{cell:<{width}}" if width else cell for cell, (_, width) in zip(cells, _COLUMNS)).rstrip()


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _detail(job) -> str:
    if job.reused_from_job_id:
        return f"reused from {job.reused_from_job_id}"
    if job.error_type:
        return f"{job.error_type}: {(job.error_message or '')[:80]}"
    return job.video_url or job.poster_url or ""


def _as_dict(job) -> dict:
    return {
        "job_id": job.id,
        "user_id": job.user_id,
        "status": job.status,
        "provider": job.provider,
        "fallback_tier": job.fallback_tier,
        "attempt": job.attempt,
        "reused_from_job_id": job.reused_from_job_id,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at and job.finished_at.isoformat(),
        "video_url": job.video_url,
        "poster_url": job.poster_url,
        "error_type": job.error_type,
        "error_message": job.error_message,
    }


@click.command("retry", short_help="re-queue failed or degraded jobs")
@click.argument("job_ids", nargs=-1, metavar="[JOB_ID]...")
@click.option("--failed", "all_failed", is_flag=True, help="every failed job")
def retry_command(job_ids: tuple[str, ...], all_failed: bool) -> int:
    """Re-queue failed or degraded jobs (JOB_IDs, or --failed for all). Says why for any it did not
    re-queue; exits 1 if a named job was not re-queued."""
    from worker.ops.operations import retry_jobs

    if not job_ids and not all_failed:
        raise click.UsageError("name the job ids to re-queue, or give --failed")
    _ready()
    outcomes = retry_jobs(list(job_ids), all_failed=all_failed)
    for outcome in outcomes:
        click.echo(
            f"re-queued {outcome.job_id}" if outcome.requeued else f"not re-queued {outcome.job_id}: {outcome.reason}"
        )
    requeued = sum(outcome.requeued for outcome in outcomes)
    if all_failed and not outcomes:
        click.echo("no failed jobs")
    else:
        click.echo(f"re-queued {requeued} of {len(outcomes)} job(s)")
    return 0 if requeued == len(outcomes) else 1


@click.command("requeue-stuck", short_help="re-send stuck jobs' messages, rewrite lagging traces")
@click.option("--now", is_flag=True, help="re-send every quiet job, however recently it was last touched")
def requeue_stuck_command(now: bool) -> int:
    """Re-send the messages of jobs quiet for VIDEO_STUCK_AFTER_S (queued with no message in the
    broker, or running with a lease nobody renews) and rewrite lagging traces: beat's reconciler pass, now."""
    from worker.ops.operations import requeue_stuck
    from worker.settings import get_settings

    _ready()
    click.echo(requeue_stuck(get_settings(), now=now).summary())
    return 0
