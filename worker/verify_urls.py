"""`spendsense-video verify-urls`: the plan's "all URLs return 200" check, automated.

For every trace in TRACE_DIR (or the users named), every video, poster and
captions URL is requested as a viewer's browser would. A video is probed from
the bytes fetched (duration, resolution, codec), so a 200 that carries an error
page or a truncated file still fails. `file://` URLs are read from disk.
"""

from __future__ import annotations

import json
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from worker.db.models import utcnow
from worker.errors import InvalidVideoFile
from worker.render.probe import check_deliverable, probe_video
from worker.settings import Settings
from worker.trace_files import recommendations_of
from worker.traces import trace_path

#: What each kind of URL must serve.
EXPECTED_TYPES = {"video": "video/mp4", "poster": "image/jpeg", "captions": "text/vtt"}
#: A URL that stops working sooner than this is flagged.
EXPIRY_WARNING = timedelta(days=1)
REQUEST_TIMEOUT_S = 30


@dataclass(frozen=True)
class UrlCheck:
    user_id: str
    kind: str
    status: str
    content_type: str
    size_bytes: int | None
    detail: str
    expires_soon: bool
    ok: bool


def verify_traces(settings: Settings, user_ids: list[str] | None = None) -> list[UrlCheck]:
    paths = [trace_path(user, settings) for user in user_ids] if user_ids else sorted(settings.trace_dir.glob("*.json"))
    rows: list[UrlCheck] = []
    for path in paths:
        try:
            trace = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            rows.append(UrlCheck(path.stem, "trace", "unreadable", "-", None, type(exc).__name__, False, False))
            continue
        user_id = str(trace.get("user_id", path.stem))
        for rec in recommendations_of(trace):
            if isinstance(rec, dict) and rec.get("video_status") == "completed":
                rows.extend(_check_recommendation(user_id, rec))
    return rows


def _check_recommendation(user_id: str, rec: dict) -> list[UrlCheck]:
    metadata = rec.get("video_metadata") or {}
    expires_at = metadata.get("video_url_expires_at")
    soon = bool(expires_at and datetime.fromisoformat(expires_at) - utcnow() < EXPIRY_WARNING)
    urls = {
        "video": rec.get("video_url"),
        "poster": metadata.get("poster_url"),
        "captions": metadata.get("captions_url"),
    }
    if not urls["video"]:  # the poster tier: a still, no video and no captions
        urls = {"poster": urls["poster"]}
    return [check_url(user_id, kind, url, soon) for kind, url in urls.items()]


def check_url(user_id: str, kind: str, url: str | None, expires_soon: bool = False) -> UrlCheck:
    if not url:
        return UrlCheck(user_id, kind, "missing", "-", None, "no URL in the trace", expires_soon, False)
    try:
        status, content_type, body = _fetch(url)
    except (OSError, urllib.error.URLError) as exc:
        return UrlCheck(user_id, kind, "unreachable", "-", None, type(exc).__name__, expires_soon, False)
    ok = status in ("200", "file") and (content_type in (EXPECTED_TYPES[kind], "-"))
    detail = ""
    if ok and kind == "video":
        ok, detail = _probe(body)
    return UrlCheck(user_id, kind, status, content_type, len(body), detail, expires_soon, ok)


def render_rows(rows: list[UrlCheck]) -> str:
    header = (
        f"{'user':<14} {'kind':<8} {'status':<11} {'type':<11} {'size':>9}  {'video':<24} {'expires<1d':<10} result"
    )
    lines = [header]
    for row in rows:
        size = (
            "-"
            if row.size_bytes is None
            else (f"{row.size_bytes} B" if row.size_bytes < 10_240 else f"{row.size_bytes / 1024:.0f} KiB")
        )
        lines.append(
            f"{row.user_id[:14]:<14} {row.kind:<8} {row.status:<11} {row.content_type[:11]:<11} {size:>9}  "
            f"{row.detail[:24]:<24} {'yes' if row.expires_soon else 'no':<10} {'ok' if row.ok else 'FAIL'}"
        )
    return "\n".join(lines)


def _fetch(url: str) -> tuple[str, str, bytes]:
    if url.startswith("file://"):
        return "file", "-", Path(urlsplit(url).path).read_bytes()
    request = urllib.request.Request(url, headers={"User-Agent": "spendsense-video verify-urls"})
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            return str(response.status), response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as exc:
        return str(exc.code), exc.headers.get_content_type(), b""


def _probe(body: bytes) -> tuple[bool, str]:
    with tempfile.NamedTemporaryFile(suffix=".mp4") as handle:
        handle.write(body)
        handle.flush()
        try:
            probe = check_deliverable(probe_video(Path(handle.name)))
        except InvalidVideoFile as exc:
            return False, str(exc)[:24]
    return True, f"{probe.duration_seconds:g} s {probe.width}x{probe.height}"
