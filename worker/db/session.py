"""Engines and sessions, one engine per database URL per process.

SQLite is tuned for several processes sharing one file (the embedded default):
WAL journal so readers never block the writer (with `synchronous=NORMAL`, WAL's
safe setting, so a commit does not wait for an fsync), and a generous busy
timeout so a writer waits for the lock instead of failing. PostgreSQL sessions
carry statement and lock timeouts, so no query waits on a stuck server or lock
for long. Worker processes check each pooled connection before use
(`check_connections_before_use`); the engine's hooks do not pay that round trip
on every call: a connection that died is replaced after its first error.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from worker.settings import get_settings

#: How long a SQLite writer waits for another process's lock before erroring.
SQLITE_BUSY_TIMEOUT_S = 30
#: How long connecting to PostgreSQL may take (libpq's minimum is 2 s; the hooks' own budget is far shorter).
POSTGRES_CONNECT_TIMEOUT_S = 2
#: No statement, and no wait for a row lock, lasts longer than these on PostgreSQL.
POSTGRES_STATEMENT_TIMEOUT_MS = 15_000
POSTGRES_LOCK_TIMEOUT_MS = 5_000

_factories: dict[str, sessionmaker[Session]] = {}
_autocommit_factories: dict[str, sessionmaker[Session]] = {}
_lock = threading.Lock()
_pre_ping = False


def check_connections_before_use() -> None:
    """Ping each pooled connection before use (worker processes, which outlive database restarts)."""
    global _pre_ping
    _pre_ping = True


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
    connect_args = {}
    if url.startswith("postgresql"):
        connect_args = {
            "connect_timeout": POSTGRES_CONNECT_TIMEOUT_S,
            "options": f"-c statement_timeout={POSTGRES_STATEMENT_TIMEOUT_MS} "
            f"-c lock_timeout={POSTGRES_LOCK_TIMEOUT_MS}",
        }
    return create_engine(url, pool_pre_ping=_pre_ping, pool_size=5, max_overflow=5, connect_args=connect_args)


def _tune_sqlite(dbapi_connection, _record) -> None:
    _tune_for_sharing(dbapi_connection)
    dbapi_connection.execute("PRAGMA foreign_keys=ON")


def _tune_for_sharing(dbapi_connection: sqlite3.Connection) -> None:
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class SharedSQLiteConnection(sqlite3.Connection):
    """A sqlite3 connection tuned like ours, for code that only lets us pass `connect_args`.

    kombu's SQLAlchemy transport (the embedded broker) builds its own engine; passing this as
    `connect_args={"factory": ...}` gives it WAL without an fsync per published message.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _tune_for_sharing(self)


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


@contextmanager
def autocommit_session(database_url: str | None = None) -> Iterator[Session]:
    """A session on which each statement commits on its own, for work that is one statement.

    A read, or a write done in a single statement, then costs one round trip: no BEGIN and
    COMMIT around it (on PostgreSQL, two of the three round trips a transaction would take).
    Shares the engine's connection pool; a connection gets its usual isolation level back when
    it returns to the pool.
    """
    url = database_url or get_settings().database_url
    engine = _factory(url).kw["bind"]
    with _lock:
        if url not in _autocommit_factories:
            _autocommit_factories[url] = sessionmaker(
                bind=engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
            )
        factory = _autocommit_factories[url]
    with factory() as session:
        yield session


def dispose_engines(*, close: bool = True) -> None:
    """Drop every pooled connection: between tests, and (with `close=False`) in a forked child, which must
    not close the connections it inherited from its parent."""
    with _lock:
        for factory in _factories.values():
            factory.kw["bind"].dispose(close=close)
        _factories.clear()
        _autocommit_factories.clear()
