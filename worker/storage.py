"""Where finished videos, posters and captions live: content-addressed files under VIDEO_STORAGE_DIR.

Names come from the file's sha256, so storing the same video twice (a
re-delivered message, two users with the same figures) keeps one file. No user
data ever becomes part of a path; `safe_filename` is for the few places (trace
files) where a user id must name a file.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from worker.settings import Settings

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
#: Scratch folders for renders and downloads sit in storage (same filesystem: the copy in is cheap).
SCRATCH_PREFIX = ".work-"
#: How much of a file is hashed per read.
_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class StoredVideo:
    path: Path
    url: str
    sha256: str
    poster_url: str | None


def store_video(video: Path, poster: Path | None, settings: Settings) -> StoredVideo:
    """Copy `video` (and its poster) into storage under their content hashes."""
    digest = file_sha256(video)
    stored = _place(video, digest, ".mp4", settings.video_storage_dir)
    poster_url = store_poster(poster, settings) if poster is not None else None
    return StoredVideo(stored, public_url(stored, settings), digest, poster_url)


def store_poster(poster: Path, settings: Settings) -> str:
    """Copy a poster image (or any file that goes beside a video, such as its captions) into storage; returns its URL."""
    return public_url(_place(poster, file_sha256(poster), poster.suffix, settings.video_storage_dir), settings)


def store_captions(captions: Path, settings: Settings) -> str:
    """Store a WebVTT file beside the videos, named by its content like them; returns its URL."""
    return store_poster(captions, settings)


def public_url(path: Path, settings: Settings) -> str:
    """`VIDEO_PUBLIC_BASE_URL` + the path inside storage, or a file:// URL."""
    if settings.video_public_base_url:
        relative = path.resolve().relative_to(settings.video_storage_dir)
        return f"{settings.video_public_base_url}/{relative.as_posix()}"
    return path.resolve().as_uri()


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
    """A folder a provider writes into; removed afterwards (unless the worker is killed, see below)."""
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=SCRATCH_PREFIX) as directory:
        yield Path(directory)


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


def _place(source: Path, digest: str, suffix: str, root: Path) -> Path:
    target = root / digest[:2] / f"{digest}{suffix}"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    shutil.copyfile(source, partial)
    os.replace(partial, target)
    return target
