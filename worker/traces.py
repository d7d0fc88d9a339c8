"""The video part of a user's trace: built from the database, merged into the engine's JSON.

`apply_video_fields` is pure over the database: it fills each recommendation
that has a `video_job_id` and rebuilds `video_generation_log` from the events
table. Because the log is rebuilt rather than appended to, any number of
writers converge on the same content; `refresh_trace_file` only has to keep
their file writes from interleaving (a lock) and never leave a half-written
file (write to a temporary file, then rename).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from worker.db.models import JobStatus, VideoJob, VideoJobEvent
from worker.jobs import reader
from worker.settings import Settings
from worker.storage.urls import JobUrls, job_urls
from worker.trace_files import recommendations_of, trace_file, trace_write_lock, write_json_atomically

log = logging.getLogger(__name__)


def apply_video_fields(
    trace: dict[str, Any], known: list[tuple[VideoJobEvent, VideoJob]] | None = None
) -> dict[str, Any]:
    """Fill video fields and the generation log of `trace` in place, and return it.

    One query reads the user's events with their jobs; a recommendation naming a job of
    another user (rare) costs a second one. `known` passes the user's whole log instead,
    when the caller already holds it (a job just queued for a user with no other).
    """
    recs = [rec for rec in recommendations_of(trace) if isinstance(rec, dict) and rec.get("video_job_id")]
    user_id = trace.get("user_id")
    if known is not None:
        events = known
    else:
        events = reader.user_events(user_id) if isinstance(user_id, str) else []
    jobs = {job.id: job for _, job in events}
    missing = {str(rec["video_job_id"]) for rec in recs} - set(jobs)
    if missing:
        jobs.update(reader.jobs_by_id(missing))
    urls = {job.id: job_urls(job) for job in jobs.values() if job.status == JobStatus.COMPLETED.value}
    for rec in recs:
        job = jobs.get(str(rec["video_job_id"]))
        if job is None:
            rec["video_status"] = JobStatus.NOT_FOUND.value
            continue
        job_url = urls.get(job.id) or job_urls(job)
        rec["video_status"] = engine_status(job)
        rec["video_url"] = job_url.video_url
        rec["video_metadata"] = video_metadata(job, job_url)
        if job.status == JobStatus.FAILED.value:  # the engine gets a code; the details stay in the job and its log
            rec["video_error"] = f"video_failed: the video could not be made ({job.error_type or 'unknown error'})."
        elif job.is_degraded:
            rec["video_error"] = DEGRADED_ERROR
        else:
            rec.pop("video_error", None)
    if isinstance(user_id, str):
        trace["video_generation_log"] = [log_entry(event, job, urls.get(job.id)) for event, job in events]
    return trace


#: What the engine is told about a job that finished with a poster instead of a video.
DEGRADED_ERROR = "video_degraded: only a poster could be made; the next request for this video tries again."


def engine_status(job: VideoJob) -> str:
    """The job's status as the engine sees it: a poster-only completion is `degraded`, never `completed`."""
    return "degraded" if job.is_degraded else job.status


def video_metadata(job: VideoJob, urls: JobUrls | None = None) -> dict[str, Any]:
    """What the trace says about a job's video; URLs are minted now from its keys."""
    urls = urls or job_urls(job)
    generated_at = None
    if job.status == JobStatus.COMPLETED.value:
        assert job.finished_at is not None  # recorder.complete() and reuse_at_enqueue() set it with the status
        generated_at = job.finished_at.isoformat()
    return {
        "status": engine_status(job),
        "duration_seconds": job.duration_seconds,
        "resolution": job.resolution,
        "generated_at": generated_at,
        "prompt_hash": job.prompt_hash,
        "template_version": job.template_version,
        "generation_time_seconds": job.generation_time_seconds,
        "provider": job.provider,
        "renderer_version": job.renderer_version,
        "file_size_bytes": job.file_size_bytes,
        "video_key": job.video_key,
        "poster_url": urls.poster_url,
        "captions_url": urls.captions_url,
        "video_url_expires_at": urls.expires_at.isoformat() if urls.expires_at else None,
        "description": job.description,
        "storyboard": "card" if _shows_card(job) else "utilization",
        "card_note": (job.input or {}).get("card_note"),
        "fallback_used": job.fallback_used,
        "fallback_tier": job.fallback_tier,
        "fallback_reason": job.fallback_reason,
        "remote_id": job.remote_id,
        "model": job.remote_model,
        "estimated_cost_usd": job.estimated_cost_usd,
    }


def _shows_card(job: VideoJob) -> bool:
    figures = (job.input or {}).get("figures")
    return isinstance(figures, dict) and figures.get("card") is not None


def log_entry(event: VideoJobEvent, job: VideoJob, urls: JobUrls | None = None) -> dict[str, Any]:
    completed = event.event in ("completed", "reused")
    detail = event.detail or {}
    return {
        "timestamp": event.created_at.isoformat(),
        "job_id": job.id,
        "topic": job.topic,
        "event": event.event,
        "status": event.status,
        "attempt": event.attempt,
        "video_url": (urls or job_urls(job)).video_url if completed else None,
        "generation_time_seconds": job.generation_time_seconds if completed else None,
        "retry_count": max(event.attempt - 1, 0),
        "error": f"{event.error_type}: {event.error_message}" if event.error_type else detail.get("reason"),
        "fallback_used": job.fallback_used if completed or event.event == "fallback" else False,
        "fallback_tier": detail.get("tier")
        if event.event == "fallback"
        else (job.fallback_tier if completed else None),
        "fallback_kind": detail.get("kind") if event.event == "fallback" else None,
    }


def trace_path(user_id: str, settings: Settings) -> Path:
    return trace_file(user_id, settings.trace_dir)


def refresh_trace_file(user_id: str, settings: Settings) -> Path | None:
    """Rewrite the user's trace file from the database, keeping everything else in it.

    Creates the file when the engine has not written one yet. A file that is
    not valid JSON is left untouched (it is the engine's, not ours to destroy).
    """
    path = trace_path(user_id, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with trace_write_lock(path):
        if path.exists():
            try:
                trace = json.loads(path.read_text())
            except ValueError:
                log.warning("a trace file is not valid JSON; it is left as it is")
                return None
            if not isinstance(trace, dict):
                log.warning("a trace file is not a JSON object; it is left as it is")
                return None
        else:
            trace = {"user_id": user_id}
        trace.setdefault("user_id", user_id)
        write_json_atomically(path, apply_video_fields(trace))
    return path
