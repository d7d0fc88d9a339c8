"""The shared PostgreSQL and Redis servers, borrowed safely by tests and benchmarks.

Both servers outlive a run and are shared with other runs (CI, a colleague's tests): a Redis
database is claimed with a marker key (`SET … NX`) and flushed only while the marker is still ours;
a PostgreSQL database is created for one user of it and dropped afterwards. Neither needs pytest:
`bench/` uses them too. A server that does not answer raises `ServiceMissing`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

POSTGRES_ADMIN_URL = os.environ.get("SPENDSENSE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_SERVER = os.environ.get("SPENDSENSE_TEST_REDIS_URL", "redis://127.0.0.1:6379")
#: The key a run sets (SET NX) in an empty Redis database to make it its own.
REDIS_CLAIM_KEY = "spendsense-video:test-claim"
#: Redis databases a run may claim (0 is left to people and to production-shaped demos).
REDIS_DATABASES = range(15, 0, -1)


class ServiceMissing(RuntimeError):
    """The server does not answer; the message says why."""


def claim_redis_database() -> str:
    """Claim an empty Redis database: returns `url#token`; `release_redis_database` flushes only it."""
    import redis

    try:
        redis.Redis.from_url(REDIS_SERVER, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        raise ServiceMissing(f"Redis at {REDIS_SERVER}: {exc}") from None
    token = uuid.uuid4().hex
    for number in REDIS_DATABASES:
        client = redis.Redis.from_url(f"{REDIS_SERVER}/{number}")
        if client.dbsize() == 0 and client.set(REDIS_CLAIM_KEY, token, nx=True):
            if client.dbsize() == 1:
                return f"{REDIS_SERVER}/{number}#{token}"
            client.delete(REDIS_CLAIM_KEY)  # someone else wrote here at the same moment
    raise RuntimeError(f"no empty Redis database {REDIS_DATABASES.stop + 1}-{REDIS_DATABASES.start} to claim")


def release_redis_database(claimed: str) -> None:
    """Flush the claimed database, but only while our marker is still there."""
    import redis

    url, token = claimed.split("#")
    client = redis.Redis.from_url(url)
    if client.get(REDIS_CLAIM_KEY) == token.encode():
        client.flushdb()


@contextmanager
def redis_database() -> Iterator[str]:
    """A claimed Redis database's URL for the block; flushed afterwards while still ours."""
    claimed = claim_redis_database()
    try:
        yield claimed.split("#")[0]
    finally:
        release_redis_database(claimed)


@contextmanager
def postgres_database(prefix: str = "ssv_test") -> Iterator[str]:
    """A new, empty PostgreSQL database's SQLAlchemy URL for the block; dropped afterwards."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        raise ServiceMissing(f"PostgreSQL: {str(exc).splitlines()[0]}") from None
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        from worker.db.session import dispose_engines

        dispose_engines()
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
