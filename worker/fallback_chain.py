"""The fallback chain: the job's tiers, walked one way, until one produces a video or a poster.

The tiers are `VIDEO_PROVIDER`'s, then `local`, then `poster` (`tiers`); a job resumes at the
tier it last reached (`fallback_tier`). The task calls `advance` once per delivery. A tier may
answer `Pending` (the task re-publishes itself to check later); every other path ends in an
`Outcome` or raises. Each step down the chain is recorded with its reason and kind, and only a
clear verdict moves a job down: a temporary error is retried first and falls through only on the
last attempt. No Celery here.
"""

from __future__ import annotations

import dataclasses
import logging
import time

from sqlalchemy.exc import SQLAlchemyError

from worker.db.models import POSTER_TIER, VideoJob, utcnow
from worker.errors import (
    FallbackKind,
    FallbackNeeded,
    InvalidVideoInput,
    NoVideoAvailable,
    StorageUnavailable,
    TransientVideoError,
)
from worker.jobs import recorder
from worker.jobs.leases import ClaimedJob
from worker.jobs.outcome import Outcome
from worker.jobs.reuse import reused_outcome
from worker.prompts import UtilizationFigures, disclaimer_for_screen, find_template
from worker.prompts.captions import description, webvtt
from worker.providers import Pending, ProducedVideo, SharedVideo, VideoRequest, get_provider
from worker.providers.local import draw_poster
from worker.render.probe import check_deliverable, probe_video
from worker.settings import Settings
from worker.storage import ObjectStore, get_store, scratch_directory, store_file
from worker.storage.keys import key_sha256

log = logging.getLogger(__name__)

#: The tiers every chain ends with, after `VIDEO_PROVIDER`'s own.
FALLBACK_TIERS = ("local", POSTER_TIER)
#: What a job's `fallback_tier` says when no tier produced anything.
NO_TIER = "none"

__all__ = ["Pending", "advance", "build_request", "tiers"]


def tiers(settings: Settings) -> tuple[str, ...]:
    """The chain for this deployment: `VIDEO_PROVIDER`, then the fallbacks it is not already."""
    return (settings.video_provider, *(tier for tier in FALLBACK_TIERS if tier != settings.video_provider))


def advance(job: ClaimedJob, settings: Settings, *, last_attempt: bool) -> Outcome | Pending:
    """Take the job one step further, on the tier it has reached.

    Raises:
        TransientVideoError: try again later (never on the last attempt, which falls back instead).
        StorageUnavailable: a tier made its file but storage could not keep it (never falls back).
        InvalidVideoInput: the job itself is unusable; no tier can help.
        NoVideoAvailable: every tier failed.
    """
    started = time.monotonic()
    request = build_request(job)  # before any tier runs (or is paid for): a job we cannot tell is no job
    chain = tiers(settings)
    first = _resume_index(chain, job.fallback_tier)
    reasons = []
    for index in range(first, len(chain)):
        provider = get_provider(chain[index], settings)
        try:
            with scratch_directory(settings.video_storage_dir) as workdir:
                step = provider.step(job, request, workdir)
                if isinstance(step, Pending):
                    return step
                if isinstance(step, SharedVideo):
                    log.info("job %s: its twin %s made the same video; sharing it", job.id, step.donor.id)
                    return reused_outcome(step.donor)
                return _finish(step, request, settings, _started(step, started))
        except (InvalidVideoInput, StorageUnavailable, SQLAlchemyError):
            raise  # no tier can help: the job is unusable, storage cannot keep any tier's file, or the record is down
        except TransientVideoError as exc:
            if not last_attempt:
                raise
            reason, kind = f"gave up after retries: {exc}", FallbackKind.EXHAUSTED
        except FallbackNeeded as exc:
            reason, kind = str(exc), exc.kind
        except Exception as exc:  # a PermanentVideoError, or the tier's own bug: the next tier may still work
            reason, kind = f"{type(exc).__name__}: {exc}", FallbackKind.PERMANENT
        reasons.append(f"{provider.name}: {reason}")
        job = _fall_back(job, chain[index + 1] if index + 1 < len(chain) else NO_TIER, reason, kind)
    raise NoVideoAvailable("no tier could make a video or poster (" + "; ".join(reasons) + ")")


def _resume_index(chain: tuple[str, ...], fallback_tier: str | None) -> int:
    """Where a job resumes: its first tier if it never fell back, the tier it reached if that is in the
    chain, else the first fallback tier (a job that reached "none" and was delivered again before its
    failure was recorded must never go back to a paid tier)."""
    if fallback_tier is None:
        return 0
    return chain.index(fallback_tier) if fallback_tier in chain else chain.index(FALLBACK_TIERS[0])


def _started(produced: ProducedVideo, step_started: float) -> float:
    """A remote video's generation time runs from its submission, not from this step."""
    if produced.submitted_at is None:
        return step_started
    return time.monotonic() - (utcnow() - produced.submitted_at).total_seconds()


def build_request(job: ClaimedJob | VideoJob) -> VideoRequest:
    """Rebuild the storyboard from the job's stored figures, card, disclaimer and template.

    Raises:
        InvalidVideoInput: the stored figures or template no longer make sense.
    """
    template = find_template(job.persona, job.topic)
    if template.version != job.template_version:
        raise InvalidVideoInput(
            f"job was queued with template {job.template_id} v{job.template_version}, "
            f"this worker has v{template.version}"
        )
    try:
        figures = UtilizationFigures.from_dict(job.input["figures"])
        disclaimer = disclaimer_for_screen(job.input.get("disclaimer"))
    except (KeyError, TypeError, AttributeError) as exc:
        raise InvalidVideoInput(f"job input has no usable figures: {exc}") from None
    return VideoRequest(job_id=job.id, prompt=job.prompt, storyboard=template.storyboard(figures, disclaimer))


def _finish(produced: ProducedVideo, request: VideoRequest, settings: Settings, started: float) -> Outcome:
    """Probe what a tier produced, then store it with its poster and captions; completion waits for all three.

    Raises:
        StorageUnavailable: the object store could not keep or verify a file (Celery retries).
    """
    board, store = request.storyboard, get_store(settings)
    try:
        if produced.video_path is None:
            assert produced.poster_path is not None  # a tier without a video (the poster tier) makes a poster
            poster_key = store_file(produced.poster_path, store)
            return Outcome(
                produced.provider,
                produced.renderer_version,
                None,
                _stable_url(store, poster_key),
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                round(time.monotonic() - started, 3),
                description=description(board),
                poster_key=poster_key,
            )
        probe = check_deliverable(probe_video(produced.video_path))
        workdir = produced.video_path.parent
        captions = workdir / "captions.vtt"
        captions.write_text(webvtt(board), encoding="utf-8")
        keys = [
            store_file(path, store)
            for path in (produced.video_path, produced.poster_path or draw_poster(request, workdir), captions)
        ]
    except OSError as exc:
        raise StorageUnavailable(f"storage error: {exc.strerror or exc}") from exc
    video_key, poster_key, captions_key = keys
    return Outcome(
        provider=produced.provider,
        renderer_version=produced.renderer_version,
        video_url=_stable_url(store, video_key),
        poster_url=_stable_url(store, poster_key),
        video_sha256=key_sha256(video_key),
        file_size_bytes=probe.file_size_bytes,
        duration_seconds=probe.duration_seconds,
        width=probe.width,
        height=probe.height,
        fps=probe.fps,
        codec=probe.codec,
        generation_time_seconds=round(time.monotonic() - started, 3),
        captions_url=_stable_url(store, captions_key),
        description=description(board),
        video_key=video_key,
        poster_key=poster_key,
        captions_key=captions_key,
    )


def _stable_url(store: ObjectStore, key: str) -> str | None:
    """The URL to keep on the row: only one that never expires (presigned URLs are minted per trace)."""
    minted = store.url(key)
    return minted.url if minted.expires_at is None else None


def _fall_back(job: ClaimedJob, tier: str, reason: str, kind: FallbackKind) -> ClaimedJob:
    log.warning("job %s falls back to %s (%s): %s", job.id, tier, kind, reason)
    recorder.guarded(recorder.record_fallback, job.id, tier=tier, reason=reason, kind=kind.value, attempt=job.attempt)
    return dataclasses.replace(job, fallback_tier=tier)
