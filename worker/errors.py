"""The errors that decide what happens to a job.

`TransientVideoError` is the only error Celery retries (with backoff). A
`PermanentVideoError` ends the tier that raised it: the fallback chain moves on
to the next tier (`FallbackNeeded` says why, as a `FallbackKind`), except for
`InvalidVideoInput`, which no tier can help and fails the job at once.
"""

from enum import StrEnum


class VideoJobError(Exception):
    """Base for errors raised on purpose by the video pipeline."""


class TransientVideoError(VideoJobError):
    """Might succeed if tried again later: a busy disk, a flaky network, a bad download."""


class PermanentVideoError(VideoJobError):
    """Will fail the same way every time on this tier: a refused prompt, an unsupported request."""


class InvalidVideoInput(PermanentVideoError):
    """The recommendation or user context cannot be turned into a video."""


class InvalidVideoFile(TransientVideoError):
    """A produced file is not a playable 720p H.264 MP4 of the expected length."""


class RemoteRetryable(TransientVideoError):
    """The video server could not answer now (timeout, connection, 429, 5xx, malformed reply).

    `retry_after_s` carries the server's Retry-After hint when it gave one;
    `reached_server` is False only when the request certainly created nothing
    (connection refused, 429), which lets a create be sent again at once.
    """

    def __init__(self, message: str, retry_after_s: float | None = None, *, reached_server: bool = True) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.reached_server = reached_server


class RemoteJobForgotten(VideoJobError):
    """The server answered 404 for a job id it gave us (it restarted and lost its jobs)."""


class FallbackKind(StrEnum):
    """Why a job left a tier."""

    PERMANENT = "permanent"  # the tier refused this job for good
    GONE = "gone"  # the endpoint or model is gone (the breaker opens)
    BREAKER = "breaker"  # skipped: the breaker is open
    SUNSET = "sunset"  # the model is past its shutdown date
    DEADLINE = "deadline"  # the remote job did not finish in time
    FAILED = "failed"  # the server reports the job failed
    EXPIRED = "expired"  # the content expired before it was downloaded
    FORGOTTEN = "forgotten"  # the server lost the job twice; not paying a third time
    EXHAUSTED = "exhausted"  # temporary errors outlasted the retries
    BUDGET = "budget"  # the spending cap would be exceeded


class FallbackNeeded(PermanentVideoError):
    """A clear terminal verdict for this tier: move on to the next one.

    `kind` names the verdict for events, traces and dashboards.
    """

    def __init__(self, message: str, kind: FallbackKind) -> None:
        super().__init__(message)
        self.kind = FallbackKind(kind)


class RemoteGone(FallbackNeeded):
    """The model or endpoint was removed (404/410 on create, model not found): the breaker opens."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind=FallbackKind.GONE)


class NoVideoAvailable(VideoJobError):
    """Every tier of the fallback chain failed; the recommendation stays text only."""


class MessageLost(VideoJobError):
    """The broker lost a job's message more than `VIDEO_MAX_ENQUEUES` times (restarted, flushed, workers killed)."""


class AttemptsExhausted(VideoJobError):
    """A job started too many attempts that never recorded a result (their workers died)."""


class StorageUnavailable(TransientVideoError):
    """The video exists but could not be kept: a full disk, a permission error, an unreachable object store."""
