"""The third tier: when no video can be made, the video's poster on its own."""

from __future__ import annotations

from pathlib import Path

from worker.providers.base import ProducedVideo, ProducesAtOnce, VideoRequest
from worker.providers.local import draw_poster
from worker.render import RENDERER_VERSION


class PosterRenderer(ProducesAtOnce):
    """Draws the poster (the user's card and meter beside the takeaway) as a JPEG; no video."""

    name = "poster"

    def produce(self, request: VideoRequest, workdir: Path) -> ProducedVideo:
        return ProducedVideo(None, draw_poster(request, workdir), self.name, RENDERER_VERSION)
