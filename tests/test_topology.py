"""The production topology as local processes: jobs finish, and Flower shows job ids only, behind auth.

In CI these run against the machine's real Redis and PostgreSQL and must not skip.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import wait_until
from tests.topology import ROOT
from tests.topology_fixtures import FLOWER_PASSWORD, FLOWER_USER, USERS, assert_finished_once, enqueue_users
from worker.settings import get_settings

pytestmark = pytest.mark.slow


def flower_get(port: str, path: str, *, auth: bool = True, method: str = "GET"):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    if auth:
        token = base64.b64encode(f"{FLOWER_USER}:{FLOWER_PASSWORD}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def test_jobs_finish_and_flower_shows_job_ids_only_behind_auth(topology):
    port = topology.env["PORT"]
    topology.start("flower")
    topology.wait_for_log("flower", "Visit me at")
    topology.start("worker")
    topology.start("beat")
    topology.wait_for_log("worker", " ready.")
    jobs = enqueue_users()
    assert_finished_once(jobs, get_settings())

    def every_task_succeeded() -> dict | None:  # Flower learns of tasks from events, which may still be on their way
        status, body = flower_get(port, "/api/tasks?taskname=generate_video")
        tasks = json.loads(body) if status == 200 else {}
        return tasks if all(tasks.get(job_id, {}).get("state") == "SUCCESS" for job_id in jobs.values()) else None

    tasks = wait_until(every_task_succeeded, 30, interval_s=0.5, what="Flower shows every task succeeded")
    for job_id in jobs.values():
        task = tasks[job_id]
        assert (task["name"], task["state"], task["args"], task["kwargs"]) == (
            "generate_video",
            "SUCCESS",
            f"['{job_id}']",
            "{}",
        )
        assert task["runtime"] > 0
    # Every text Flower shows about our tasks (numbers are timestamps and runtimes, so left out).
    shown = json.dumps(
        [{key: value for key, value in task.items() if isinstance(value, str)} for task in tasks.values()]
    )
    for private in (*USERS, "73.0", "86.2", "High Utilization", "Below 30%"):
        assert private not in shown, "Flower shows job ids only"

    assert flower_get(port, "/api/tasks", auth=False)[0] == 401
    assert flower_get(port, "/tasks", auth=False)[0] == 401
    assert flower_get(port, "/api/task/async-apply/generate_video", method="POST")[0] == 404, "read-only"
    assert flower_get(port, f"/api/task/revoke/{jobs['user_0001']}", method="POST")[0] == 404, "read-only"
    status, metrics = flower_get(port, "/metrics", auth=False)
    assert status == 200 and "flower_events_total" in metrics
    _screenshot_flower(port, _screenshot_dir())


def _screenshot_dir() -> Path:
    """Tests never rewrite tracked files: docs/ only when asked (`make docs-images`), else a scratch folder."""
    return ROOT / "docs" if os.environ.get("SPENDSENSE_DOCS_SCREENSHOTS") == "1" else Path(tempfile.mkdtemp())


def _screenshot_flower(port: str, directory: Path) -> None:
    """Flower's task page, as an operator sees it (when a Chromium is installed)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return
    target = directory / "flower-tasks.png"
    browser = subprocess.Popen(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={Path(target.parent / '.chromium-profile')}",
            "--window-size=1400,700",
            "--virtual-time-budget=8000",
            f"--screenshot={target}",
            f"http://{FLOWER_USER}:{FLOWER_PASSWORD}@127.0.0.1:{port}/tasks",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        browser.wait(timeout=60)
    except subprocess.TimeoutExpired:  # best effort: a stuck browser costs the picture, not the test
        os.killpg(browser.pid, signal.SIGKILL)
        browser.wait()
    shutil.rmtree(target.parent / ".chromium-profile", ignore_errors=True)
