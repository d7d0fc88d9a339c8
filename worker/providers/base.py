"""What every video provider is: give it a request, get a local MP4 back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from worker.prompts.templates import Storyboard


@dataclass(frozen=True)
class VideoRequest:
    """Everything a provider may use. No user id, name or account number is here on purpose."""

    job_id: str
    prompt: str
    storyboard: Storyboard
    width: int = 1280
    height: int = 720


@dataclass(frozen=True)
class ProducedVideo:
    """A provider's output: files in a scratch directory, not yet stored (no video from the poster tier)."""

    video_path: Path | None
    poster_path: Path | None
    provider: str
    renderer_version: str


class VideoProvider(Protocol):
    """A way of turning a request into an MP4 file.

    Raise `TransientVideoError` for failures worth retrying and
    `PermanentVideoError` for those that will never succeed.
    """

    name: str

    def produce(self, request: VideoRequest, workdir: Path) -> ProducedVideo: ...
