"""What every tier of the fallback chain is: a provider that takes one step towards a job's video.

A step returns what it made (`ProducedVideo`, files in a scratch directory, or `SharedVideo`, an
identical job's finished video) or `Pending` (ask again later: the task re-publishes itself, so no
worker slot waits on a server). The local renderer and the poster produce on their first step; a
remote provider submits, polls and downloads across steps. Errors say what happens next:
`TransientVideoError` is retried, `PermanentVideoError` (or `FallbackNeeded` with its kind) moves
the job to the next tier, `InvalidVideoInput` fails it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from worker.prompts.templates import Storyboard

if TYPE_CHECKING:
    from worker.db.models import VideoJob
    from worker.jobs.leases import ClaimedJob
    from worker.settings import Settings


@dataclass(frozen=True)
class VideoRequest:
    """Everything a provider may use. No user id, name or account number is here on purpose."""

    job_id: str
    prompt: str
    storyboard: Storyboard


@dataclass(frozen=True)
class ProducedVideo:
    """A provider's output: files in a scratch directory, not yet stored (no video from the poster tier)."""

    video_path: Path | None
    poster_path: Path | None
    provider: str
    renderer_version: str
    #: When a remote video was submitted: its generation time runs from then, not from this step.
    submitted_at: datetime | None = None


@dataclass(frozen=True)
class SharedVideo:
    """An identical job made this video on its first tier: take it, at no cost."""

    donor: VideoJob


@dataclass(frozen=True)
class Pending:
    """Not ready: take the next step after `poll_after_s`."""

    poll_after_s: float


Step = ProducedVideo | SharedVideo | Pending


class VideoProvider(Protocol):
    """One tier of the fallback chain. Registered by name in `worker.providers`; built per step
    from the settings."""

    name: str

    def step(self, job: ClaimedJob, request: VideoRequest, workdir: Path) -> Step: ...


class ProducesAtOnce:
    """A provider that makes the whole video in its first step: subclasses write `produce`."""

    name = "abstract"

    def __init__(self, settings: Settings | None = None) -> None:
        """Built from the settings, as every registry entry is; making the video needs none of them."""

    def step(self, job: ClaimedJob, request: VideoRequest, workdir: Path) -> Step:
        return self.produce(request, workdir)

    def produce(self, request: VideoRequest, workdir: Path) -> ProducedVideo:
        raise NotImplementedError
