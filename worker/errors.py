"""The errors that decide what happens to a job.

`TransientVideoError` is the only error Celery retries (with backoff); anything
else ends the job at once as failed, with its type and message recorded.
"""

from enum import StrEnum


class VideoJobError(Exception):
    """Base for errors raised on purpose by the video pipeline."""


class TransientVideoError(VideoJobError):
    """Might succeed if tried again later: a busy disk, a flaky network, a bad download."""


class PermanentVideoError(VideoJobError):
    """Will fail the same way every time: bad input, an unsupported request."""


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


class FallbackNeeded(VideoJobError):
    """A clear terminal verdict for this tier: move on to the next one.

    `kind` names the verdict for events, traces and dashboards (`FallbackKind`).
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class NoVideoAvailable(VideoJobError):
    """Every tier of the fallback chain failed; the recommendation stays text only."""


class AttemptsExhausted(VideoJobError):
    """A job started too many attempts that never recorded a result (their workers died)."""


class StorageUnavailable(TransientVideoError):
    """The video exists but could not be kept: a full disk, a permission error, an unreachable object store."""
