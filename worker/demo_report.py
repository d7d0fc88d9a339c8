"""The demo's results: one row per video, a table that fits an 80-column terminal, and results.md/json
with the full URLs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from worker.jobs import reader
from worker.settings import Settings
from worker.storage.urls import job_urls
from worker.traces import trace_path


def result_rows(jobs: dict[str, list[str]], settings: Settings) -> list[dict[str, Any]]:
    rows = []
    for user_id, job_ids in jobs.items():
        for job in reader.jobs_by_id(job_ids).values():
            urls = job_urls(job)
            figures = (job.input or {}).get("figures") or {}
            card = figures.get("card") or {}
            rows.append(
                {
                    "user_id": user_id,
                    "job_id": job.id,
                    "utilization_pct": figures.get("start_utilization_pct"),
                    "card_mask": card.get("mask"),
                    "video_url": urls.video_url,
                    "poster_url": urls.poster_url,
                    "duration_seconds": job.duration_seconds,
                    "resolution": job.resolution,
                    "generation_time_seconds": job.generation_time_seconds,
                    "status": job.status,
                    "provider": job.provider,
                    "error": job.error_message,
                    "trace_file": str(trace_path(user_id, settings)),
                }
            )
    return rows


def print_and_write(console: Console, rows: list[dict[str, Any]], output_dir: Path) -> None:
    """A table that fits the terminal (file names only); results.md has the full URLs."""
    table = Table(title="Demo results", box=box.SIMPLE_HEAD)
    for header in ("user", "util.", "card", "status", "render", "video", "poster"):
        table.add_column(header, no_wrap=header not in ("video", "poster"))
    for row in rows:
        table.add_row(
            row["user_id"],
            _percent(row["utilization_pct"]),
            row["card_mask"] or "-",
            row["status"],
            _seconds(row["generation_time_seconds"]),
            _short_name(row["video_url"]) or row["error"] or "-",
            _short_name(row["poster_url"]) or "-",
        )
    console.print(table)
    headers = (
        "user",
        "utilization",
        "card",
        "video URL",
        "poster URL",
        "duration",
        "resolution",
        "generation time",
        "status",
    )
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        cells = (
            row["user_id"],
            _percent(row["utilization_pct"]),
            row["card_mask"] or "-",
            row["video_url"] or row["error"] or "-",
            row["poster_url"] or "-",
            _seconds(row["duration_seconds"]),
            row["resolution"] or "-",
            _seconds(row["generation_time_seconds"]),
            row["status"],
        )
        lines.append("| " + " | ".join(cells) + " |")
    (output_dir / "results.md").write_text("\n".join(lines) + "\n")
    (output_dir / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    console.print(f"Full URLs: {output_dir / 'results.md'} and results.json; traces in {output_dir / 'traces'}")


def _percent(value: float | None) -> str:
    return f"{value:.1f}%" if value is not None else "-"


def _seconds(value: float | None) -> str:
    return f"{value:.2f} s" if value else "-"


def _short_name(url: str | None) -> str | None:
    """`5e8e1d….mp4` for a content-addressed file: enough to tell the files apart on screen."""
    if not url:
        return None
    stem, dot, extension = url.rsplit("/", 1)[-1].partition(".")
    return f"{stem[:6]}…{dot}{extension}" if len(stem) > 7 else f"{stem}{dot}{extension}"
