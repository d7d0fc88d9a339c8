"""`spendsense-video demo`: five users through the real path, end to end.

engine-side hook → video_jobs row + message on the embedded broker → a real
`celery worker` child process → provider → storage → database → trace files.
Everything lives under one output directory (wiped at the start) so the demo
never touches a real database. The provider is whatever VIDEO_PROVIDER says
(the local renderer by default).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from engine_hooks import enqueue_videos, save_trace
from worker.db.migrate import upgrade_to_head
from worker.db.models import TERMINAL_STATES, JobStatus
from worker.db.session import dispose_engines
from worker.jobs import reader
from worker.settings import Settings, SettingsError, reload_settings
from worker.storage.urls import job_urls
from worker.traces import refresh_trace_file, trace_path
from worker.worker_process import WorkerProcess

#: The five sample users and their credit-card utilization (percent of limit).
SAMPLE_UTILIZATION_PCT = {
    "user_0001": 73.0,
    "user_0004": 86.2,
    "user_0007": 58.4,
    "user_0012": 94.8,
    "user_0015": 41.6,
}
#: Wide enough that a file:// URL fits on one line of the results table.
TABLE_MIN_WIDTH = 200
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
    console.print(f"[bold]SpendSense video demo[/] — provider [cyan]{settings.video_provider}[/], "
                  f"output in {output_dir}")
    worker = WorkerProcess(dict(os.environ), output_dir / "worker.log", name="demo")
    with worker:
        jobs = {user_id: _engine_run(user_id, utilization) for user_id, utilization in SAMPLE_UTILIZATION_PCT.items()}
        finished = _wait_with_progress(console, [job for ids in jobs.values() for job in ids], worker, timeout_s)
    if serve_port is not None:
        settings = _served_settings(serve_port)
    for user_id in jobs:
        refresh_trace_file(user_id, settings)
    rows = _result_rows(jobs, settings)
    _print_and_write(console, rows, output_dir)
    if not finished:
        console.print(f"[red]Not every job finished; see {output_dir / 'worker.log'}[/]")
    ok = finished and all(row["status"] == JobStatus.COMPLETED.value for row in rows)
    if serve_port is None:
        console.print("Watch them in a browser: [bold]spendsense-video demo --serve[/] renders them again and "
                      "serves them, with the preview page, on http://127.0.0.1:8000/")
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

    user, password = settings.video_preview_auth.get_secret_value().split(":", 1)
    console.print(f"Serving on [bold]http://127.0.0.1:{port}/[/] (preview page: user [cyan]{user}[/], password "
                  f"[cyan]{password}[/]); Ctrl-C stops.")
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


def sample_engine_output(user_id: str, utilization_pct: float) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """What `generate_recommendations` produces for a high-utilization user (the real shapes)."""
    disclaimer = ("This is educational content, not financial advice. "
                  "Consult a licensed advisor for personalized guidance.")
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
    return "High Utilization", recommendations, {"signals": {"credit_max_util_pct": utilization_pct}}


def _engine_run(user_id: str, utilization_pct: float) -> list[str]:
    """Do what the engine does: recommend, call the hook, save the trace through the hook."""
    persona, recommendations, user_context = sample_engine_output(user_id, utilization_pct)
    enqueue_videos(user_id, persona, recommendations, user_context)
    trace = {
        "user_id": user_id,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "phase": "recommendations",
        "persona_assignment": {"persona": persona},
        "recommendations": {"persona": persona, "total_recommendations": len(recommendations),
                            "recommendations": recommendations},
    }
    save_trace(trace)
    return [rec["video_job_id"] for rec in recommendations if rec.get("video_job_id")]


def _wait_with_progress(console: Console, job_ids: list[str], worker: WorkerProcess, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TextColumn("{task.fields[states]}"), TimeElapsedColumn())
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


def _result_rows(jobs: dict[str, list[str]], settings: Settings) -> list[dict[str, Any]]:
    rows = []
    for user_id, job_ids in jobs.items():
        for job in reader.jobs_by_id(job_ids).values():
            rows.append({
                "user_id": user_id,
                "job_id": job.id,
                "video_url": job_urls(job).video_url,
                "duration_seconds": job.duration_seconds,
                "resolution": job.resolution,
                "generation_time_seconds": job.generation_time_seconds,
                "status": job.status,
                "provider": job.provider,
                "error": job.error_message,
                "trace_file": str(trace_path(user_id, settings)),
            })
    return rows


def _print_and_write(console: Console, rows: list[dict[str, Any]], output_dir: Path) -> None:
    table = Table(title="Demo results")
    headers = ("user", "video URL", "duration", "resolution", "generation time", "status")
    for header in headers:
        wraps = header == "video URL"
        table.add_column(header, overflow="fold" if wraps else "ellipsis", no_wrap=not wraps)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        cells = (
            row["user_id"], row["video_url"] or row["error"] or "-",
            f"{row['duration_seconds']:.2f} s" if row["duration_seconds"] else "-", row["resolution"] or "-",
            f"{row['generation_time_seconds']:.2f} s" if row["generation_time_seconds"] else "-", row["status"],
        )
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    Console(width=max(console.width, TABLE_MIN_WIDTH)).print(table)
    (output_dir / "results.md").write_text("\n".join(lines) + "\n")
    (output_dir / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    console.print(f"Results: {output_dir / 'results.md'} and results.json; traces in {output_dir / 'traces'}")


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
    os.environ.update({
        "DATABASE_URL": f"sqlite:///{output_dir / 'video_jobs.sqlite'}",
        "CELERY_BROKER_URL": f"sqla+sqlite:///{output_dir / 'broker.sqlite'}",
        "VIDEO_STORAGE_DIR": str(output_dir / "videos"),
        "TRACE_DIR": str(output_dir / "traces"),
        "VIDEO_GENERATION_ENABLED": "true",
    })
    for name in ("VIDEO_PUBLIC_BASE_URL", "VIDEO_STORAGE_URL"):  # the demo stays on local files
        os.environ.pop(name, None)
    dispose_engines()
    settings = reload_settings()
    from worker.celery_app import reconfigure

    reconfigure(settings)
    return settings
