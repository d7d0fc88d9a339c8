"""Storage: content-addressed names, URLs, and user ids that cannot escape a directory."""

from pathlib import Path

import pytest

from worker.settings import get_settings, reload_settings
from worker.storage import file_sha256, safe_filename, store_video


@pytest.fixture
def settings(monkeypatch, tmp_path):
    monkeypatch.setenv("VIDEO_STORAGE_DIR", str(tmp_path / "store"))
    monkeypatch.delenv("VIDEO_PUBLIC_BASE_URL", raising=False)
    yield reload_settings()
    get_settings.cache_clear()


def _file(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def test_files_are_named_by_content_and_stored_once(settings, tmp_path):
    first = store_video(_file(tmp_path / "a.mp4", b"video-bytes"), _file(tmp_path / "p.jpg", b"poster"), settings)
    second = store_video(_file(tmp_path / "b.mp4", b"video-bytes"), None, settings)
    assert first.path == second.path
    assert first.path.name == f"{file_sha256(tmp_path / 'a.mp4')}.mp4"
    assert first.path.is_relative_to(settings.video_storage_dir)
    assert len(list(settings.video_storage_dir.rglob("*.mp4"))) == 1
    assert first.url == first.path.as_uri() and first.url.startswith("file://")
    assert first.poster_url.endswith(".jpg")


def test_public_base_url_builds_http_urls(monkeypatch, tmp_path):
    monkeypatch.setenv("VIDEO_STORAGE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("VIDEO_PUBLIC_BASE_URL", "https://cdn.example.com/v/")
    settings = reload_settings()
    stored = store_video(_file(tmp_path / "a.mp4", b"x"), None, settings)
    get_settings.cache_clear()
    digest = stored.sha256
    assert stored.url == f"https://cdn.example.com/v/{digest[:2]}/{digest}.mp4"


@pytest.mark.parametrize("user_id", ["../../etc", "..", "/etc/passwd", "a/b\\c", ".hidden", "user 0001", "ü\x00"])
def test_user_ids_never_escape_the_directory(tmp_path, user_id):
    name = safe_filename(user_id)
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert (tmp_path / name).resolve().parent == tmp_path.resolve()


def test_ordinary_ids_are_kept_and_altered_ids_do_not_collide():
    assert safe_filename("user_0001") == "user_0001"
    assert safe_filename("a/b") != safe_filename("a_b")
    assert safe_filename("a/b") != safe_filename("a\\b")
