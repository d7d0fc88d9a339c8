"""Conformance with a real LiteLLM proxy (tests/litellm_proxy.py) in front of the fake Videos API server.

In CI the proxy is installed and these tests run, never skip; elsewhere they skip when it cannot be
installed (no package index). docs/gateways.md describes what they pin.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import configure, service_missing
from tests.factories import load_job
from tests.fake_videos_api import MODEL
from tests.helpers import enqueue_one, wait_for_terminal
from tests.litellm_proxy import MASTER_KEY, LiteLLMProxy, install
from tests.topology import free_port
from worker.remote.probe import probe_server
from worker.render.stills import is_image
from worker.settings import get_settings, reload_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


@pytest.fixture(scope="module")
def litellm_command() -> Path:
    try:
        return install()
    except Exception as exc:  # skip locally, fail in CI
        service_missing("the LiteLLM proxy", f"could not be installed: {type(exc).__name__}")


@pytest.fixture
def proxy(litellm_command, fake, tmp_path):
    running = LiteLLMProxy(litellm_command, fake.base_url, fake.api_key, MODEL, free_port(), tmp_path)
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()


@pytest.fixture
def through_proxy(proxy, fake, monkeypatch, tmp_path, postgres_url):
    """The worker on PostgreSQL, VIDEO_PROVIDER=openai pointed at the proxy."""
    configure(monkeypatch, tmp_path, postgres_url)
    env = fake.client_env(
        VIDEO_API_BASE_URL=proxy.base_url,
        VIDEO_API_KEY=MASTER_KEY,
        VIDEO_API_TIMEOUT_S="10",
        VIDEO_TASK_TIME_LIMIT_S="120",
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield reload_settings()
    get_settings.cache_clear()


def test_a_job_completes_through_the_proxy_on_postgresql_with_a_real_poster(through_proxy, fake, celery_worker):
    fake.latency_s = 1.0
    job_id = enqueue_one()
    assert wait_for_terminal(job_id, timeout_s=120) == "completed"
    job = load_job(job_id)
    assert job.provider == "openai" and not job.fallback_used, [(e.event, e.error_message) for e in job.events]
    assert len(job.remote_id) > 128, "the proxy's wrapped id, kept whole"
    assert fake.jobs_created == 1 and sum(fake.create_calls.values()) == 1
    assert job.generation_time_seconds >= fake.latency_s, "submission to stored video, through the proxy too"
    poster = Path(job.poster_url.removeprefix("file://"))
    assert is_image(poster), "the proxy answers the thumbnail with the MP4: the poster is a still instead"


def test_probe_passes_the_proxy_with_its_warnings(through_proxy, fake):
    checks = {check.name: check for check in probe_server(through_proxy)}
    assert all(check.verdict != "fail" for check in checks.values()), checks
    assert checks["list GET /videos"].verdict == "warn"
    assert checks["gateway"].verdict == "warn" and "LiteLLM proxy" in checks["gateway"].detail
    assert "num_retries: 0" in checks["gateway"].detail
    assert fake.jobs_created == 0, "probing never pays"
