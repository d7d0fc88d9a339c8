"""What tests do again and again: wait (one poll loop for all), queue a job through the hooks, wait for it
to finish or for its trace, and dump a database to look for secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from engine_hooks import enqueue_videos
from worker.db.models import TERMINAL_STATES
from worker.jobs import reader

T = TypeVar("T")

#: Long enough for 1 + 3 attempts with backoff 2/4/8 s (full jitter) and local renders.
JOB_TIMEOUT_S = 60


def wait_until(check: Callable[[], T], timeout_s: float = 30, interval_s: float = 0.1, what: str = "") -> T:
    """Call `check` until it returns something truthy, and return that; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:g} s: {what or getattr(check, '__name__', 'condition')}")
        time.sleep(interval_s)


def database_dump(url: str) -> str:
    """Every value of every table, as text: a secret must appear nowhere in it."""
    from sqlalchemy import MetaData, select

    from worker.db.session import get_engine

    metadata = MetaData()
    metadata.reflect(get_engine(url))
    with get_engine(url).connect() as connection:
        return "\n".join(str(row) for table in metadata.sorted_tables for row in connection.execute(select(table)))


def enqueue_one(user_id: str = "user_0001", utilization: float = 73.0, recs: list[dict] | None = None) -> str:
    """Queue one video through the hooks (annotating `recs`, when given, as the engine would see it)."""
    [job_id] = enqueue_videos(
        user_id,
        "High Utilization",
        recs if recs is not None else [{"topic": "credit_utilization"}],
        {"credit_max_util_pct": utilization},
    )
    return job_id


def wait_for_terminal(job_id: str, timeout_s: float = JOB_TIMEOUT_S) -> str:
    """The job's final status ("completed" or "failed"), once it has one."""

    def final_status() -> str | None:
        status = reader.get_status(job_id)
        return status.value if status in TERMINAL_STATES else None

    return wait_until(final_status, timeout_s, what=f"job {job_id} finished")


def trace_when_done(user_id: str, settings, job_id: str, timeout_s: float = 15) -> dict:
    """The user's trace file once it records the job's final event (written just after the row)."""
    from worker.traces import trace_path

    path = trace_path(user_id, settings)

    def finished_trace() -> dict | None:
        if not path.exists():
            return None
        trace = json.loads(path.read_text())
        finals = [
            e
            for e in trace.get("video_generation_log", [])
            if e["job_id"] == job_id and e["event"] in ("completed", "failed")
        ]
        return trace if finals else None

    return wait_until(finished_trace, timeout_s, interval_s=0.05, what=f"trace of {job_id} records its final event")


def run_demo(workdir: Path, **env: str) -> tuple[Path, subprocess.CompletedProcess]:
    """`spendsense-video demo` in a child process, in `workdir`, as a new user runs it: none of this test
    run's database, broker or directories, plus `env`. Returns the output directory and the result."""
    own = ("DATABASE_URL", "CELERY_BROKER_URL", "VIDEO_STORAGE_DIR", "TRACE_DIR")
    output = workdir / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "worker.cli", "demo", "--output-dir", str(output)],
        env={**{key: value for key, value in os.environ.items() if key not in own}, **env},
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return output, result
