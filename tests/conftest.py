"""Shared fixtures: an isolated environment per test run, databases on SQLite and PostgreSQL.

The environment is set before any `worker` module reads it. Tests that need a
server (PostgreSQL, Redis) skip on a laptop without it and fail in CI, where
`.ci/run` sets SPENDSENSE_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

RUN_DIR = Path(tempfile.mkdtemp(prefix="spendsense-video-tests-"))
for _name in ("VIDEO_PUBLIC_BASE_URL", "SORA_ENABLED", "VIDEO_PROVIDER"):
    os.environ.pop(_name, None)
os.environ.update(
    {
        "DATABASE_URL": f"sqlite:///{RUN_DIR / 'default.sqlite'}",
        "CELERY_BROKER_URL": "memory://",
        "VIDEO_STORAGE_DIR": str(RUN_DIR / "videos"),
        "TRACE_DIR": str(RUN_DIR / "traces"),
        "VIDEO_GENERATION_ENABLED": "true",
        # A loaded CI machine can take longer than production's 50 ms to open a fresh test database;
        # the tests about the budget set their own.
        "VIDEO_HOOK_BUDGET_MS": "5000",
    }
)

# Register the shared tasks now, outside any test's app: celery.contrib.testing restores the set of
# app-finalize callbacks after each test, so a first import inside one test would register
# generate_video for that test's worker only, and a later worker would drop its messages.
import worker.tasks  # noqa: E402, F401
from tests import services  # noqa: E402
from tests.services import ServiceMissing, postgres_database  # noqa: E402
from worker.celery_app import celery_config as production_celery_config  # noqa: E402
from worker.celery_app import reconfigure  # noqa: E402
from worker.db.migrate import upgrade_to_head  # noqa: E402
from worker.db.session import dispose_engines  # noqa: E402
from worker.settings import Settings, get_settings, reload_settings  # noqa: E402

#: Celery's own worker fixtures, and the topology tests' process fixtures (tests/topology_fixtures.py).
pytest_plugins = ("celery.contrib.pytest", "tests.topology_fixtures")

REQUIRE_SERVICES = os.environ.get("SPENDSENSE_REQUIRE_SERVICES") == "1"
#: Real SpendSense data (MIT): signals.parquet and three engine traces.
SHARED_DIR = Path(__file__).resolve().parent / "data" / "spendsense"


def service_missing(name: str, reason: str) -> None:
    """Skip locally, fail in CI: a service-backed test must never silently not run there."""
    message = f"{name} not reachable ({reason})"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message}; SPENDSENSE_REQUIRE_SERVICES=1 so this is an error")
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _fresh_hook_state():
    """A service one test made sick is not sick for the next, and no test sees another's fresh log."""
    from engine_hooks import budget, fresh_logs
    from engine_hooks.enqueue import forget_seen_requests

    for forget in (budget.reset, fresh_logs.forget, forget_seen_requests):
        forget()
    yield
    for forget in (budget.reset, fresh_logs.forget, forget_seen_requests):
        forget()


def pytest_sessionfinish(session, exitstatus) -> None:
    shutil.rmtree(RUN_DIR, ignore_errors=True)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    try:
        database = postgres_database()
        url = database.__enter__()
    except ServiceMissing as exc:
        service_missing("PostgreSQL", str(exc))
    try:
        yield url
    finally:
        database.__exit__(None, None, None)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    return request.getfixturevalue("postgres_url")


def configure(monkeypatch, tmp_path: Path, database_url: str, migrate: bool = True) -> Settings:
    """Point every setting at this test's own database and directories."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VIDEO_STORAGE_DIR", str(tmp_path / "videos"))
    monkeypatch.setenv("TRACE_DIR", str(tmp_path / "traces"))
    dispose_engines()
    settings = reload_settings()
    if migrate:
        upgrade_to_head(database_url)
    return settings


@pytest.fixture
def configured(monkeypatch, tmp_path, database_url) -> Iterator[Settings]:
    """Migrated database on SQLite and on PostgreSQL (when reachable)."""
    yield configure(monkeypatch, tmp_path, database_url)
    _forget_settings()


@pytest.fixture
def sqlite_configured(monkeypatch, tmp_path) -> Iterator[Settings]:
    """Migrated SQLite database only: for tests about files and workers rather than SQL."""
    yield configure(monkeypatch, tmp_path, f"sqlite:///{tmp_path / 'jobs.sqlite'}")
    _forget_settings()


@pytest.fixture
def postgres_configured(monkeypatch, tmp_path, postgres_url) -> Iterator[Settings]:
    """Migrated PostgreSQL database only: for process-level tests the issues ask to see on PostgreSQL."""
    yield configure(monkeypatch, tmp_path, postgres_url)
    _forget_settings()


def _forget_settings() -> None:
    dispose_engines()
    get_settings.cache_clear()


@contextmanager
def broker(monkeypatch, url: str) -> Iterator[str]:
    """Publish (and run the in-process worker) through `url` for the block, then back to the memory broker."""
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    reconfigure(reload_settings())
    try:
        yield url
    finally:
        monkeypatch.setenv("CELERY_BROKER_URL", "memory://")
        reconfigure(reload_settings())


@pytest.fixture
def embedded_broker(monkeypatch, tmp_path) -> Iterator[str]:
    """Publish through the embedded SQLite broker, as a real deployment without Redis does."""
    with broker(monkeypatch, f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}") as url:
        yield url


def claim_redis_database() -> str:
    """Claim an empty Redis database for this test (see tests/services.py); skip or fail without Redis."""
    try:
        return services.claim_redis_database()
    except ServiceMissing as exc:
        service_missing("Redis", str(exc))
    except RuntimeError as exc:
        pytest.fail(f"{exc}; cannot isolate this run")


@pytest.fixture
def redis_broker(monkeypatch) -> Iterator[str]:
    """A Redis database of this run's own (claimed), flushed afterwards."""
    claimed = claim_redis_database()
    try:
        with broker(monkeypatch, claimed.split("#")[0]) as url:
            yield url
    finally:
        services.release_redis_database(claimed)


@pytest.fixture(scope="session")
def celery_includes() -> list[str]:
    return ["worker.tasks"]


@pytest.fixture(scope="session")
def celery_config() -> dict:
    """The in-process test worker: production's configuration, on the memory broker without idle waits."""
    from tests.inprocess_worker import CELERY_SETTINGS

    return {**production_celery_config(get_settings()), **CELERY_SETTINGS}


def worker_env(tmp_path: Path, settings: Settings, broker_url: str, **extra: str) -> dict[str, str]:
    """Environment for a `celery worker` child process sharing this test's database and files."""
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": settings.database_url,
            "CELERY_BROKER_URL": broker_url,
            "VIDEO_STORAGE_DIR": str(settings.video_storage_dir),
            "TRACE_DIR": str(settings.trace_dir),
            **extra,
        }
    )
    return env


@pytest.fixture(scope="session")
def celery_worker_parameters() -> dict:
    """No ping check: it needs a result backend, and ours is the database, not Celery's."""
    return {"perform_ping_check": False}


@pytest.fixture
def provider(request, monkeypatch, sqlite_configured):
    """Select a test provider (a class from tests.failing_providers, via indirect parametrize) for this test's
    worker."""
    from tests.failing_providers import using_provider

    with using_provider(request.param, monkeypatch) as settings:
        yield settings


@pytest.fixture
def signals() -> dict[str, dict]:
    """Each user's row of the shipped signals.parquet, as the engine reads it."""
    from tests.engine_calls import signals_by_user

    return signals_by_user()


@pytest.fixture
def fake():
    """A fake Videos API server on a loopback port (see tests/fake_videos_api.py)."""
    from tests.fake_videos_api import FakeVideosServer
    from worker.remote.api import VideosApi

    server = FakeVideosServer(latency_s=0.5).start()
    yield server
    server.stop()
    VideosApi.shared.cache_clear()  # its kept-alive connections must not reach a later fake on this port


#: Remote tests run with short request timeouts (faults show at once) and a short task limit.
REMOTE_TEST_LIMITS = {"VIDEO_API_TIMEOUT_S": "2", "VIDEO_TASK_TIME_LIMIT_S": "60"}


@pytest.fixture
def remote_env(fake, monkeypatch) -> Iterator[Callable[..., dict[str, str]]]:
    """`remote_env(**overrides)` points this test, and the workers it starts, at the fake Videos API
    server (VIDEO_PROVIDER=openai, REMOTE_TEST_LIMITS, then `overrides`): it sets the variables,
    reloads the settings (`get_settings()` is then theirs) and returns the variables it set."""

    def apply(**overrides: str) -> dict[str, str]:
        env = fake.client_env(**{**REMOTE_TEST_LIMITS, **overrides})
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        reload_settings()
        return env

    yield apply
    get_settings.cache_clear()


#: The moto server behind each `s3` endpoint, so a test can stop and restart it.
_moto_servers: dict[str, object] = {}


@pytest.fixture
def s3(monkeypatch) -> Iterator[str]:
    """A real S3 API over HTTP (moto's server mode) on a free loopback port, with an empty bucket.

    Sets the standard AWS variables, as a deployment would, and VIDEO_STORAGE_URL to the bucket.
    Yields the endpoint URL; the server (and its state) goes away with the test.
    """
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)
    for key, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "VIDEO_STORAGE_URL": "s3://videos/spendsense",
    }.items():
        monkeypatch.setenv(key, value)
    boto3.client("s3").create_bucket(Bucket="videos")
    _moto_servers[endpoint] = server
    try:
        yield endpoint
    finally:
        _moto_servers.pop(endpoint).stop()
        from worker.storage import _store

        _store.cache_clear()
