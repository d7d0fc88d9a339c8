"""Alembic, driven from code: upgrade to head. (Checking the revision is `worker.db.schema`'s job.)"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from worker.db.schema import MIGRATE_COMMAND, SchemaNotCurrentError, ensure_schema_current, forget_schema_checks
from worker.db.session import get_engine
from worker.settings import get_settings

__all__ = [
    "MIGRATE_COMMAND",
    "SchemaNotCurrentError",
    "current_revision",
    "ensure_schema_current",
    "head_revision",
    "upgrade_to_head",
]


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
    forget_schema_checks()
    return head_revision()


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() or ""


def current_revision(database_url: str | None = None) -> str | None:
    with get_engine(database_url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
