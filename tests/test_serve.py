"""`spendsense-video serve` over real HTTP: stored objects with ranges and caching, nothing else, and the
preview page."""

from __future__ import annotations

import base64
import http.client
import os
from urllib.parse import urlsplit

import pytest

from engine_hooks import enqueue_videos
from tests.asgi_server import serving
from tests.factories import OUTCOME, queued_job
from tests.storyboards import card_context
from worker.jobs import leases, recorder
from worker.settings import reload_settings
from worker.storage import get_store, store_file
from worker.storage.keys import CACHE_CONTROL
from worker.web.app import create_app

ORIGIN = "https://app.spendsense.example"
AUTH = "support:open-sesame"


def request(base: str, path: str, method: str = "GET", **headers: str) -> tuple[int, http.client.HTTPMessage, bytes]:
    """Send `path` exactly as written (no client-side normalisation of `..` or escapes)."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


@pytest.fixture
def served(sqlite_configured, monkeypatch, tmp_path):
    monkeypatch.setenv("VIDEO_CORS_ORIGINS", f"{ORIGIN}, https://other.example")
    monkeypatch.setenv("VIDEO_PREVIEW_AUTH", AUTH)
    settings = reload_settings()
    source = tmp_path / "clip.mp4"
    source.write_bytes(bytes(range(256)) * 64)
    key = store_file(source, get_store(settings))
    with serving(create_app(settings)) as base:
        yield base, key, source.read_bytes(), settings


def test_a_stored_object_answers_200_with_type_cache_and_etag(served):
    base, key, content, _ = served
    status, headers, body = request(base, f"/{key}")
    assert (status, body) == (200, content)
    assert headers["content-type"] == "video/mp4" and headers["cache-control"] == CACHE_CONTROL
    assert headers["etag"] == f'"{key.split("/")[1].split(".")[0]}"' and headers["accept-ranges"] == "bytes"
    status, headers, body = request(base, f"/{key}", method="HEAD")
    assert (status, body, headers["content-length"]) == (200, b"", str(len(content)))
    status, _, _ = request(base, f"/{key}", **{"If-None-Match": headers["etag"]})
    assert status == 304


def test_byte_ranges_answer_206_so_browsers_can_seek(served):
    base, key, content, _ = served
    status, headers, body = request(base, f"/{key}", Range="bytes=1000-1999")
    assert (status, body) == (206, content[1000:2000])
    assert headers["content-range"] == f"bytes 1000-1999/{len(content)}"


def test_cors_only_for_listed_origins(served):
    base, key, _, _ = served
    _, headers, _ = request(base, f"/{key}", Origin=ORIGIN)
    assert headers["access-control-allow-origin"] == ORIGIN
    _, headers, _ = request(base, f"/{key}", Origin="https://evil.example")
    assert "access-control-allow-origin" not in headers


@pytest.mark.parametrize(
    "path",
    [
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/ab/..%2f..%2fetc%2fpasswd",
        "/ab/abc.mp4",
        "/00/" + "0" * 64 + ".mp4",
        "/zz/" + "z" * 64 + ".mp4",
        "/.work-x/video.mp4",
        "/etc/passwd",
    ],
)
def test_anything_but_a_stored_content_hash_is_404(served, path):
    base, _, _, _ = served
    assert request(base, path)[0] == 404


def test_a_symlink_out_of_the_storage_directory_is_404(served, tmp_path):
    base, key, _, settings = served
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    shard = "ee"
    name = shard + "e" * 62 + ".mp4"
    (settings.video_storage_dir / shard).mkdir()
    os.symlink(secret, settings.video_storage_dir / shard / name)
    assert request(base, f"/{shard}/{name}")[0] == 404
    os.symlink(tmp_path, settings.video_storage_dir / "ff")
    (tmp_path / ("ff" + "f" * 62 + ".mp4")).write_bytes(b"outside")
    assert request(base, f"/ff/{'ff' + 'f' * 62}.mp4")[0] == 404


def _basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def test_the_preview_page_refuses_anonymous_visitors(served):
    base, _, _, _ = served
    status, headers, _ = request(base, "/")
    assert status == 401 and headers["www-authenticate"].startswith("Basic")
    assert request(base, "/", Authorization=_basic("support:wrong"))[0] == 401


def test_the_preview_page_is_off_without_credentials_configured(sqlite_configured, monkeypatch):
    monkeypatch.delenv("VIDEO_PREVIEW_AUTH", raising=False)
    with serving(create_app(reload_settings())) as base:
        status, _, body = request(base, "/", Authorization=_basic(AUTH))
    assert status == 503 and b"VIDEO_PREVIEW_AUTH" in body


def test_the_preview_page_shows_each_users_video_figures_and_log_but_no_internals(served):
    base, _, _, settings = served
    recs = [{"topic": "credit_utilization"}]
    [job_id] = enqueue_videos("user_0034", "High Utilization", recs, card_context(14_215, 15_000, mask="2385"))
    leases.claim(job_id, retries=0, lease_s=60)
    recorder.complete(job_id, OUTCOME, attempt=1)
    failed = queued_job("user_0666")
    recorder.fail(
        failed, RuntimeError("postgresql://admin:sk-secret-key@db.internal:5432/prod /srv/app/x.py"), attempt=1
    )
    status, _, body = request(base, "/", Authorization=_basic(AUTH))
    page = body.decode()
    assert status == 200
    assert "user_0034" in page and "•••• 2385" in page and "$14,215" in page and "$9,715" in page
    assert "user_0666" in page and "RuntimeError" in page
    for internal in ("sk-secret-key", "db.internal", "/srv/app", "postgresql://"):
        assert internal not in page
    assert page.index("user_0666") < page.index("user_0034"), "newest first"
    assert "<form" not in page.lower()
