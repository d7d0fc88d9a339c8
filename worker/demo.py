"""`spendsense-video demo`: five users through the real path, end to end.

engine-side hook → video_jobs row + message on the embedded broker → a real
`celery worker` child process → provider → storage → database → trace files.
Everything lives under one output directory (wiped at the start) so the demo
never touches a real database. The provider is whatever VIDEO_PROVIDER says
(the local renderer by default). The users and their figures are real:
SpendSense's own High Utilization users (`worker/demo_data/`, MIT).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from engine_hooks import enqueue_videos, save_trace, warm_up
from worker.db.migrate import upgrade_to_head
from worker.db.models import TERMINAL_STATES, JobStatus
from worker.db.session import dispose_engines
from worker.demo_report import print_and_write, result_rows
from worker.jobs import reader
from worker.settings import Settings, SettingsError, reload_settings
from worker.traces import refresh_trace_file
from worker.worker_process import WorkerProcess

#: The five user ids the demo has always shown; those who are not High Utilization in the shipped
#: data are replaced by ones who are (and the demo says so).
SEED_USER_IDS = ("user_0001", "user_0004", "user_0007", "user_0012", "user_0015")
#: SpendSense's own users: signals and credit cards as its `_load_user_context` hands them to the engine.
DEMO_USERS_FILE = Path(__file__).parent / "demo_data" / "high_utilization_users.json"
#: Marks a directory as the demo's own, so the demo never wipes anything else.
DEMO_MARKER = ".spendsense-demo"
#: How often the progress bar re-reads the database.
POLL_INTERVAL_S = 0.5
_TERMINAL = {state.value for state in TERMINAL_STATES}


def run_demo(output_dir: Path, *, timeout_s: float, serve_port: int | None = None) -> int:
    """Run the demo; returns 0 when every video completed.

    With `serve_port`, the videos are then served over HTTP on 127.0.0.1 (with the preview page)
    until interrupted, and the traces and the results carry those http:// URLs.
    """
    console = Console()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = _isolated_settings(output_dir.resolve())
    upgrade_to_head(settings.database_url)
    console.print(
        f"[bold]SpendSense video demo[/] — provider [cyan]{settings.video_provider}[/], output in {output_dir}"
    )
    warm_up()  # as the engine does at start-up (README): its first request then finds the connections open
    users = demo_users()
    for user in users:
        if user.replaces:
            console.print(
                f"{user.replaces} is not a High Utilization user in SpendSense's data; showing {user.user_id} instead."
            )
    worker = WorkerProcess(dict(os.environ), output_dir / "worker.log", name="demo")
    with worker:
        jobs = {user.user_id: _engine_run(user) for user in users}
        finished = _wait_with_progress(console, [job for ids in jobs.values() for job in ids], worker, timeout_s)
    if serve_port is not None:
        settings = _served_settings(serve_port)
    for user_id in jobs:
        refresh_trace_file(user_id, settings)
    rows = result_rows(jobs, settings)
    print_and_write(console, rows, output_dir)
    if not finished:
        console.print(f"[red]Not every job finished; see {output_dir / 'worker.log'}[/]")
    ok = finished and all(row["status"] == JobStatus.COMPLETED.value for row in rows)
    if serve_port is None:
        console.print(
            "Watch them in a browser: [bold]spendsense-video demo --serve[/] renders them again and "
            "serves them, with the preview page, on http://127.0.0.1:8000/"
        )
        return 0 if ok else 1
    _serve(console, settings, serve_port)
    return 0 if ok else 1


def _served_settings(port: int) -> Settings:
    """Traces and results carry http:// URLs from here on; the preview page gets a one-run password."""
    os.environ["VIDEO_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    os.environ.setdefault("VIDEO_PREVIEW_AUTH", f"demo:{secrets.token_urlsafe(9)}")
    return reload_settings()


def _serve(console: Console, settings: Settings, port: int) -> None:
    import uvicorn

    from worker.web.app import create_app

    assert settings.video_preview_auth is not None  # _served_settings() always sets VIDEO_PREVIEW_AUTH
    user, password = settings.video_preview_auth.get_secret_value().split(":", 1)
    console.print(
        f"Serving on [bold]http://127.0.0.1:{port}/[/] (preview page: user [cyan]{user}[/], password "
        f"[cyan]{password}[/]); Ctrl-C stops."
    )
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


@dataclass(frozen=True)
class DemoUser:
    user_id: str
    #: What `_load_user_context` gives the engine: {"signals": {...}, "accounts": [...]}.
    context: dict[str, Any]
    #: The seed user id this one stands in for (that user is not High Utilization), if any.
    replaces: str | None = None


def demo_users(count: int = len(SEED_USER_IDS)) -> list[DemoUser]:
    """The seed users who are High Utilization in the shipped data, then others who are, in their place."""
    shipped = json.loads(DEMO_USERS_FILE.read_text())["users"]
    stand_ins = iter(user_id for user_id in sorted(shipped) if user_id not in SEED_USER_IDS)
    users = []
    for seed in SEED_USER_IDS[:count]:
        user_id = seed if seed in shipped else next(stand_ins)
        context = {"signals": shipped[user_id]["signals"], "accounts": shipped[user_id]["accounts"]}
        users.append(DemoUser(user_id, context, None if user_id == seed else seed))
    return users


def sample_engine_output(user: DemoUser) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """What `generate_recommendations` produces for a High Utilization user (the real shapes)."""
    disclaimer = (
        "This is educational content, not financial advice. Consult a licensed advisor for personalized guidance."
    )
    utilization_pct = user.context["signals"]["credit_max_util_pct"]
    recommendations = [
        {
            "type": "education",
            "title": "Understanding Credit Utilization and Your Score",
            "category": "credit_basics",
            "topic": "credit_utilization",
            "rationale": f"Your credit card is at {utilization_pct:.0f}% utilization. "
            "Reducing below 30% could improve your credit score.",
            "disclaimer": disclaimer,
        },
        {
            "type": "education",
            "title": "Debt Avalanche vs. Debt Snowball: Which Strategy is Right for You?",
            "category": "debt_paydown",
            "topic": "debt_paydown_strategy",
            "disclaimer": disclaimer,
        },
    ]
    return "High Utilization", recommendations, user.context


def _engine_run(user: DemoUser) -> list[str]:
    """Do what the engine does: recommend, call the hook, save the trace through the hook."""
    persona, recommendations, user_context = sample_engine_output(user)
    enqueue_videos(user.user_id, persona, recommendations, user_context)
    trace = {
        "user_id": user.user_id,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "phase": "recommendations",
        "persona_assignment": {"persona": persona},
        "recommendations": {
            "persona": persona,
            "total_recommendations": len(recommendations),
            "recommendations": recommendations,
        },
    }
    save_trace(trace)
    return [rec["video_job_id"] for rec in recommendations if rec.get("video_job_id")]


def _wait_with_progress(console: Console, job_ids: list[str], worker: WorkerProcess, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[states]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task("Rendering videos", total=len(job_ids), states="")
        while True:
            states = [reader.get_status(job_id).value for job_id in job_ids]
            done = sum(state in _TERMINAL for state in states)
            summary = ", ".join(f"{states.count(s)} {s}" for s in sorted(set(states)))
            progress.update(bar, completed=done, states=summary)
            if done == len(job_ids):
                return True
            if not worker.running():
                console.print("[red]The worker exited early:[/]\n" + worker.log_text()[-3000:])
                return False
            if time.monotonic() > deadline:
                return False
            time.sleep(POLL_INTERVAL_S)


def _isolated_settings(output_dir: Path) -> Settings:
    """Point this process (and the worker it starts) at a fresh demo directory.

    Raises:
        SettingsError: the directory holds something other than an earlier demo.
    """
    if output_dir.exists() and any(output_dir.iterdir()) and not (output_dir / DEMO_MARKER).exists():
        raise SettingsError(f"{output_dir} is not empty and not an earlier demo's output; choose another --output-dir")
    shutil.rmtree(output_dir, ignore_errors=True)
    output_dir.mkdir(parents=True)
    (output_dir / DEMO_MARKER).write_text("written by spendsense-video demo; this directory is wiped on each run\n")
    os.environ.update(
        {
            "DATABASE_URL": f"sqlite:///{output_dir / 'video_jobs.sqlite'}",
            "CELERY_BROKER_URL": f"sqla+sqlite:///{output_dir / 'broker.sqlite'}",
            "VIDEO_STORAGE_DIR": str(output_dir / "videos"),
            "TRACE_DIR": str(output_dir / "traces"),
            "VIDEO_GENERATION_ENABLED": "true",
        }
    )
    for name in ("VIDEO_PUBLIC_BASE_URL", "VIDEO_STORAGE_URL"):  # the demo stays on local files
        os.environ.pop(name, None)
    dispose_engines()
    settings = reload_settings()
    from worker.celery_app import reconfigure

    reconfigure(settings)
    return settings
