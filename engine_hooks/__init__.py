"""The SpendSense engine's only entry points into the video system.

    from engine_hooks import enqueue_videos, save_trace, warm_up

Nothing here raises into the engine or makes it wait. Database and broker I/O
runs under a hard time budget (`VIDEO_HOOK_BUDGET_MS`, see `engine_hooks.budget`)
and a service that failed is skipped for `VIDEO_HOOK_BACKOFF_S`. Bad input, a
sick service or a bad setting ends up on the recommendation as a `video_status`
from one vocabulary and a short `video_error` (`engine_hooks.outcomes`); details
go to the log at WARNING, without user data. Users without a video, and every
call with the feature flag off, cost the engine nothing: their traces are
written exactly as the engine writes them.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from engine_hooks import fresh_logs
from engine_hooks.budget import BROKER, DATABASE, ServiceUnavailable, Stage, sick, trip, within_budget
from engine_hooks.inputs import VIDEO_TOPIC, job_spec, wants_video
from engine_hooks.outcomes import EngineStatus, error_text, invalid_text
from worker.settings import SettingsError, feature_enabled, get_settings
from worker.trace_files import recommendations_of, trace_file, trace_write_lock, write_json_atomically

log = logging.getLogger(__name__)

__all__ = ["attach_video_trace", "enqueue_videos", "save_trace", "warm_up"]

#: Where traces go when the engine gives no path and the settings cannot be read.
FALLBACK_TRACE_DIR = Path("docs/traces")
#: Budget for `warm_up`, which runs once at start-up, not inside a request.
WARM_UP_BUDGET_MS = 5_000
#: warm_up's rehearsal request (rolled back, never stored): a card, as most real requests have.
WARM_UP_USER = "video-hooks-warm-up"
WARM_UP_CONTEXT = {"signals": {"credit_max_util_pct": 73.0}, "accounts": [
    {"account_type": "credit", "account_subtype": "credit card", "mask": "0000", "balance_current": 730.0,
     "balance_limit": 1000.0, "iso_currency_code": "USD"}]}


def _read_settings_at_import() -> None:
    """The engine imports the hooks at its start-up: read the settings then, not in its first request."""
    try:
        get_settings()
    except SettingsError:
        pass  # explained where it matters, at the first call: on the recommendations and in the log


_read_settings_at_import()


def warm_up() -> bool:
    """Pay the first-call costs at engine start-up instead of in the first request.

    Loads the settings and the modules the hooks use, opens a database connection and checks
    the schema, and connects to the broker. Call it once where the engine starts (next to its
    own database setup). Returns True when videos can be queued; never raises.
    """
    try:
        if not feature_enabled():
            return False
        settings = get_settings()
        from engine_hooks import enqueue  # noqa: F401 (imports the database and broker code)
        from worker import traces  # noqa: F401 (and the trace code)
        from worker.storage import get_store

        get_store(settings)
        within_budget(lambda stage: _connect_everything(stage, settings), first=DATABASE,
                      budget_ms=WARM_UP_BUDGET_MS, backoff_s=settings.hook_backoff_s)
        return True
    except Exception as exc:
        log.warning("video hooks not warmed up: %s", _describe(exc))
        return False


def enqueue_videos(
    user_id: str, persona: str, recommendations: list[dict[str, Any]], user_context: dict[str, Any]
) -> list[str]:
    """Queue one video for this call's credit_utilization recommendations, annotating each in place.

    One job serves every credit_utilization recommendation of a call (their figures come from the
    user's context, not the recommendation). Each gets `video_job_id` (when a job exists) and
    `video_status`: `queued`; `completed` with `video_url` and `video_metadata` when an identical
    video already exists; `invalid` or `unavailable` with `video_error`.

    Returns:
        The job id of each such recommendation that carries one (the same id for all of them);
        empty when the feature flag is off, nothing asked for a video, or no job could be written.
    """
    try:
        return _enqueue_videos(user_id, persona, recommendations, user_context)
    except Exception as exc:  # the engine must never crash because of videos
        log.warning("video enqueue skipped: %s", _describe(exc))
        return []


def attach_video_trace(trace: dict[str, Any]) -> dict[str, Any]:
    """Fill `video_url`/`video_metadata` and `video_generation_log` from the database; returns `trace`.

    A trace with no `video_job_id` on any recommendation (and any trace with the flag off) is
    returned untouched. If the database cannot be read in time, `video_generation_error` says so.
    """
    try:
        if isinstance(trace, dict) and feature_enabled() and _video_job_ids(trace):
            _attach(trace, get_settings(), time.monotonic())
    except Exception as exc:
        log.warning("video trace not attached: %s", _describe(exc))
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


# -- enqueue ---------------------------------------------------------------------------------------
def _enqueue_videos(user_id: object, persona: object, recommendations: object, user_context: object) -> list[str]:
    from worker.errors import InvalidVideoInput

    if not feature_enabled():
        return []
    if not isinstance(recommendations, list):
        log.warning("video enqueue skipped: recommendations is a %s, not a list", type(recommendations).__name__)
        return []
    targets = [rec for rec in recommendations if wants_video(rec)]
    if not targets:
        return []
    fresh_logs.remember(user_id, None, None)  # an earlier call's log is no longer this trace's
    try:
        settings = get_settings()
    except SettingsError as exc:
        log.warning("video enqueue skipped: %s", exc)
        return _mark(targets, EngineStatus.UNAVAILABLE, error_text("configuration_invalid"))
    try:
        spec = job_spec(user_id, persona, VIDEO_TOPIC, user_context, targets,
                        account_details=settings.video_prompt_account_details)
    except InvalidVideoInput as exc:
        log.warning("video not queued for %d recommendation(s): invalid input (see video_error)", len(targets))
        return _mark(targets, EngineStatus.INVALID, invalid_text(str(exc)))
    if service := sick(DATABASE, BROKER):
        return _mark(targets, EngineStatus.UNAVAILABLE, error_text(f"{service}_unavailable"))
    try:
        job = within_budget(lambda stage: _write_and_publish(spec, stage, settings), first=DATABASE,
                            budget_ms=settings.hook_budget_ms, backoff_s=settings.hook_backoff_s)
    except Exception as exc:
        code, job_id = _failure(exc, settings.hook_backoff_s)
        for rec in targets:
            if job_id:
                rec["video_job_id"] = job_id
        _mark(targets, EngineStatus.UNAVAILABLE, error_text(code))
        return [job_id] * len(targets) if job_id else []
    fresh_logs.remember(user_id, job.job_id, job.whole_log)
    for rec in targets:
        rec["video_job_id"], rec["video_status"] = job.job_id, job.status
        rec.pop("video_error", None)
        if job.video_url:
            rec["video_url"], rec["video_metadata"] = job.video_url, job.video_metadata
    return [job.job_id] * len(targets)


def _write_and_publish(spec, stage: Stage, settings):
    from engine_hooks.enqueue import enqueue_job
    from worker.db.schema import ensure_schema_current

    ensure_schema_current(settings.database_url)
    return enqueue_job(spec, before_publish=lambda: setattr(stage, "service", BROKER))


def _failure(exc: Exception, backoff_s: float) -> tuple[str, str | None]:
    """The engine-facing code for a failed enqueue (tripping the sick service), and a job id if one exists."""
    from sqlalchemy.exc import SQLAlchemyError

    from engine_hooks.enqueue import PublishError
    from worker.db.schema import SchemaNotCurrentError

    log.warning("video not queued: %s", _describe(exc))
    if isinstance(exc, ServiceUnavailable):
        return f"{exc.service}_unavailable", None
    if isinstance(exc, SchemaNotCurrentError):
        return "schema_outdated", None
    if isinstance(exc, PublishError):
        trip(BROKER, backoff_s)
        return "broker_unavailable", exc.job_id
    if isinstance(exc, SQLAlchemyError):
        trip(DATABASE, backoff_s)
    return "database_unavailable", None


def _mark(recs: list[dict[str, Any]], status: EngineStatus, message: str) -> list[str]:
    for rec in recs:
        rec["video_status"], rec["video_error"] = status.value, message
    return []


# -- traces ----------------------------------------------------------------------------------------
def _attach(trace: dict[str, Any], settings, started: float, known_log: list | None = None) -> None:
    """Fill the video fields (from `known_log`, or from the database within what is left of the
    budget), or say they could not be read."""
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
        within_budget(lambda stage: _read_video_fields(trace, settings), first=DATABASE,
                      budget_ms=remaining_ms, backoff_s=settings.hook_backoff_s)
    except Exception as exc:
        _failure(exc, settings.hook_backoff_s)
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
    from filelock import Timeout

    remaining_s = max(settings.hook_budget_ms / 1000 - (time.monotonic() - started), 0.0)
    try:
        with trace_write_lock(path, timeout_s=remaining_s):
            _attach(trace, settings, started, fresh_logs.take(trace.get("user_id"), _video_job_ids(trace),
                                                              _modified_at(path)))
            write_json_atomically(path, trace, durable=False)
            return
    except Timeout:
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
    return [rec["video_job_id"] for rec in recommendations_of(trace) if isinstance(rec, dict) and rec.get("video_job_id")]


def _default_path(trace: dict[str, Any], settings) -> Path:
    return trace_file(str(trace.get("user_id", "unknown")), settings.trace_dir if settings else FALLBACK_TRACE_DIR)


def _settings_or_none():
    try:
        return get_settings()
    except SettingsError as exc:
        log.warning("video settings are invalid; traces are written without video fields: %s", exc)
        return None


def _connect_everything(stage: Stage, settings) -> None:
    from engine_hooks.enqueue import rehearse
    from worker.db.schema import ensure_schema_current
    from worker.messages import connect_broker

    ensure_schema_current(settings.database_url)
    # A made-up request, inserted and rolled back: the first real one finds every statement compiled.
    rehearse(job_spec(WARM_UP_USER, "High Utilization", VIDEO_TOPIC, WARM_UP_CONTEXT))
    stage.service = BROKER
    connect_broker()


def _describe(exc: BaseException) -> str:
    """For the operator's log: the kind of failure, never a driver's text (it can carry hosts and values)."""
    from worker.db.schema import SchemaNotCurrentError

    if isinstance(exc, ServiceUnavailable):
        return f"the {exc.service} {exc.reason}"
    if isinstance(exc, (SchemaNotCurrentError, SettingsError)):
        return str(exc)
    return type(exc).__name__
