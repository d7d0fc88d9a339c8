"""Where finished videos, posters and captions live: an object store behind one small interface.

`VIDEO_STORAGE_URL` picks the backend: empty (the embedded default) keeps files
under VIDEO_STORAGE_DIR; `s3://bucket/prefix` writes to any S3-compatible store
(AWS S3, Cloudflare R2, MinIO, Railway buckets). Objects are named by their
content (`keys.object_key`), so a re-delivered job uploads nothing new. A job
records each object's key; URLs are minted from keys whenever a trace is written
(`urls.job_urls`), so a presigned URL is always fresh.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from worker.settings import Settings
from worker.storage.base import MintedUrl, ObjectStore
from worker.storage.keys import object_key
from worker.storage.scratch import (
    SCRATCH_PREFIX,
    file_sha256,
    remove_abandoned_scratch,
    safe_filename,
    scratch_directory,
)


def store_file(source: Path, store: ObjectStore) -> str:
    """Put a finished file into the store under its content hash; returns its key."""
    digest = file_sha256(source)
    key = object_key(digest, source.suffix)
    store.put(source, key, digest)
    return key


def get_store(settings: Settings) -> ObjectStore:
    """The configured backend (one per configuration and process: an S3 client is worth keeping)."""
    return _store(
        settings.video_storage_url,
        settings.video_storage_dir,
        settings.video_public_base_url,
        settings.video_url_ttl_s,
        settings.video_s3_presign_endpoint_url,
    )


@lru_cache(maxsize=8)
def _store(
    storage_url: str, storage_dir: Path, public_base_url: str, url_ttl_s: int, presign_endpoint_url: str
) -> ObjectStore:
    if storage_url.startswith("s3://"):
        from worker.storage.s3 import S3Store

        return S3Store.from_url(
            storage_url, public_base_url=public_base_url, url_ttl_s=url_ttl_s, presign_endpoint_url=presign_endpoint_url
        )
    from worker.storage.files import FileStore

    return FileStore(storage_dir, public_base_url=public_base_url)


__all__ = [
    "SCRATCH_PREFIX",
    "MintedUrl",
    "ObjectStore",
    "file_sha256",
    "get_store",
    "object_key",
    "remove_abandoned_scratch",
    "safe_filename",
    "scratch_directory",
    "store_file",
]
