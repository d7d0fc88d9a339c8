"""Trace files on disk: the engine's JSON format, atomic replacement, and the lock writers share.

Kept apart from `worker.traces` (which reads the database) so the engine's hooks can write a
trace without importing any database code: a user without a video costs the engine nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from worker.storage.scratch import safe_filename

#: How long a writer waits for another process holding the trace file's lock.
TRACE_LOCK_TIMEOUT_S = 30
#: Trace files are read by the engine's other tools: owner writes, everyone reads.
TRACE_FILE_MODE = 0o644
#: Where the trace locks live, inside the trace directory.
LOCK_DIR_NAME = ".video-locks"


def trace_file(user_id: str, trace_dir: Path) -> Path:
    """Where a user's trace lives: `<trace_dir>/<user_id>.json`, the id made safe as a file name."""
    return trace_dir / f"{safe_filename(user_id)}.json"


def recommendations_of(trace: dict[str, Any]) -> list[Any]:
    """The engine keeps recommendations at trace["recommendations"]["recommendations"]."""
    block = trace.get("recommendations")
    if isinstance(block, dict):
        block = block.get("recommendations")
    return block if isinstance(block, list) else []


class TraceLockTimeout(TimeoutError):
    """The trace file's lock was not granted in time: another writer held it for longer than the
    caller would wait, or the file system cannot lock at all."""


@contextmanager
def trace_write_lock(path: Path, timeout_s: float = TRACE_LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the lock every writer of one trace file takes (the worker, and the engine via save_trace).

    An exclusive `flock` on a file in a hidden `.video-locks` folder of the trace directory, out
    of the engine's way; the kernel drops it if the holder dies. Taken directly rather than through
    the `filelock` package, whose bookkeeping costs about 0.3 ms an acquire: a tenth of what a
    whole hook call may add to the engine's request.

    Raises:
        TraceLockTimeout: still held by another writer after `timeout_s`.
    """
    locks = path.parent / LOCK_DIR_NAME
    try:
        locks.mkdir(exist_ok=True)
        descriptor = os.open(locks / f"{path.name}.lock", os.O_RDWR | os.O_CREAT, TRACE_FILE_MODE)
    except OSError as exc:
        raise TraceLockTimeout(f"the trace lock file cannot be opened ({exc.strerror})") from exc
    try:
        _wait_for_flock(descriptor, time.monotonic() + timeout_s)
        yield
    finally:
        os.close(descriptor)  # closing the only descriptor releases the lock


def _wait_for_flock(descriptor: int, deadline: float) -> None:
    """Poll for the lock until `deadline`. A file system that cannot lock at all (NFS without lockd,
    some FUSE mounts) counts as a lock never granted: the caller writes without it, as on a timeout."""
    pause = 0.001
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except (BlockingIOError, PermissionError):  # held by another writer (EACCES on some systems)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TraceLockTimeout("the trace file is locked by another writer") from None
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.05)
        except OSError as exc:
            raise TraceLockTimeout(f"the trace file cannot be locked here ({exc.strerror})") from exc


def trace_json(payload: Any) -> str:
    """A trace exactly as SpendSense's `_save_trace` writes one (`json.dump(trace, f, indent=2)`)."""
    return json.dumps(payload, indent=2, default=str)


def write_json_atomically(path: Path, payload: Any, *, durable: bool = True) -> None:
    """Replace `path` in one rename, so a reader never sees half a file; `durable` also fsyncs it first."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(trace_json(payload))
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(temporary, TRACE_FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
