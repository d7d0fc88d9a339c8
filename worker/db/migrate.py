"""Alembic, driven from code: upgrade to head, and refuse a database that is behind.

The worker and the engine hooks both call `ensure_schema_current` so a process
never writes to a table shape it does not understand.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from worker.db.session import get_engine
from worker.settings import get_settings

MIGRATE_COMMAND = "spendsense-video migrate"


class SchemaNotCurrentError(RuntimeError):
    """The database is not at the latest migration; the message says how to fix it."""


def alembic_config(database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(str(files("migrations")))))
    config.set_main_option("sqlalchemy.url", (database_url or get_settings().database_url).replace("%", "%%"))
    return config


def upgrade_to_head(database_url: str | None = None) -> str:
    """Apply every pending migration; returns the head revision."""
    url = database_url or get_settings().database_url
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), "head")
    _known_current.cache_clear()
    return head_revision()


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() or ""


def current_revision(database_url: str | None = None) -> str | None:
    with get_engine(database_url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def ensure_schema_current(database_url: str | None = None) -> None:
    """Raise unless the database is at the head migration (cached once it is).

    Raises:
        SchemaNotCurrentError: behind, ahead, or empty; names the command that fixes it.
    """
    _known_current(database_url or get_settings().database_url)


@lru_cache(maxsize=8)
def _known_current(database_url: str) -> bool:
    current, head = current_revision(database_url), head_revision()
    if current != head:
        where = "has no video tables" if current is None else f"is at migration {current}"
        raise SchemaNotCurrentError(
            f"the video database {where}, but this code needs {head}: run `{MIGRATE_COMMAND}` "
            f"(with the same DATABASE_URL) and start again"
        )
    return True
