"""Trace files on disk: the engine's JSON format, atomic replacement, and the lock writers share.

Kept apart from `worker.traces` (which reads the database) so the engine's hooks can write a
trace without importing any database code: a user without a video costs the engine nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from filelock import FileLock

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


def trace_write_lock(path: Path, timeout_s: float = TRACE_LOCK_TIMEOUT_S) -> FileLock:
    """The lock every writer of one trace file holds (the worker, and the engine via save_trace).

    Lock files live in a hidden `.video-locks` folder of the trace directory, out of the engine's way.
    """
    locks = path.parent / LOCK_DIR_NAME
    locks.mkdir(exist_ok=True)
    return FileLock(str(locks / f"{path.name}.lock"), timeout=timeout_s)


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
