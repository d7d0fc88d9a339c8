"""The embedded default: objects are files under VIDEO_STORAGE_DIR, served by `spendsense-video serve`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from worker.errors import StorageUnavailable
from worker.storage.base import MintedUrl
from worker.storage.scratch import file_sha256


class FileStore:
    """`root/ab/abcd….mp4`; URLs are `VIDEO_PUBLIC_BASE_URL/<key>`, or file:// when nothing serves them."""

    urls_expire = False

    def __init__(self, root: Path, *, public_base_url: str = "") -> None:
        self.root, self.public_base_url = root, public_base_url

    def path(self, key: str) -> Path:
        return self.root / key

    def put(self, source: Path, key: str, sha256: str) -> None:
        target = self.path(key)
        if target.exists() and target.stat().st_size == source.stat().st_size:
            return
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, partial)
            if file_sha256(partial) != sha256:
                raise StorageUnavailable(f"stored copy of {key} does not match its hash")
            os.replace(partial, target)
        except OSError as exc:
            raise StorageUnavailable(f"could not store {key}: {exc.strerror or exc}") from exc
        finally:
            partial.unlink(missing_ok=True)

    def url(self, key: str) -> MintedUrl:
        if self.public_base_url:
            return MintedUrl(f"{self.public_base_url}/{key}")
        return MintedUrl(self.path(key).resolve().as_uri())
