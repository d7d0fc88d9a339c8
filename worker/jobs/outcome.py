"""What a finished job records about its video (`recorder.complete` writes it onto the row)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """A finished job's facts. Only a poster (no video) when the poster tier produced it."""

    provider: str
    renderer_version: str
    video_url: str | None
    poster_url: str | None
    video_sha256: str | None
    file_size_bytes: int | None
    duration_seconds: float | None
    width: int | None
    height: int | None
    fps: float | None
    codec: str | None
    generation_time_seconds: float
    captions_url: str | None = None
    description: str | None = None
    video_key: str | None = None
    poster_key: str | None = None
    captions_key: str | None = None
    #: Set when the video is a twin's (`worker.jobs.reuse`): nothing was made, nothing paid.
    reused_from_job_id: str | None = None
