"""The user's video log as `enqueue_videos` just found or wrote it: the trace save that follows needs no query.

The engine saves its trace a few milliseconds after `enqueue_videos`, which has
just read the user's log (a repeat request) or written the only entry in it (a
user's first job). Each entry is used once, only for a few seconds, and only if
the trace file has not been rewritten since it was remembered (a worker rewrites
it when a job ends, so a job that finished in the meantime is read from the
database); anything else reads the database.
"""

from __future__ import annotations

import threading
import time
from typing import Any

#: How long after queueing a remembered log may stand in for the database.
FRESH_FOR_S = 5.0
#: Entries kept at most (the engine saves right after enqueueing, so a handful are ever used).
LIMIT = 1_000

_logs: dict[str, tuple[float, float, str, list[Any]]] = {}  # user -> (monotonic, wall clock, job id, log)
_lock = threading.Lock()


def remember(user_id: object, job_id: str | None, whole_log: list[Any] | None) -> None:
    """Remember this call's log for the user, replacing any earlier call's (None: nothing known now)."""
    if not isinstance(user_id, str):
        return
    with _lock:
        if job_id is None or whole_log is None:
            _logs.pop(user_id, None)
            return
        if len(_logs) >= LIMIT:
            _logs.clear()
        _logs[user_id] = (time.monotonic(), time.time(), job_id, whole_log)


def take(user_id: object, job_ids: list[str], trace_written_at: float | None) -> list[Any] | None:
    """The user's remembered log, if still fresh, if the trace names only that call's job, and if the
    trace file (last written at `trace_written_at`, epoch seconds; None when there is none) has
    not been rewritten since it was remembered."""
    if not isinstance(user_id, str):
        return None
    with _lock:
        entry = _logs.pop(user_id, None)
    if entry is None:
        return None
    remembered_at, remembered_wall, job_id, whole_log = entry
    if time.monotonic() - remembered_at > FRESH_FOR_S or set(job_ids) != {job_id}:
        return None
    if trace_written_at is not None and trace_written_at >= remembered_wall:
        return None
    return whole_log


def forget() -> None:
    """Drop every remembered log (tests)."""
    with _lock:
        _logs.clear()
