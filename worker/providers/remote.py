"""The remote tier: an OpenAI-compatible Videos API server, one step per delivery (`worker.remote`)."""

from __future__ import annotations

from pathlib import Path

from worker.jobs.leases import ClaimedJob
from worker.providers.base import Step, VideoRequest
from worker.remote import generation
from worker.settings import Settings


class RemoteProvider:
    """Submits once, then checks and downloads on later steps; never waits on the server."""

    name = generation.PROVIDER_NAME

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def step(self, job: ClaimedJob, request: VideoRequest, workdir: Path) -> Step:
        return generation.advance(job, self.settings, workdir)
