"""`generate_video`: claim the job, move it one step, record the outcome. Nothing more.

Retries are Celery's: autoretry for `TransientVideoError`, exponential backoff
from 2 s with full jitter, at most 3 retries (a server's Retry-After, when
given, sets the delay instead). On the last attempt a temporary error moves the
job down the fallback chain rather than failing it. A remote job that is still
rendering is not a failure: the task re-publishes itself with a countdown
(outside the retry budget) and returns, so no worker slot waits on the server.
Every path ends in a recorded state, and the user's trace file is updated
whenever a job finishes.
"""

from __future__ import annotations

from billiard.exceptions import WorkerLostError
from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.utils.log import get_task_logger
from celery.utils.time import get_exponential_backoff_interval
from sqlalchemy.exc import SQLAlchemyError

from worker.errors import NoVideoAvailable, StorageUnavailable, TransientVideoError
from worker.fallback_chain import Pending, advance
from worker.jobs import leases, recorder
from worker.jobs.heartbeat import Heartbeat
from worker.messages import RECONCILE_TASK_NAME
from worker.settings import get_settings
from worker.traces import refresh_trace_file

log = get_task_logger(__name__)

#: First retry waits up to this long; each later one doubles it (full jitter).
RETRY_BACKOFF_S = 2
#: No retry waits longer than this.
RETRY_BACKOFF_MAX_S = 60
#: After this many retries (so 1 + 3 attempts) a temporary error ends the tier.
MAX_RETRIES = 3
#: A duplicate delivery looks again this long after the other worker's lease ends.
LEASE_GRACE_S = 2
#: A job whose video could not be stored waits this long, doubling each time up to the maximum,
#: outside the retry budget; after STORAGE_MAX_WAITS waits (~1.5 h) it fails.
STORAGE_BACKOFF_S = 15
STORAGE_BACKOFF_MAX_S = 300
STORAGE_MAX_WAITS = 20


def backoff_s(retries: int) -> int:
    """The wait before retry number `retries + 1`: the same curve autoretry uses."""
    return get_exponential_backoff_interval(RETRY_BACKOFF_S, retries, RETRY_BACKOFF_MAX_S, full_jitter=True)


class VideoTask(Task):
    """`generate_video`'s task class: records a lost pool process, which the task itself cannot."""

    #: No fixed delay. Celery retries a job whose pool process died (`task_retry_on_worker_lost`)
    #: with this delay; None lets `signature_from_request` give that retry the task's own backoff.
    default_retry_delay = None

    def signature_from_request(self, request=None, args=None, kwargs=None, queue=None, **options):
        """A retry sent without a delay (a lost pool process) waits the backoff for its retry number."""
        if "countdown" in options and options["countdown"] is None and options.get("eta") is None:
            options["countdown"] = backoff_s(max(0, options.get("retries", 1) - 1))
        return super().signature_from_request(request, args, kwargs, queue, **options)

    def on_retry(self, exc, task_id, args, kwargs, einfo) -> None:
        """Called in the worker's main process when a pool process died mid-job (`WorkerLostError`):
        record it and release the dead attempt's claim at once, so the retry Celery has just sent
        (after the task's backoff, counted against the retries) can claim the job."""
        if isinstance(exc, WorkerLostError):
            log.warning("job %s: its pool process died (%s); retrying after the backoff", task_id, exc)
            recorder.guarded(recorder.record_worker_lost, task_id, exc)


@shared_task(
    name="generate_video",
    base=VideoTask,
    bind=True,
    autoretry_for=(TransientVideoError,),
    retry_backoff=RETRY_BACKOFF_S,
    retry_backoff_max=RETRY_BACKOFF_MAX_S,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def generate_video(self, job_id: str) -> str:
    """Move job `job_id` one step; the id is the only argument, by design."""
    settings = get_settings()
    try:
        job = leases.claim(
            job_id,
            retries=self.request.retries,
            lease_s=settings.lease_s,
            poll_lease_s=min(poll_lease_s(settings), settings.lease_s),
        )
    except SQLAlchemyError as exc:
        raise TransientVideoError(f"job database unavailable: {type(exc).__name__}") from exc
    if isinstance(job, leases.LeaseHeld):
        # A duplicate delivery while another worker runs the job. Look again when its
        # lease ends: by then it has finished, or its worker died and the job is ours.
        countdown_s = job.seconds_left + LEASE_GRACE_S
        self.apply_async(args=[job_id], task_id=job_id, countdown=countdown_s, retries=self.request.retries)
        log.info("job %s is running elsewhere; checking again in %.0fs", job_id, countdown_s)
        return "deferred"
    if job is None:
        return "skipped"
    if not job.is_poll:
        log.info("job %s started attempt=%d", job_id, job.attempt)

    try:
        with Heartbeat(job_id, job.attempt, settings.lease_s):
            result = advance(job, settings, last_attempt=self.request.retries >= self.max_retries)
    except StorageUnavailable as exc:
        return _wait_for_storage(self, job, exc)
    except (TransientVideoError, SoftTimeLimitExceeded, SQLAlchemyError) as exc:
        _retry_or_fail(self, job, exc)
    except NoVideoAvailable as exc:
        log.error("job %s failed, no tier produced anything: %s", job_id, exc)
        _finish(job, exc)
        raise
    except Exception as exc:
        log.error("job %s failed: %s: %s", job_id, type(exc).__name__, exc)
        _finish(job, exc)
        raise

    if isinstance(result, Pending):
        # The server answered: the retry budget (for consecutive errors) starts over.
        leases.release_for_poll(job_id, result.poll_after_s)
        self.apply_async(args=[job_id], task_id=job_id, countdown=result.poll_after_s, retries=0)
        return "polling"
    try:
        recorded = recorder.complete(job_id, result, attempt=job.attempt)
    except SQLAlchemyError as exc:
        raise TransientVideoError(f"could not record completion: {type(exc).__name__}") from exc
    log.info("job %s completed in %.2fs provider=%s", job_id, result.generation_time_seconds, result.provider)
    _refresh_trace(job.user_id, job_id)
    return "completed" if recorded else "skipped"


def poll_lease_s(settings) -> int:
    """A remote check makes at most three requests (status, video, thumbnail), then probes and stores."""
    return min(settings.task_time_limit_s, int(4 * settings.video_api_timeout_s) + 30)


def _wait_for_storage(task, job: leases.ClaimedJob, exc: StorageUnavailable) -> str:
    """The video exists but could not be kept (a full disk, a permission error, an unreachable store).

    Not a provider failure: the job goes back to `queued` with the reason, and the task re-sends
    itself with a longer backoff, outside the retry budget, until storage recovers; then the job
    completes with its real video. After `STORAGE_MAX_WAITS` waits (about an hour and a half)
    it fails, and `spendsense-video retry` takes it up again.
    """
    waits = recorder.record_storage_wait(job.id, exc, attempt=job.attempt)
    if waits == 0:
        return "skipped"
    if waits > STORAGE_MAX_WAITS:
        log.error("job %s failed, storage unavailable %d times: %s", job.id, waits - 1, exc)
        recorder.guarded(recorder.fail, job.id, exc, attempt=job.attempt)
        _refresh_trace(job.user_id, job.id)
        return "failed"
    countdown_s = min(STORAGE_BACKOFF_S * 2 ** (waits - 1), STORAGE_BACKOFF_MAX_S)
    log.warning("job %s waits %.0fs for storage (wait %d): %s", job.id, countdown_s, waits, exc)
    task.apply_async(args=[job.id], task_id=job.id, countdown=countdown_s, retries=task.request.retries)
    return "waiting for storage"


def _retry_or_fail(task, job: leases.ClaimedJob, exc: BaseException) -> None:
    """Record a retry and hand over to Celery, or (retries exhausted) record the failure. Always raises."""
    if task.request.retries >= task.max_retries:
        log.error("job %s failed, retries exhausted: %s: %s", job.id, type(exc).__name__, exc)
        _finish(job, exc)
        raise exc
    log.warning("job %s retrying after %s: %s", job.id, type(exc).__name__, exc)
    retry_after_s = getattr(exc, "retry_after_s", None)
    countdown_s = min(retry_after_s, RETRY_BACKOFF_MAX_S) if retry_after_s is not None else None
    recorder.guarded(recorder.record_retry, job.id, exc, attempt=job.attempt, countdown_s=countdown_s)
    if countdown_s is not None:  # the server said when; that beats our backoff
        raise task.retry(exc=exc, countdown=countdown_s)
    if isinstance(exc, TransientVideoError):
        raise exc  # autoretry computes the backoff
    raise TransientVideoError(f"{type(exc).__name__}: {exc}") from exc


def _finish(job: leases.ClaimedJob, exc: BaseException) -> None:
    recorder.guarded(recorder.fail, job.id, exc, attempt=job.attempt)
    _refresh_trace(job.user_id, job.id)


def _refresh_trace(user_id: str, job_id: str) -> None:
    try:
        refresh_trace_file(user_id, get_settings())
    except Exception as exc:  # no traceback: paths and messages here would name the user
        log.error("job %s: could not update the trace file: %s", job_id, type(exc).__name__)


@shared_task(name=RECONCILE_TASK_NAME, ignore_result=True)
def reconcile_video_jobs() -> str:
    """Beat's periodic pass: re-send lost messages, catch up lagging traces (see worker.ops.reconcile)."""
    from worker.messages import job_ids_with_messages, publish_job
    from worker.ops.reconcile import reconcile

    settings = get_settings()
    report = reconcile(settings, publish_job, lambda: job_ids_with_messages(settings.stuck_after_s))
    if report.changed_jobs:
        log.warning("reconciler: %s", report.summary())
    return report.summary()
