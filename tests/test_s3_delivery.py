"""Videos that play where the users are: real workers, a real S3 API (moto's server), URLs that answer 200.

Each worker process has a private VIDEO_STORAGE_DIR (scratch only) and all of
them share one bucket, as workers on separate machines do.
"""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from engine_hooks import enqueue_videos, save_trace
from tests.conftest import worker_env
from tests.factories import load_job
from tests.helpers import trace_when_done, wait_for_terminal
from tests.storyboards import card_context
from worker.cli import main
from worker.ops.reconcile import reconcile
from worker.settings import reload_settings
from worker.storage import SCRATCH_PREFIX
from worker.traces import trace_path
from worker.worker_process import WorkerProcess

pytestmark = pytest.mark.slow

USERS = {
    "user_0001": (7_385, 10_000, "6342"),
    "user_0034": (14_215, 15_000, "2385"),
    "user_0059": (1_528, 2_000, "4735"),
    "user_0072": (23_684, 25_000, "4193"),
}


def engine_run(user_id: str) -> dict:
    """What the engine does for one user: enqueue, then save its trace (no waiting)."""
    balance, limit, mask = USERS[user_id]
    recs = [{"topic": "credit_utilization", "disclaimer": "Educational content, not financial advice."}]
    enqueue_videos(user_id, "High Utilization", recs, card_context(balance, limit, mask=mask))
    return {"user_id": user_id, "recommendations": {"recommendations": recs}}


def get(url: str, **headers: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=15) as response:
        return response.status, response.headers.get_content_type(), response.read()


def trace_urls(trace: dict) -> list[tuple[str, str]]:
    [rec] = trace["recommendations"]["recommendations"]
    metadata = rec["video_metadata"]
    return [("video", rec["video_url"]), ("poster", metadata["poster_url"]), ("captions", metadata["captions_url"])]


@pytest.fixture
def s3_settings(sqlite_configured, s3):
    return reload_settings()


def test_two_workers_share_one_bucket_and_every_url_plays(s3_settings, s3, embedded_broker, tmp_path):
    workers = [
        WorkerProcess(
            worker_env(tmp_path, s3_settings, embedded_broker, VIDEO_STORAGE_DIR=str(tmp_path / f"scratch-{n}")),
            tmp_path / f"worker-{n}.log",
            concurrency=1,
            name=f"s3-{n}",
        )
        for n in (1, 2)
    ]
    for worker in workers:
        worker.start()
    try:
        traces = {user_id: engine_run(user_id) for user_id in USERS}
        for trace in traces.values():
            job_id = trace["recommendations"]["recommendations"][0]["video_job_id"]
            assert wait_for_terminal(job_id, timeout_s=90) == "completed", workers[0].log_text()[-2000:]
    finally:
        for worker in workers:
            worker.terminate()  # both shut down at once
        for worker in workers:
            worker.stop()
    hosts = {load_job(t["recommendations"]["recommendations"][0]["video_job_id"]).video_key for t in traces.values()}
    assert len(hosts) == len(USERS)
    bucket = boto3.client("s3")
    for user_id, trace in traces.items():
        save_trace(trace)  # the engine's trace save mints the URLs
        saved = json.loads(trace_path(user_id, s3_settings).read_text())
        for kind, url in trace_urls(saved):
            assert url.startswith(s3.rstrip("/")), f"{kind} URL is not the object store's: {url}"
            status, content_type, body = get(url)
            assert (
                status == 200
                and content_type == {"video": "video/mp4", "poster": "image/jpeg", "captions": "text/vtt"}[kind]
            )
        video_url = trace_urls(saved)[0][1]
        key = load_job(saved["recommendations"]["recommendations"][0]["video_job_id"]).video_key
        whole = bucket.get_object(Bucket="videos", Key=f"spendsense/{key}")["Body"].read()
        status, _, part = get(video_url, Range="bytes=0-1023")
        assert (status, part) == (206, whole[:1024])
    for n in (1, 2):  # the workers' own disks hold scratch at most, never a stored video
        assert not [p for p in (tmp_path / f"scratch-{n}").rglob("*.mp4") if SCRATCH_PREFIX not in str(p)]
    assert main(["verify-urls"]) == 0


def test_an_expired_presigned_url_is_refreshed_on_the_next_trace_write(s3_settings, s3, monkeypatch, celery_worker):
    monkeypatch.setenv("VIDEO_URL_TTL_S", "2")
    settings = reload_settings()
    trace = engine_run("user_0034")
    save_trace(trace)  # as the engine does, at once; the worker rewrites the file when the job ends
    first = trace_when_done("user_0034", settings, trace["recommendations"]["recommendations"][0]["video_job_id"])
    time.sleep(2.5)
    old_url = trace_urls(first)[0][1]
    assert _expiry(old_url) < datetime.now(UTC), "the first URL has expired"
    save_trace(json.loads(json.dumps(first)))
    second = json.loads(trace_path("user_0034", settings).read_text())
    new_url = trace_urls(second)[0][1]
    assert new_url != old_url and _expiry(new_url) > datetime.now(UTC)
    assert datetime.fromisoformat(
        second["recommendations"]["recommendations"][0]["video_metadata"]["video_url_expires_at"]
    ) > datetime.now(UTC)
    assert get(new_url)[0] == 200


def test_the_reconciler_refreshes_traces_whose_urls_are_about_to_expire(s3_settings, monkeypatch, celery_worker):
    monkeypatch.setenv("VIDEO_URL_TTL_S", "4")
    settings = reload_settings()
    trace = engine_run("user_0001")
    save_trace(trace)
    job_id = trace["recommendations"]["recommendations"][0]["video_job_id"]
    before = trace_urls(trace_when_done("user_0001", settings, job_id))[0][1]
    assert reconcile(settings, lambda job_id: None, frozenset).urls_refreshed == 0, "still fresh"
    time.sleep(2.5)  # past half the lifetime: due for a refresh
    assert reconcile(settings, lambda job_id: None, frozenset).urls_refreshed == 1
    after = trace_urls(json.loads(trace_path("user_0001", settings).read_text()))[0][1]
    assert after != before and _expiry(after) > _expiry(before)


def test_an_upload_that_fails_waits_for_the_store_and_completes_once_it_is_back(
    s3_settings, s3, celery_worker, monkeypatch
):
    from moto.server import ThreadedMotoServer

    from tests.conftest import _moto_servers
    from worker import tasks

    monkeypatch.setattr(tasks, "STORAGE_BACKOFF_S", 0.5)
    server = _moto_servers[s3]
    server.stop()  # the object store goes away before the worker uploads
    trace = engine_run("user_0072")
    job_id = trace["recommendations"]["recommendations"][0]["video_job_id"]
    deadline = time.monotonic() + 30
    while not any(e.event == "storage_unavailable" for e in load_job(job_id).events):
        assert time.monotonic() < deadline, "the failed upload never made the job wait for storage"
        time.sleep(0.1)
    host, port = urlsplit(s3).hostname, urlsplit(s3).port
    restarted = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    restarted.start()
    _moto_servers[s3] = restarted
    assert wait_for_terminal(job_id, timeout_s=60) == "completed"
    job = load_job(job_id)
    wait = next(e for e in job.events if e.event == "storage_unavailable")
    assert wait.error_type == "StorageUnavailable" and job.fallback_used is False and job.video_key
    names = [obj["Key"] for obj in boto3.client("s3").list_objects_v2(Bucket="videos")["Contents"]]
    assert sorted(names) == sorted(f"spendsense/{key}" for key in (job.video_key, job.poster_key, job.captions_key))


def _expiry(url: str) -> datetime:
    query = parse_qs(urlsplit(url).query)
    signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return signed.fromtimestamp(signed.timestamp() + int(query["X-Amz-Expires"][0]), UTC)
