"""What the engine is told: one status vocabulary and short, stable error texts.

Every `video_status` the hooks write onto a recommendation is one of
`ENGINE_STATUSES`; every `video_error` is `<code>: <one sentence>` from
`MESSAGES` (or, for `invalid_input`, our own explanation of the input). No host,
port, database name, path or driver text ever reaches the engine: those go to
the operator's log.
"""

from __future__ import annotations

from enum import StrEnum


class EngineStatus(StrEnum):
    QUEUED = "queued"  # a job exists and a worker will make the video
    RUNNING = "running"  # a worker is making it (seen when a trace is saved later)
    COMPLETED = "completed"  # video_url and video_metadata are set
    DEGRADED = "degraded"  # finished with a poster, no video (video_metadata.poster_url); asked again, retried
    FAILED = "failed"  # the job ended without a video; video_error says why
    UNAVAILABLE = "unavailable"  # the video system could not take the job now; the engine's next run retries
    INVALID = "invalid"  # the input cannot make a video; video_error says what is wrong
    NOT_FOUND = "not_found"  # the trace names a job the database does not know


ENGINE_STATUSES = tuple(status.value for status in EngineStatus)

#: code -> the sentence the engine sees. Stable: the engine may branch on the code.
MESSAGES = {
    "database_unavailable": "the video database did not answer in time; no video was queued for this request.",
    "broker_unavailable": "the video queue did not take the job; the next request for this user queues it again.",
    "schema_outdated": "the video database needs `spendsense-video migrate` before videos can be queued.",
    "configuration_invalid": "the video settings are invalid; the worker's start-up message says which.",
    "trace_not_updated": "the video fields of this trace could not be read now; the worker updates the file later.",
    # Written by the trace rewrite (worker.traces) for a job that ended without a video, with its error type.
    "video_failed": "the video could not be made; the job's log has the details.",
}


def error_text(code: str) -> str:
    return f"{code}: {MESSAGES[code]}"


def invalid_text(explanation: str) -> str:
    """Bad input, explained in our own words (never a driver's)."""
    return f"invalid_input: {explanation}"
