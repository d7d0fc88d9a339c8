"""A database the worker or the CLI cannot reach: one line that names the variable, the URL and the fix."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

pytestmark = pytest.mark.timeout(120)


def run(args: list[str], tmp_path, database_url: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
        "VIDEO_GENERATION_ENABLED": "true",
    }
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
    result = run(
        ["-m", "celery", "-A", "worker", "worker", "--loglevel=INFO"], tmp_path, "sqlite:///no-such-dir/jobs.sqlite"
    )
    assert result.returncode == 2
    assert "worker cannot start: cannot reach the video database at DATABASE_URL=sqlite:///no-such-dir" in result.stderr
    assert " ready." not in result.stdout + result.stderr


def settings_lines(output: str) -> dict[str, str]:
    """The resolved settings block (worker banner, `status`): what → where."""
    found = {}
    for line in output.splitlines():
        what, _, where = line.strip().partition(" ")
        if what in ("database", "broker", "storage", "traces", "provider", "hooks") and line.startswith("  "):
            found[what] = where.strip()
    return found


def test_status_shows_the_settings_it_resolved_with_secrets_masked(tmp_path):
    env_url = "sqlite:///jobs.sqlite"
    assert run(["-m", "worker.cli", "migrate"], tmp_path, env_url).returncode == 0
    result = subprocess.run(
        [sys.executable, "-m", "worker.cli", "status"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
        env={
            **os.environ,
            "DATABASE_URL": env_url,
            "VIDEO_STORAGE_DIR": "videos",
            "TRACE_DIR": "traces",
            "CELERY_BROKER_URL": "redis://:hunter2@127.0.0.1:6379/0",
        },
    )
    assert result.returncode == 0, result.stderr
    shown = settings_lines(result.stdout)
    assert shown["database"] == f"DATABASE_URL=sqlite:///jobs.sqlite (the file {tmp_path / 'jobs.sqlite'})"
    assert shown["broker"] == "CELERY_BROKER_URL=redis://:***@127.0.0.1:6379/0"
    assert (
        shown["storage"] == f"VIDEO_STORAGE_DIR={tmp_path / 'videos'}"
        and shown["traces"] == f"TRACE_DIR={tmp_path / 'traces'}"
    )
    assert shown["provider"].startswith("local") and "hunter2" not in result.stdout


@pytest.mark.parametrize(
    "variable, value, expected",
    [
        (
            "VIDEO_GENERATION_ENABLED",
            "maybe",
            "VIDEO_GENERATION_ENABLED='maybe' is not accepted: use true or false (also 1/0, yes/no, on/off)",
        ),
        (
            "CELERY_BROKER_URL",
            "reddis://:hunter2@127.0.0.1:6379/0",
            "CELERY_BROKER_URL='reddis://:***@127.0.0.1:6379/0' has the scheme 'reddis': use one of sqla+sqlite, ",
        ),
    ],
)
@pytest.mark.parametrize("command", [["-m", "worker.cli", "status"], ["-m", "celery", "-A", "worker", "worker"]])
def test_a_bad_setting_is_one_line_with_its_value_and_the_accepted_ones(tmp_path, command, variable, value, expected):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'jobs.sqlite'}", variable: value}
    result = subprocess.run(
        [sys.executable, *command], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=90
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if "invalid video worker configuration" in line]
    assert expected in line and "hunter2" not in result.stderr


def test_a_worker_whose_broker_does_not_answer_stops_within_the_timeout(tmp_path):
    from tests.topology import free_port

    assert run(["-m", "worker.cli", "migrate"], tmp_path, "sqlite:///jobs.sqlite").returncode == 0
    env = {
        **os.environ,
        "DATABASE_URL": "sqlite:///jobs.sqlite",
        "VIDEO_BROKER_CONNECT_TIMEOUT_S": "2",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0",
    }
    worker = [sys.executable, "-m", "celery", "-A", "worker", "worker", "--loglevel=INFO"]
    result = subprocess.run(worker, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot start: the broker at CELERY_BROKER_URL=redis://127.0.0.1:" in result.stderr
    assert "did not answer within 2 s" in result.stderr and "--wait-for-broker" in result.stderr
    waiting = subprocess.Popen(
        [*worker, "--wait-for-broker"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # However slow the machine is to start Celery, the worker must be retrying, not stopped.
    watchdog = threading.Timer(90, waiting.kill)
    watchdog.start()
    try:
        retrying = next((line for line in waiting.stdout if "Trying again" in line), None)
        still_running = waiting.poll() is None
    finally:
        watchdog.cancel()
        waiting.kill()
        waiting.wait()
    assert retrying and still_running, "with --wait-for-broker, Celery keeps retrying"


def test_the_worker_banner_shows_the_settings_it_resolved(tmp_path):
    from worker.worker_process import WorkerProcess

    assert run(["-m", "worker.cli", "migrate"], tmp_path, "sqlite:///jobs.sqlite").returncode == 0
    env = {
        **os.environ,
        "DATABASE_URL": "sqlite:///jobs.sqlite",
        "VIDEO_STORAGE_DIR": "videos",
        "CELERY_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
    }
    with WorkerProcess(env, tmp_path / "worker.log", concurrency=1, cwd=tmp_path) as worker:
        worker.wait_for_log(" ready.")
    shown = settings_lines(worker.log_text())
    assert shown["database"].endswith(f"(the file {tmp_path / 'jobs.sqlite'})")
    assert shown["storage"] == f"VIDEO_STORAGE_DIR={tmp_path / 'videos'}"
    assert shown["broker"] == f"CELERY_BROKER_URL=sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
