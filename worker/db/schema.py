"""Is the database at the migration this code needs? One SELECT, cached per process, no Alembic import.

The engine's hooks and the worker both refuse to write to a table shape they
do not understand. Reading `alembic_version` directly keeps Alembic (and its
INFO log lines) out of the engine's process; `SCHEMA_HEAD` is kept equal to
Alembic's head by a test.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import inspect, text

from worker.db.session import get_engine
from worker.settings import get_settings

#: The newest migration in migrations/versions (tests/test_migrations.py checks it).
SCHEMA_HEAD = "0006"
MIGRATE_COMMAND = "spendsense-video migrate"


class SchemaNotCurrentError(RuntimeError):
    """The database is not at the latest migration; the message says how to fix it."""


def ensure_schema_current(database_url: str | None = None) -> None:
    """Raise unless the database is at `SCHEMA_HEAD` (checked once per process and URL once it is).

    Raises:
        SchemaNotCurrentError: behind, ahead, or empty; names the command that fixes it.
        SQLAlchemyError: the database could not be asked.
    """
    _known_current(database_url or get_settings().database_url)


def forget_schema_checks() -> None:
    """After a migration in this process, check again."""
    _known_current.cache_clear()


@lru_cache(maxsize=8)
def _known_current(database_url: str) -> bool:
    current = stored_revision(database_url)
    if current != SCHEMA_HEAD:
        where = "has no video tables" if current is None else f"is at migration {current}"
        raise SchemaNotCurrentError(
            f"the video database {where}, but this code needs {SCHEMA_HEAD}: run `{MIGRATE_COMMAND}` "
            f"(with the same DATABASE_URL) and start again"
        )
    return True


def stored_revision(database_url: str) -> str | None:
    """The revision recorded in `alembic_version`, or None when the table is missing or empty."""
    with get_engine(database_url).connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
