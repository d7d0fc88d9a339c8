"""`save_trace` and `attach_video_trace`: the video part of the engine's trace, written the engine's way.

A trace without a video job (and every trace with the flag off) is written byte
for byte as the engine writes it, with no database query and no lock. One with
a job is filled under the lock the worker shares: from what `enqueue_videos`
found a moment ago (`engine_hooks.fresh_logs`), or from the database within what
is left of the hook budget.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from engine_hooks import fresh_logs
from engine_hooks.budget import DATABASE, sick, within_budget
from engine_hooks.failures import describe, failure_code
from engine_hooks.outcomes import EngineStatus, error_text
from worker.settings import SettingsError, feature_enabled, get_settings
from worker.trace_files import TraceLockTimeout, recommendations_of, trace_file, trace_write_lock, write_json_atomically

log = logging.getLogger(__name__)

#: Where traces go when the engine gives no path and the settings cannot be read.
FALLBACK_TRACE_DIR = Path("docs/traces")


def attach_video_trace(trace: dict[str, Any]) -> dict[str, Any]:
    """Fill `video_url`/`video_metadata` and `video_generation_log` from the database; returns `trace`.

    A trace with no `video_job_id` on any recommendation (and any trace with the flag off) is
    returned untouched. If the database cannot be read in time, `video_generation_error` says so.
    """
    try:
        if isinstance(trace, dict) and feature_enabled() and _video_job_ids(trace):
            _attach(trace, get_settings(), time.monotonic())
    except Exception as exc:
        log.warning("video trace not attached: %s", describe(exc))
    return trace


def save_trace(trace: dict[str, Any], path: str | Path | None = None) -> Path:
    """Write the engine's trace, with its video fields, where `_save_trace` writes it.

    Use it in place of `_save_trace`'s `json.dump(trace_data, f, indent=2)`: the file has the
    same format. For a user without a video job the bytes are exactly the engine's own. For one
    with a job, the worker rewrites the same file when the job ends; both take a lock (waiting at
    most the hook budget; if it is still held the trace is written anyway and the worker's next
    rewrite or the reconciler brings it up to date). `path` defaults to TRACE_DIR/<user_id>.json.

    Raises:
        OSError: the file could not be written (the engine's own concern, as before).
    """
    started = time.monotonic()
    settings = _settings_or_none()
    path = Path(path) if path is not None else _default_path(trace, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    if settings is None or not settings.video_generation_enabled or not _video_job_ids(trace):
        write_json_atomically(path, trace, durable=False)
        return path
    _attach_and_write(path, trace, settings, started)
    return path


def _attach(trace: dict[str, Any], settings, started: float, known_log: list | None = None) -> None:
    """Fill the video fields (from `known_log`, or from the database within what is left of the
    budget), or say they could not be read. A job this request could not hand to the broker stays
    `unavailable`, though its row says queued until the background publish gives up or gets through:
    queued would promise a message that may not exist (the worker's or the reconciler's rewrite
    brings the truth)."""
    not_handed_over = [
        (rec, rec.get("video_error"))
        for rec in recommendations_of(trace)
        if isinstance(rec, dict)
        and rec.get("video_job_id")
        and rec.get("video_status") == EngineStatus.UNAVAILABLE.value
    ]
    _fill(trace, settings, started, known_log)
    for rec, error in not_handed_over:
        if rec.get("video_status") == EngineStatus.QUEUED.value:
            rec["video_status"], rec["video_error"] = EngineStatus.UNAVAILABLE.value, error


def _fill(trace: dict[str, Any], settings, started: float, known_log: list | None) -> None:
    if known_log is not None:  # what enqueue_videos found or wrote a moment ago: nothing to read
        from worker.traces import apply_video_fields

        apply_video_fields(trace, known_log)
        trace.pop("video_generation_error", None)
        return
    if service := sick(DATABASE):
        trace["video_generation_error"] = error_text("trace_not_updated")
        log.warning("video trace not attached: the %s is in back-off", service)
        return
    remaining_ms = max(settings.hook_budget_ms - 1000 * (time.monotonic() - started), 1.0)
    try:
        within_budget(
            lambda stage: _read_video_fields(trace, settings),
            first=DATABASE,
            budget_ms=remaining_ms,
            backoff_s=settings.hook_backoff_s,
        )
    except Exception as exc:
        failure_code(exc, settings.hook_backoff_s)
        log.warning("video trace not attached: %s", describe(exc))
        trace["video_generation_error"] = error_text("trace_not_updated")
        return
    trace.pop("video_generation_error", None)


def _read_video_fields(trace: dict[str, Any], settings) -> None:
    from worker.db.schema import ensure_schema_current
    from worker.traces import apply_video_fields

    ensure_schema_current(settings.database_url)
    apply_video_fields(trace)


def _attach_and_write(path: Path, trace: dict[str, Any], settings, started: float) -> None:
    """Read the video fields and write the file under the trace lock, so a worker's rewrite of the
    same file lands wholly before or wholly after ours. The lock is waited for within the budget;
    if it is still held, the trace is written anyway (the worker's rewrite or the reconciler brings
    its video fields up to date)."""
    remaining_s = max(settings.hook_budget_ms / 1000 - (time.monotonic() - started), 0.0)
    try:
        with trace_write_lock(path, timeout_s=remaining_s):
            _attach(
                trace,
                settings,
                started,
                fresh_logs.take(trace.get("user_id"), _video_job_ids(trace), _modified_at(path)),
            )
            write_json_atomically(path, trace, durable=False)
            return
    except TraceLockTimeout:
        log.warning("video trace lock busy; the trace is written without it (the worker brings it up to date)")
    _attach(trace, settings, started)
    write_json_atomically(path, trace, durable=False)


def _modified_at(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _video_job_ids(trace: object) -> list[str]:
    if not isinstance(trace, dict):
        return []
    return [
        rec["video_job_id"] for rec in recommendations_of(trace) if isinstance(rec, dict) and rec.get("video_job_id")
    ]


def _default_path(trace: dict[str, Any], settings) -> Path:
    return trace_file(str(trace.get("user_id", "unknown")), settings.trace_dir if settings else FALLBACK_TRACE_DIR)


def _settings_or_none():
    try:
        return get_settings()
    except SettingsError as exc:
        log.warning("video settings are invalid; traces are written without video fields: %s", exc)
        return None
