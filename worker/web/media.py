"""Stored objects over HTTP for the file backend: content-hash names only, with ranges, caching and CORS.

Only a name `KEY_PATTERN` accepts is looked up, so `../`, encoded traversal and
any other file in the directory answer 404; a symlink is never followed out of
the storage directory. Names are content hashes, so responses are immutable and
their ETag is the hash itself.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from worker.storage.keys import CACHE_CONTROL, KEY_PATTERN, content_type, key_sha256


def stored_object(root: Path):
    """The endpoint serving `root/<shard>/<sha256>.<ext>`."""
    resolved_root = root.resolve()

    async def endpoint(request: Request) -> Response:
        key = f"{request.path_params['shard']}/{request.path_params['name']}"
        path = _safe_path(resolved_root, key)
        if path is None:
            return PlainTextResponse("not found", status_code=404)
        etag = f'"{key_sha256(key)}"'
        headers = {"etag": etag, "cache-control": CACHE_CONTROL, "x-content-type-options": "nosniff"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return FileResponse(path, media_type=content_type(key), headers=headers)

    return endpoint


def _safe_path(root: Path, key: str) -> Path | None:
    if not KEY_PATTERN.fullmatch(key):
        return None
    path = root / key
    if path.is_symlink() or not path.is_file() or not path.resolve().is_relative_to(root):
        return None
    return path
