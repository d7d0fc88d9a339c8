"""Move one remote job one step: submit (or recover), check on it, or download it. Never wait.

Each call returns quickly with `Pending` (ask again after `poll_after_s`; the
task re-publishes itself with that countdown, so no worker slot is held while
the server renders, or while a create of unknown outcome may still appear in
the server's list), a `ProducedVideo` (the files are in our scratch directory)
or a `SharedVideo` (an identical job made it). `worker.providers.remote` is the
tier that calls it.
Clear terminal verdicts raise `FallbackNeeded`; temporary trouble raises
`RemoteRetryable`, which Celery retries.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from billiard.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import IntegrityError

from worker.db.models import SubmissionOutcome, utcnow
from worker.errors import FallbackKind, FallbackNeeded, RemoteGone, RemoteJobForgotten, RemoteRetryable
from worker.jobs.leases import ClaimedJob
from worker.jobs.recorder import guarded
from worker.providers.base import Pending, ProducedVideo, SharedVideo, Step
from worker.remote import ledger
from worker.remote.api import RemoteVideo, SentCreate, VideosApi
from worker.remote.breaker import open_breaker_reason, trip
from worker.remote.sunsets import sunset_message
from worker.remote.twins import TwinInFlight
from worker.render.stills import is_image, still_from_video
from worker.settings import Settings

log = logging.getLogger(__name__)

#: The server's poll hint is honoured within these bounds.
MIN_POLL_S, MAX_POLL_S = 0.5, 30.0
#: Without a hint: 2 s, then doubling, capped at MAX_POLL_S.
DEFAULT_FIRST_POLL_S = 2.0
#: A job the server forgot gets one new submission; a third is never paid for.
MAX_SUBMISSIONS_PER_JOB = 2
#: Clock difference tolerated between us and the server when looking a job up.
LOOKUP_CLOCK_SKEW_S = 60
#: Added to twice the request timeout before an unlisted create is taken as never arrived.
CREATE_SETTLE_MARGIN_S = 30
PROVIDER_NAME = "openai"


def advance(job: ClaimedJob, settings: Settings, workdir: Path) -> Step:
    """One step of the job's remote life. Raises FallbackNeeded or RemoteRetryable."""
    base_url, model = settings.video_api_base_url, settings.video_model
    assert settings.video_api_key is not None  # settings validation requires it for the remote provider
    api = VideosApi.shared(base_url, settings.video_api_key.get_secret_value(), settings.video_api_timeout_s)
    try:
        return _step(api, job, settings, workdir)
    except SoftTimeLimitExceeded as exc:
        # Not a verdict on the tier: what was paid for is in the ledger, and the next delivery resumes it.
        raise RemoteRetryable("the step ran past the task's soft time limit; the next delivery resumes it") from exc
    except RemoteGone as exc:
        trip(base_url, model, str(exc), settings.video_breaker_cooldown_s)
        guarded(ledger.record_breaker_opened, job.id, base_url, model, str(exc), job.attempt)
        raise


def _step(api: VideosApi, job: ClaimedJob, settings: Settings, workdir: Path) -> Step:
    state = ledger.remote_state(job.id)
    hint = None
    if state.remote_id is None:
        remote = _submit_or_recover(api, job, settings, state)
        if isinstance(remote, (Pending, SharedVideo)):
            return remote
    else:
        if state.poll_deadline_at is None:  # re-queued by an operator: a fresh deadline
            state = ledger.restart_deadline(job.id, settings.video_poll_deadline_s)
        # restart_deadline() sets the deadline and leaves the remote id (checked above) as it was
        assert state.remote_id is not None and state.poll_deadline_at is not None
        if utcnow() > state.poll_deadline_at:
            raise FallbackNeeded(
                f"remote job {state.remote_id} did not finish within {settings.video_poll_deadline_s}s",
                kind=FallbackKind.DEADLINE,
            )
        try:
            remote, hint = api.retrieve(state.remote_id)
        except RemoteJobForgotten as exc:
            ledger.forget(job.id, str(exc), job.attempt)
            remote = _submit_or_recover(api, job, settings, ledger.remote_state(job.id))
            if isinstance(remote, (Pending, SharedVideo)):
                return remote
    if ledger.record_poll(job.id, remote, job.attempt):  # one line per state change, not per check
        log.info("job %s: the remote video is %s", job.id, remote.status.replace("_", " "))
    if remote.status in ("queued", "in_progress"):
        delay = _poll_delay(hint, state.poll_count)
        if state.poll_deadline_at is not None:  # never sleep past the deadline: check it on time
            delay = min(delay, max((state.poll_deadline_at - utcnow()).total_seconds(), 0) + MIN_POLL_S)
        return Pending(delay)
    if remote.status != "completed":
        raise FallbackNeeded(
            f"server reports the job {remote.status}: {remote.error or 'no reason given'}", kind=FallbackKind.FAILED
        )
    if remote.expires_at is not None and remote.expires_at < utcnow().timestamp():
        raise FallbackNeeded(f"content of {remote.id} expired before it was downloaded", kind=FallbackKind.EXPIRED)
    video = api.download(remote.id, workdir / "video.mp4")
    poster = _poster(api, remote.id, video, workdir / "poster.jpg")
    return ProducedVideo(
        video,
        poster,
        PROVIDER_NAME,
        f"{PROVIDER_NAME}:{remote.model}",
        submitted_at=ledger.submitted_at(job.id) or utcnow(),
    )


def _submit_or_recover(
    api: VideosApi, job: ClaimedJob, settings: Settings, state
) -> RemoteVideo | Pending | SharedVideo:
    """Create the remote job at most once per submission; an unknown outcome is looked up, not repaid.

    A job whose twin made, or is making, the same video takes the twin's video instead of paying.

    Waiting for a slow create to be listed is not an error: it spends no retries, so the job never
    falls back (and leaves a paid video unused) merely because the server was slow to list it.
    """
    submission = state.open_submission
    if submission is not None:
        found = api.find(_sent(job, submission, settings))
        if found is not None:
            _confirm(submission, found, SubmissionOutcome.FOUND, job, settings)
            return found
        settle_s = create_settle_s(settings)
        waited_s = (utcnow() - submission.intent_at).total_seconds()
        if waited_s < settle_s:  # a slow server may still be creating it: look again, never re-send yet
            look_again_s = max(settle_s - waited_s, MIN_POLL_S)
            ledger.record_unconfirmed(job.id, waited_s=waited_s, look_again_s=look_again_s, attempt=job.attempt)
            return Pending(look_again_s)
        # Not listed long after the request could have arrived: it never did. Send it, same key.
        submission = ledger.record_resend(submission)
    else:
        if message := sunset_message(settings.video_model):
            raise FallbackNeeded(message, kind=FallbackKind.SUNSET)
        if reason := open_breaker_reason(settings.video_api_base_url, settings.video_model):
            raise FallbackNeeded(reason, kind=FallbackKind.BREAKER)
        if state.submissions >= MAX_SUBMISSIONS_PER_JOB:
            raise FallbackNeeded(
                f"server lost the job {state.submissions} times; not paying again", kind=FallbackKind.FORGOTTEN
            )
        try:
            submission = ledger.record_intent(job.id, job.prompt_hash, settings, job.attempt)
        except IntegrityError:
            raise FallbackNeeded("another worker recorded this submission first", kind=FallbackKind.PERMANENT) from None
        if isinstance(submission, SharedVideo):
            return submission
        if isinstance(submission, TwinInFlight):
            looks = ledger.record_twin_wait(job.id, submission.job_id, job.attempt)
            return Pending(_poll_delay(None, looks))
    try:
        remote = api.create(
            prompt=job.prompt,
            model=submission.model,
            seconds=settings.video_seconds,
            size=settings.video_size,
            idempotency_key=submission.idempotency_key,
        )
    except FallbackNeeded:
        ledger.close_unsent(submission, SubmissionOutcome.REJECTED)
        raise
    except RemoteRetryable as exc:
        if not exc.reached_server:  # refused before anything was created: nothing to look up later
            ledger.close_unsent(submission, SubmissionOutcome.UNSENT)
        raise
    _confirm(submission, remote, SubmissionOutcome.CREATED, job, settings)
    return remote


def _sent(job: ClaimedJob, submission, settings: Settings) -> SentCreate:
    """The lost create as the server would list it, and the window it could have arrived in."""
    skew = timedelta(seconds=LOOKUP_CLOCK_SKEW_S)
    settle = timedelta(seconds=create_settle_s(settings))
    since, until = submission.intent_at - skew, submission.intent_at + settle + skew
    return SentCreate(
        prompt=job.prompt,
        model=submission.model,
        seconds=settings.video_seconds,
        size=settings.video_size,
        intent_at=submission.intent_at,
        since=since,
        until=until,
        taken_ids=ledger.remote_ids_since(since - settle),
    )


def create_settle_s(settings: Settings) -> float:
    """How long after a create with unknown outcome it must appear in the list if it arrived."""
    return 2 * settings.video_api_timeout_s + CREATE_SETTLE_MARGIN_S


def _confirm(submission, remote: RemoteVideo, by: SubmissionOutcome, job: ClaimedJob, settings: Settings) -> None:
    ledger.confirm(submission, remote, by=by, attempt=job.attempt, settings=settings)


def _poll_delay(hint_s: float | None, polls_so_far: int) -> float:
    if hint_s is None:
        hint_s = DEFAULT_FIRST_POLL_S * 2 ** min(polls_so_far, 6)
    return min(max(hint_s, MIN_POLL_S), MAX_POLL_S)


def _poster(api: VideosApi, video_id: str, video: Path, destination: Path) -> Path | None:
    """The server's thumbnail when its bytes really are an image, else a still from the video itself
    (some gateways answer the thumbnail request with the MP4). A poster never fails the job: None
    leaves it to the local drawing."""
    try:
        if is_image(api.download(video_id, destination, variant="thumbnail")):
            return destination
        log.info("remote video %s: the thumbnail is not an image; the poster is a still of the video", video_id)
    except Exception as exc:  # no thumbnail on this server
        log.info("remote video %s: no thumbnail (%s); the poster is a still of the video", video_id, type(exc).__name__)
    try:
        return still_from_video(video, destination)
    except Exception as exc:  # the probe that follows says what is wrong with the video
        log.warning("remote video %s: no still could be taken from the video: %s", video_id, type(exc).__name__)
        return None
