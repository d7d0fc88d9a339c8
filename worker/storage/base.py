"""What every object store is: put a verified file under its key, mint a URL for a key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class MintedUrl:
    """A URL a viewer can open, and when it stops working (None: it does not expire)."""

    url: str
    expires_at: datetime | None = None


class ObjectStore(Protocol):
    """Content-addressed objects: written once, verified, never changed."""

    #: True when minted URLs stop working (presigned); traces must then be rewritten in time.
    @property
    def urls_expire(self) -> bool: ...

    def put(self, source: Path, key: str, sha256: str) -> None:
        """Store `source` as `key` unless an object of that size and hash is there already.

        Raises:
            StorageUnavailable: the object could not be written or did not verify (transient).
        """

    def url(self, key: str) -> MintedUrl: ...
