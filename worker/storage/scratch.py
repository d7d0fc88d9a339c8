"""Local files around storage: render scratch folders, hashing, and safe file names.

Every worker renders and downloads into a scratch folder under its own
VIDEO_STORAGE_DIR, whatever the backend; only finished, probed files are
handed to the object store. No user data ever becomes part of a path;
`safe_filename` is for the few places (trace files) where a user id must name
a file.
"""

from __future__ import annotations

import errno
import hashlib
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from worker.errors import StorageUnavailable

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
#: Scratch folders for renders and downloads sit in storage (same filesystem: the copy in is cheap).
SCRATCH_PREFIX = ".work-"
#: errno values that mean the disk cannot keep files now: an operator fixes these, not a lower tier.
_STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})
#: How much of a file is hashed per read.
_CHUNK_BYTES = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def safe_filename(name: str) -> str:
    """A single path component for `name` that cannot escape its directory.

    Characters other than letters, digits, `_`, `-` and `.` become `_`, leading
    dots are dropped, and a short hash keeps two altered names from colliding.
    """
    cleaned = _UNSAFE.sub("_", name).lstrip(".")[:100]
    if cleaned == name and cleaned:
        return cleaned
    return f"{cleaned or 'id'}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


@contextmanager
def scratch_directory(root: Path) -> Iterator[Path]:
    """A folder a provider writes into; removed afterwards (unless the worker is killed, see below).

    A write that fails because storage is full, over quota, read-only or not ours raises
    `StorageUnavailable`: the job waits for storage, since no lower tier could write either.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=root, prefix=SCRATCH_PREFIX) as directory:
            yield Path(directory)
    except OSError as exc:
        if exc.errno not in _STORAGE_ERRNOS:
            raise
        raise StorageUnavailable(f"storage error: {exc.strerror or exc}") from exc


def remove_abandoned_scratch(root: Path, older_than_s: float) -> int:
    """Delete render scratch folders and partial copies a killed worker left behind; returns how many.

    SIGKILL skips every cleanup, so these would pile up in storage. Only entries untouched for
    `older_than_s` go: pass more than the task time limit, which ends any live render sooner.
    """
    cutoff = time.time() - older_than_s
    removed = 0
    for leftover in [*root.glob(f"{SCRATCH_PREFIX}*"), *root.glob("*/.*.partial")]:
        try:
            if leftover.lstat().st_mtime >= cutoff:
                continue
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
            removed += 1
        except FileNotFoundError:  # another reconciler got there first
            continue
    return removed
