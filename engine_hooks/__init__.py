"""The SpendSense engine's only entry points into the video system.

    from engine_hooks import enqueue_videos, save_trace, warm_up

Nothing here raises into the engine or makes it wait. Database and broker I/O
runs under a hard time budget (`VIDEO_HOOK_BUDGET_MS`, see `engine_hooks.budget`)
and a service that failed is skipped for `VIDEO_HOOK_BACKOFF_S`. Bad input, a
sick service or a bad setting ends up on the recommendation as a `video_status`
from one vocabulary and a short `video_error` (`engine_hooks.outcomes`); details
go to the log at WARNING, without user data. Users without a video, and every
call with the feature flag off, cost the engine nothing: their traces are
written exactly as the engine writes them. The trace calls live in
`engine_hooks.trace_save`; what a failure tells the engine and the log, in
`engine_hooks.failures`.
"""

from __future__ import annotations

import logging
from typing import Any

from engine_hooks import fresh_logs
from engine_hooks.budget import BROKER, DATABASE, Stage, sick, within_budget
from engine_hooks.failures import describe, failure_code
from engine_hooks.inputs import VIDEO_TOPIC, job_spec, wants_video
from engine_hooks.outcomes import EngineStatus, error_text, invalid_text
from engine_hooks.trace_save import attach_video_trace, save_trace
from worker.settings import SettingsError, feature_enabled, get_settings

log = logging.getLogger(__name__)

__all__ = ["attach_video_trace", "enqueue_videos", "save_trace", "warm_up"]

#: Budget for `warm_up`, which runs once at start-up, not inside a request.
WARM_UP_BUDGET_MS = 5_000
#: warm_up's rehearsal request (rolled back, never stored): a card, as most real requests have.
WARM_UP_USER = "video-hooks-warm-up"
WARM_UP_CONTEXT = {
    "signals": {"credit_max_util_pct": 73.0},
    "accounts": [
        {
            "account_type": "credit",
            "account_subtype": "credit card",
            "mask": "0000",
            "balance_current": 730.0,
            "balance_limit": 1000.0,
            "iso_currency_code": "USD",
        }
    ],
}


def _prepare_at_import() -> None:
    """The engine imports the hooks at its start-up: read the settings then, not in its first request,
    and, with the feature on, load the code the calls run (SQLAlchemy, Celery, the broker's
    transport, currency data: several hundred ms). Loaded inside a first request instead, it would
    run on a hook thread, overrun the budget, and hold import locks the engine's thread then waits
    for. Nothing here connects (that is `warm_up`'s job); like the worker's configuration, it creates
    the embedded broker's directory."""
    try:
        if not feature_enabled():
            return
        get_settings()
        import engine_hooks.enqueue  # noqa: F401  (the database code a call runs)
        import worker.db.schema  # noqa: F401
        import worker.traces  # noqa: F401
        from worker.messages import prepare_publishing

        prepare_publishing()
        job_spec(WARM_UP_USER, "High Utilization", VIDEO_TOPIC, WARM_UP_CONTEXT)
    except SettingsError:
        pass  # explained where it matters, at the first call: on the recommendations and in the log
    except Exception as exc:  # the engine's start-up must not fail because of videos
        log.warning("video hooks not prepared at import: %s", describe(exc))


_prepare_at_import()


def warm_up() -> bool:
    """Pay the first-call costs at engine start-up instead of in the first request.

    Opens a database connection and checks the schema, rehearses a request's insert and log read
    (rolled back), and connects to the broker. Call it once where the engine starts (next to its
    own database setup). Returns True when videos can be queued; never raises.
    """
    try:
        if not feature_enabled():
            return False
        settings = get_settings()
        from worker.storage import get_store

        get_store(settings)
        within_budget(
            lambda stage: _connect_everything(stage, settings),
            first=DATABASE,
            budget_ms=WARM_UP_BUDGET_MS,
            backoff_s=settings.hook_backoff_s,
        )
        return True
    except Exception as exc:
        log.warning("video hooks not warmed up: %s", describe(exc))
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
        log.warning("video enqueue skipped: %s", describe(exc))
        return []


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
        spec = job_spec(
            user_id, persona, VIDEO_TOPIC, user_context, targets, account_details=settings.video_prompt_account_details
        )
    except InvalidVideoInput as exc:
        log.warning("video not queued for %d recommendation(s): invalid input (see video_error)", len(targets))
        return _mark(targets, EngineStatus.INVALID, invalid_text(str(exc)))
    if service := sick(DATABASE, BROKER):
        return _mark(targets, EngineStatus.UNAVAILABLE, error_text(f"{service}_unavailable"))
    try:
        job = within_budget(
            lambda stage: _write_and_publish(spec, stage, settings),
            first=DATABASE,
            budget_ms=settings.hook_budget_ms,
            backoff_s=settings.hook_backoff_s,
        )
    except Exception as exc:
        log.warning("video not queued: %s", describe(exc))
        code, job_id = failure_code(exc, settings.hook_backoff_s)
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

    def written(job_id: str) -> None:
        stage.service, stage.job_id = BROKER, job_id

    ensure_schema_current(settings.database_url)
    return enqueue_job(spec, before_publish=written)


def _mark(recs: list[dict[str, Any]], status: EngineStatus, message: str) -> list[str]:
    for rec in recs:
        rec["video_status"], rec["video_error"] = status.value, message
    return []


# -- traces ----------------------------------------------------------------------------------------
def _connect_everything(stage: Stage, settings) -> None:
    from engine_hooks.enqueue import rehearse
    from worker.db.schema import ensure_schema_current
    from worker.messages import connect_broker

    ensure_schema_current(settings.database_url)
    # A made-up request, inserted and rolled back: the first real one finds every statement compiled.
    rehearse(job_spec(WARM_UP_USER, "High Utilization", VIDEO_TOPIC, WARM_UP_CONTEXT))
    stage.service = BROKER
    connect_broker()
