"""Object names: a file's sha256 and its kind, e.g. `5e/5e0c…9a.mp4`, and the headers that go with them.

Names are content hashes, so an object never changes once written: it may be
cached for a year, and storing the same file twice (a re-delivered message, two
users with the same figures) keeps one object.
"""

from __future__ import annotations

import re

#: The kinds of object we store, by suffix.
CONTENT_TYPES = {".mp4": "video/mp4", ".jpg": "image/jpeg", ".vtt": "text/vtt"}
#: Names are content hashes, so a stored object never changes.
CACHE_CONTROL = "public, max-age=31536000, immutable"
#: Exactly what `object_key` makes; anything else is not one of our objects.
KEY_PATTERN = re.compile(r"(?P<shard>[0-9a-f]{2})/(?P=shard)[0-9a-f]{62}\.(mp4|jpg|vtt)")


def object_key(sha256: str, suffix: str) -> str:
    """The key of a file with this hash and suffix (".mp4", ".jpg" or ".vtt")."""
    if suffix not in CONTENT_TYPES:
        raise ValueError(f"no object kind for {suffix!r}")
    return f"{sha256[:2]}/{sha256}{suffix}"


def key_sha256(key: str) -> str:
    """The content hash a key names."""
    return key.rsplit("/", 1)[-1].split(".", 1)[0]


def content_type(key: str) -> str:
    return CONTENT_TYPES[key[key.rindex(".") :]]
