"""The embedded default: draws the storyboard itself, no network, no key, no cost."""

from __future__ import annotations

from pathlib import Path

from worker.render import RENDERER_VERSION
from worker.render.draw import draw_frame
from worker.render.encode import encode_mp4
from worker.render.timeline import frame_states
from worker.providers.base import ProducedVideo, VideoRequest

#: Frames per second of local renders (the spec allows 24–30).
LOCAL_FPS = 24
#: Poster quality; JPEG keeps it small and it is only a preview.
POSTER_JPEG_QUALITY = 85


class LocalRenderer:
    """Renders `VideoRequest.storyboard` to an MP4 and a poster of its last frame."""

    name = "local"

    def produce(self, request: VideoRequest, workdir: Path) -> ProducedVideo:
        board = request.storyboard
        states = frame_states(board, LOCAL_FPS)
        video_path, poster_path = workdir / "video.mp4", workdir / "poster.jpg"
        encode_mp4((draw_frame(state, board.caption) for state in states), video_path, LOCAL_FPS)
        draw_frame(states[-1], board.caption).save(poster_path, "JPEG", quality=POSTER_JPEG_QUALITY)
        return ProducedVideo(video_path, poster_path, self.name, RENDERER_VERSION)
