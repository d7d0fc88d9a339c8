"""The SpendSense engine's only entry points into the video system.

    from engine_hooks import enqueue_videos, attach_video_trace

Neither function ever raises into the engine and neither waits for a video:
`enqueue_videos` writes a row and publishes a message per credit-utilization
recommendation, and `attach_video_trace` reads what the database knows now.
Problems are written onto the recommendation (`video_status: "error"`,
`video_error`) and logged without user data.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from engine_hooks.inputs import VIDEO_TOPIC, job_spec, wants_video
from worker.errors import InvalidVideoInput

log = logging.getLogger(__name__)

__all__ = ["attach_video_trace", "enqueue_videos", "save_trace"]


def enqueue_videos(
    user_id: str, persona: str, recommendations: list[dict[str, Any]], user_context: dict[str, Any]
) -> list[str]:
    """Queue a video for every credit_utilization recommendation, annotating each in place.

    Each such recommendation gets `video_job_id` and `video_status` ("queued", or
    "completed" with `video_url` and `video_metadata` when an identical video
    already exists), or `video_status: "error"` and `video_error`.

    Returns:
        The job ids, one per recommendation that has a job. Empty when the
        feature flag (VIDEO_GENERATION_ENABLED / SORA_ENABLED) is off.
    """
    try:
        return _enqueue_videos(user_id, persona, recommendations, user_context)
    except Exception as exc:  # the engine must never crash because of videos
        log.warning("video enqueue skipped: %s", type(exc).__name__)
        return []


def attach_video_trace(trace: dict[str, Any]) -> dict[str, Any]:
    """Fill `video_url`/`video_metadata` and `video_generation_log` from the database.

    Called from the engine's `_save_trace`; returns the same dict. If the
    database cannot be read, the trace is returned with
    `video_generation_error` set instead.
    """
    try:
        from worker.settings import feature_enabled, get_settings

        if not feature_enabled() or not isinstance(trace, dict):
            return trace
        settings = get_settings()
        from worker.db.migrate import ensure_schema_current
        from worker.traces import apply_video_fields

        ensure_schema_current(settings.database_url)
        trace.pop("video_generation_error", None)
        return apply_video_fields(trace)
    except Exception as exc:
        log.warning("video trace not attached: %s", type(exc).__name__)
        if isinstance(trace, dict):
            trace["video_generation_error"] = _unavailable(exc)
        return trace


def save_trace(trace: dict[str, Any], path: str | Path | None = None) -> Path:
    """`attach_video_trace`, then write the trace atomically under the worker's lock for that file.

    Use it in `_save_trace` instead of writing the file yourself: the worker rewrites the same
    file when a job finishes, and the shared lock means the last writer always holds the
    newest database state, so the file converges. `path` defaults to TRACE_DIR/<user_id>.json.

    Raises:
        OSError: the file could not be written (the engine's own concern, as before).
    """
    from worker.settings import get_settings
    from worker.traces import trace_path, trace_write_lock, write_json_atomically

    if path is None:
        path = trace_path(str(trace.get("user_id", "unknown")), get_settings())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with trace_write_lock(path):
        write_json_atomically(path, attach_video_trace(trace))
    return path


def _enqueue_videos(user_id: object, persona: object, recommendations: object, user_context: object) -> list[str]:
    from worker.settings import SettingsError, feature_enabled, get_settings

    if not feature_enabled():
        return []
    if not isinstance(recommendations, list):
        log.warning("video enqueue skipped: recommendations is a %s, not a list", type(recommendations).__name__)
        return []
    skipped = sum(1 for rec in recommendations if not isinstance(rec, dict))
    if skipped:
        log.warning("video enqueue: %d recommendation(s) are not dicts and were skipped", skipped)
    targets = [rec for rec in recommendations if wants_video(rec)]
    if not targets:
        return []
    try:
        settings = get_settings()
    except SettingsError as exc:
        return _unavailable_for_all(targets, str(exc))
    try:
        from worker.db.migrate import ensure_schema_current

        ensure_schema_current(settings.database_url)
    except Exception as exc:
        return _unavailable_for_all(targets, _unavailable(exc))
    job_id = _enqueue_for(user_id, persona, targets, user_context)
    return [job_id] * len(targets) if job_id else []


def _enqueue_for(user_id: object, persona: object, recs: list[dict[str, Any]], user_context: object) -> str | None:
    """One job serves every credit_utilization recommendation of this call: its figures come from
    the user's context, not the recommendation, so it is written and published once."""
    from engine_hooks.enqueue import PublishError, enqueue_job

    from worker.settings import get_settings

    try:
        spec = job_spec(user_id, persona, VIDEO_TOPIC, user_context, recs,
                        account_details=get_settings().video_prompt_account_details)
        job = enqueue_job(spec)
    except InvalidVideoInput as exc:
        log.warning("video not queued for %d recommendation(s): invalid input (see video_error)", len(recs))
        _mark_all(recs, str(exc))
        return None
    except PublishError as exc:
        log.warning("video job %s could not be published; it is marked failed", exc.job_id)
        for rec in recs:
            rec["video_job_id"] = exc.job_id
        _mark_all(recs, str(exc))
        return None
    except Exception as exc:
        log.warning("video not queued: %s", type(exc).__name__)
        _mark_all(recs, _unavailable(exc))
        return None
    for rec in recs:
        rec["video_job_id"] = job.job_id
        rec["video_status"] = job.status
        rec.pop("video_error", None)
        if job.video_url:
            rec["video_url"] = job.video_url
            rec["video_metadata"] = job.video_metadata
    return job.job_id


def _unavailable_for_all(recs: list[dict[str, Any]], message: str) -> list[str]:
    log.warning("video enqueue skipped for %d recommendation(s): video system unavailable", len(recs))
    return _mark_all(recs, message)


def _mark_all(recs: list[dict[str, Any]], message: str) -> list[str]:
    for rec in recs:
        _mark_error(rec, message)
    return []


def _mark_error(rec: dict[str, Any], message: str) -> None:
    rec["video_status"] = "error"
    rec["video_error"] = message


def _unavailable(exc: Exception) -> str:
    from worker.db.migrate import SchemaNotCurrentError

    if isinstance(exc, SchemaNotCurrentError):
        return str(exc)
    detail = str(exc).splitlines()[0][:300] if str(exc) else ""
    return f"video system unavailable: {type(exc).__name__}" + (f": {detail}" if detail else "")
