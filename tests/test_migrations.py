"""Alembic: the schema on SQLite and PostgreSQL, and processes that refuse an old schema."""

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from tests.conftest import configure
from worker.db.migrate import (
    MIGRATE_COMMAND,
    SchemaNotCurrentError,
    alembic_config,
    current_revision,
    ensure_schema_current,
    head_revision,
    upgrade_to_head,
)
from worker.db.models import Base
from worker.db.session import get_engine


def test_upgrade_creates_tables_matching_the_models(configured):
    engine = get_engine(configured.database_url)
    assert {"video_jobs", "video_job_events"} <= set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == [], "models changed without a migration"
    assert current_revision(configured.database_url) == head_revision()


def test_idempotency_key_is_unique(configured):
    constraints = inspect(get_engine(configured.database_url)).get_unique_constraints("video_jobs")
    assert any(c["column_names"] == ["idempotency_key"] for c in constraints)


def test_downgrade_and_upgrade_round_trip(configured):
    command.downgrade(alembic_config(configured.database_url), "base")
    assert "video_jobs" not in inspect(get_engine(configured.database_url)).get_table_names()
    upgrade_to_head(configured.database_url)
    assert current_revision(configured.database_url) == head_revision()


def test_unmigrated_database_is_refused_with_the_fix(monkeypatch, tmp_path, database_url):
    configure(monkeypatch, tmp_path, database_url, migrate=False)
    with pytest.raises(SchemaNotCurrentError) as caught:
        ensure_schema_current(database_url)
    assert MIGRATE_COMMAND in str(caught.value) and "no video tables" in str(caught.value)
    upgrade_to_head(database_url)
    ensure_schema_current(database_url)


def test_database_behind_head_is_refused(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    configure(monkeypatch, tmp_path, url)
    with get_engine(url).begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0000_older'")
    with pytest.raises(SchemaNotCurrentError, match="is at migration 0000_older"):
        ensure_schema_current(url)


def test_the_schema_revision_the_code_checks_is_alembics_head():
    from worker.db.schema import SCHEMA_HEAD

    assert SCHEMA_HEAD == head_revision()


def test_the_engine_side_check_never_imports_alembic(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys; from worker.db.schema import ensure_schema_current; from engine_hooks import enqueue_videos; "
        "print('alembic' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
