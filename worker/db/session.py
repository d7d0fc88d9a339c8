"""Engines and sessions, one engine per database URL per process.

SQLite is tuned for several processes sharing one file (the embedded default):
WAL journal so readers never block the writer, and a generous busy timeout so a
writer waits for the lock instead of failing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from worker.settings import get_settings

#: How long a SQLite writer waits for another process's lock before erroring.
SQLITE_BUSY_TIMEOUT_S = 30
#: How long connecting to PostgreSQL may take; the engine's request must not hang on a dead server.
POSTGRES_CONNECT_TIMEOUT_S = 5

_factories: dict[str, sessionmaker[Session]] = {}
_lock = threading.Lock()


def get_engine(database_url: str | None = None) -> Engine:
    """Return the process-wide engine for `database_url` (default: settings)."""
    return _factory(database_url or get_settings().database_url).kw["bind"]


def _factory(url: str) -> sessionmaker[Session]:
    with _lock:
        if url not in _factories:
            _factories[url] = sessionmaker(bind=_create_engine(url), expire_on_commit=False)
        return _factories[url]


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    connect_args = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S} if url.startswith("postgresql") else {}
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args=connect_args)


def _tune_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@contextmanager
def session_scope(database_url: str | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = _factory(database_url or get_settings().database_url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines() -> None:
    """Drop every pooled connection: after a fork, and between tests."""
    with _lock:
        for factory in _factories.values():
            factory.kw["bind"].dispose()
        _factories.clear()
