"""The third tier: when no video can be made, a still of the storyboard's last frame."""

from __future__ import annotations

from pathlib import Path

from worker.providers.base import ProducedVideo, VideoRequest
from worker.providers.local import POSTER_JPEG_QUALITY
from worker.render import RENDERER_VERSION
from worker.render.draw import draw_frame
from worker.render.timeline import state_at


class PosterRenderer:
    """Draws the final frame (figures, green meter, caption) as a JPEG; no video."""

    name = "poster"

    def produce(self, request: VideoRequest, workdir: Path) -> ProducedVideo:
        board = request.storyboard
        poster_path = workdir / "poster.jpg"
        draw_frame(state_at(board, board.duration_seconds), board.caption).save(
            poster_path, "JPEG", quality=POSTER_JPEG_QUALITY
        )
        return ProducedVideo(None, poster_path, self.name, RENDERER_VERSION)
