"""The embedded default: draws the storyboard itself, no network, no key, no cost."""

from __future__ import annotations

from pathlib import Path

from worker.providers.base import ProducedVideo, ProducesAtOnce, VideoRequest
from worker.render import RENDERER_VERSION
from worker.render.draw import Painter
from worker.render.encode import encode_mp4
from worker.render.timeline import frame_states, poster_state

#: Frames per second of local renders (the spec allows 24–30).
LOCAL_FPS = 24
#: Poster quality; JPEG keeps it small and it is only a preview.
POSTER_JPEG_QUALITY = 85


class LocalRenderer(ProducesAtOnce):
    """Renders `VideoRequest.storyboard` to an MP4, and a poster of the user's starting point."""

    name = "local"

    def produce(self, request: VideoRequest, workdir: Path) -> ProducedVideo:
        painter = Painter(request.storyboard)
        video_path = workdir / "video.mp4"
        encode_mp4(
            (painter.frame(state) for state in frame_states(request.storyboard, LOCAL_FPS)), video_path, LOCAL_FPS
        )
        return ProducedVideo(video_path, draw_poster(request, workdir, painter), self.name, RENDERER_VERSION)


def draw_poster(request: VideoRequest, workdir: Path, painter: Painter | None = None) -> Path:
    """The poster every video gets: the user's card and meter as they are today, beside the takeaway.

    Pass the painter that drew the video, if there is one: its static layers are drawn already.
    """
    poster_path = workdir / "poster.jpg"
    painter = painter or Painter(request.storyboard)
    painter.frame(poster_state(request.storyboard)).save(poster_path, "JPEG", quality=POSTER_JPEG_QUALITY)
    return poster_path
