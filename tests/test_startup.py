"""A database the worker or the CLI cannot reach: one line that names the variable, the URL and the fix."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(120)


def run(args: list[str], tmp_path, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url,
           "CELERY_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}", "VIDEO_GENERATION_ENABLED": "true"}
    return subprocess.run([sys.executable, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=90)


@pytest.mark.parametrize("command", [["status"], ["list"]])
def test_the_cli_explains_a_relative_sqlite_path_that_resolves_nowhere(tmp_path, command):
    result = run(["-m", "worker.cli", *command], tmp_path, "sqlite:///no-such-dir/jobs.sqlite")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "DATABASE_URL=sqlite:///no-such-dir/jobs.sqlite" in line
    assert f"{tmp_path / 'no-such-dir'} does not exist" in line, "the path as resolved from where it ran"


def test_migrate_names_the_file_a_relative_sqlite_path_resolves_to(tmp_path):
    result = run(["-m", "worker.cli", "migrate"], tmp_path, "sqlite:///jobs-here.sqlite")
    assert result.returncode == 0 and f"(the file {tmp_path / 'jobs-here.sqlite'})" in result.stdout


def test_the_cli_masks_the_password_of_a_server_that_does_not_answer(tmp_path):
    result = run(["-m", "worker.cli", "status"], tmp_path, "postgresql+psycopg://video:hunter2@127.0.0.1:9/jobs")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "hunter2" not in line and "postgresql+psycopg://video:***@127.0.0.1:9/jobs" in line


def test_a_worker_that_cannot_reach_its_database_refuses_to_start(tmp_path):
    result = run(["-m", "celery", "-A", "worker", "worker", "--loglevel=INFO"], tmp_path,
                 "sqlite:///no-such-dir/jobs.sqlite")
    assert result.returncode == 2
    assert "worker cannot start: cannot reach the video database at DATABASE_URL=sqlite:///no-such-dir" in result.stderr
    assert " ready." not in result.stdout + result.stderr
