"""Storage backends: content-addressed objects, verified uploads, URLs, and names that cannot escape."""

from __future__ import annotations

import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

import boto3
import pytest

from worker.errors import StorageUnavailable
from worker.settings import get_settings, reload_settings
from worker.storage import file_sha256, get_store, safe_filename, store_file
from worker.storage.files import FileStore
from worker.storage.keys import CACHE_CONTROL, KEY_PATTERN, object_key
from worker.storage.s3 import S3Store


@pytest.fixture
def settings(monkeypatch, tmp_path):
    monkeypatch.setenv("VIDEO_STORAGE_DIR", str(tmp_path / "store"))
    monkeypatch.delenv("VIDEO_PUBLIC_BASE_URL", raising=False)
    monkeypatch.delenv("VIDEO_STORAGE_URL", raising=False)
    yield reload_settings()
    get_settings.cache_clear()


def _file(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def fetch(url: str, **headers: str) -> tuple[int, Message, bytes]:
    """GET `url`; the headers compare without regard to case."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


# -- the file backend (embedded default) -----------------------------------------------------------
def test_files_are_named_by_content_and_stored_once(settings, tmp_path):
    store = get_store(settings)
    first = store_file(_file(tmp_path / "a.mp4", b"video-bytes"), store)
    second = store_file(_file(tmp_path / "b.mp4", b"video-bytes"), store)
    assert first == second == object_key(file_sha256(tmp_path / "a.mp4"), ".mp4")
    assert KEY_PATTERN.fullmatch(first)
    assert len(list(settings.video_storage_dir.rglob("*.mp4"))) == 1
    minted = store.url(first)
    assert minted.url == (settings.video_storage_dir / first).as_uri() and minted.expires_at is None


def test_public_base_url_builds_http_urls(monkeypatch, tmp_path):
    monkeypatch.setenv("VIDEO_STORAGE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("VIDEO_PUBLIC_BASE_URL", "https://cdn.example.com/v/")
    store = get_store(reload_settings())
    key = store_file(_file(tmp_path / "a.mp4", b"x"), store)
    get_settings.cache_clear()
    assert store.url(key).url == f"https://cdn.example.com/v/{key}"


def test_a_failed_write_is_transient_and_leaves_no_partial_file(tmp_path):
    root = tmp_path / "store"
    store = FileStore(root)
    source = _file(tmp_path / "a.mp4", b"video")
    key = object_key(file_sha256(source), ".mp4")
    (root / key[:2]).mkdir(parents=True)
    (root / key).mkdir()  # something in the way: the rename fails
    with pytest.raises(StorageUnavailable, match="could not store"):
        store.put(source, key, file_sha256(source))
    assert not list(root.rglob("*.partial"))


def test_a_copy_that_does_not_match_its_hash_is_refused(tmp_path):
    store = FileStore(tmp_path / "store")
    source = _file(tmp_path / "a.mp4", b"video")
    with pytest.raises(StorageUnavailable, match="does not match"):
        store.put(source, object_key("0" * 64, ".mp4"), "0" * 64)
    assert not list((tmp_path / "store").rglob("*.mp4")) and not list((tmp_path / "store").rglob("*.partial"))


# -- the S3 backend, against a real S3 API ------------------------------------------------------------
def test_s3_objects_are_private_typed_immutable_and_verified(settings, s3, tmp_path):
    store = get_store(reload_settings())
    assert isinstance(store, S3Store)
    key = store_file(_file(tmp_path / "v.mp4", b"\x00video" * 1000), store)
    head = boto3.client("s3").head_object(Bucket="videos", Key=f"spendsense/{key}")
    assert (head["ContentType"], head["CacheControl"]) == ("video/mp4", CACHE_CONTROL)
    assert head["Metadata"]["sha256"] == file_sha256(tmp_path / "v.mp4")
    status, _, _ = fetch(f"{s3}/videos/spendsense/{key}")
    assert status == 403, "objects are never public"


def test_s3_presigned_urls_play_with_ranges(settings, s3, tmp_path):
    store = get_store(reload_settings())
    content = bytes(range(256)) * 40
    key = store_file(_file(tmp_path / "v.mp4", content), store)
    minted = store.url(key)
    assert minted.expires_at is not None and "X-Amz-Signature" in minted.url
    status, headers, body = fetch(minted.url)
    assert (status, headers["Content-Type"], body) == (200, "video/mp4", content)
    status, headers, body = fetch(minted.url, Range="bytes=100-199")
    assert (status, body) == (206, content[100:200])


def test_s3_re_upload_of_the_same_content_sends_nothing(settings, s3, tmp_path):
    store = get_store(reload_settings())
    puts = []
    store.client.meta.events.register("before-call.s3.PutObject", lambda **kwargs: puts.append(1))
    first = store_file(_file(tmp_path / "a.mp4", b"same"), store)
    second = store_file(_file(tmp_path / "b.mp4", b"same"), store)
    assert first == second and len(puts) == 1
    listed = boto3.client("s3").list_objects_v2(Bucket="videos")["Contents"]
    assert [obj["Key"] for obj in listed] == [f"spendsense/{first}"]


def test_an_unreachable_object_store_is_a_transient_error(settings, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    store = S3Store("videos", client=boto3.client("s3", endpoint_url="http://127.0.0.1:9", region_name="us-east-1"))
    with pytest.raises(StorageUnavailable, match="could not store"):
        store_file(_file(tmp_path / "a.mp4", b"x"), store)


def test_a_public_base_url_replaces_presigning(settings, s3, monkeypatch, tmp_path):
    monkeypatch.setenv("VIDEO_PUBLIC_BASE_URL", "https://cdn.example.com")
    store = get_store(reload_settings())
    key = store_file(_file(tmp_path / "a.jpg", b"jpeg"), store)
    assert store.url(key).url == f"https://cdn.example.com/spendsense/{key}"
    assert store.url(key).expires_at is None


@pytest.mark.parametrize("value", ["s3:/bucket", "gs://bucket", "s3://", "/tmp/videos"])
def test_a_bad_storage_url_is_refused_at_start_up(monkeypatch, value):
    from worker.settings import SettingsError

    monkeypatch.setenv("VIDEO_STORAGE_URL", value)
    with pytest.raises(SettingsError, match="VIDEO_STORAGE_URL"):
        reload_settings()
    get_settings.cache_clear()


# -- names ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("user_id", ["../../etc", "..", "/etc/passwd", "a/b\\c", ".hidden", "user 0001", "ü\x00"])
def test_user_ids_never_escape_the_directory(tmp_path, user_id):
    name = safe_filename(user_id)
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert (tmp_path / name).resolve().parent == tmp_path.resolve()


def test_ordinary_ids_are_kept_and_altered_ids_do_not_collide():
    assert safe_filename("user_0001") == "user_0001"
    assert safe_filename("a/b") != safe_filename("a_b")
    assert safe_filename("a/b") != safe_filename("a\\b")


def test_urls_are_signed_for_the_address_viewers_use(settings, s3, monkeypatch, tmp_path):
    viewer_endpoint = s3.replace("127.0.0.1", "localhost")
    monkeypatch.setenv("VIDEO_S3_PRESIGN_ENDPOINT_URL", viewer_endpoint)
    store = get_store(reload_settings())
    key = store_file(_file(tmp_path / "a.mp4", b"video"), store)
    url = store.url(key).url
    assert url.startswith(f"{viewer_endpoint}/videos/spendsense/{key}?")
    assert fetch(url)[0] == 200
