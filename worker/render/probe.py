"""Open an MP4, read it end to end, and check it is a video we will hand to a user.

Any file — rendered here or downloaded from a provider — passes through
`probe_video` before its job may complete, and its figures are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av

from worker.errors import InvalidVideoFile

#: What a finished video must be (720p landscape, 5–10 s, H.264).
MIN_WIDTH, MIN_HEIGHT = 1280, 720
MIN_DURATION_S, MAX_DURATION_S = 5.0, 10.0
ACCEPTED_CODECS = ("h264",)
#: A file whose decodable frames cover less than this share of its stated length is truncated.
TRUNCATION_TOLERANCE = 0.9


@dataclass(frozen=True)
class VideoProbe:
    codec: str
    width: int
    height: int
    duration_seconds: float
    fps: float
    frame_count: int
    file_size_bytes: int


def probe_video(path: Path) -> VideoProbe:
    """Read every packet of `path`, decode its first frame, and return what it holds.

    Demuxing every packet proves the file is whole (a cut file loses packets or
    its index); decoding one frame proves the codec data is real. Decoding all
    frames would cost 30x more and prove little more for a user-facing check.

    Raises:
        InvalidVideoFile: unreadable, truncated, or with no video stream.
    """
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InvalidVideoFile("file has no video stream")
            stream = container.streams.video[0]
            frame_count = sum(1 for packet in container.demux(stream) if packet.size)
            container.seek(0)
            if next(container.decode(stream), None) is None:
                raise InvalidVideoFile("no frame could be decoded")
            fps = float(stream.average_rate or 0)
            duration = _duration_s(container, stream, frame_count, fps)
            if fps and frame_count < TRUNCATION_TOLERANCE * duration * fps:
                raise InvalidVideoFile(f"truncated: {frame_count / fps:.2f}s of frames in a {duration:.2f}s video")
            return VideoProbe(
                codec=stream.codec_context.name,
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                duration_seconds=round(duration, 3),
                fps=round(fps, 3),
                frame_count=frame_count,
                file_size_bytes=path.stat().st_size,
            )
    except av.FFmpegError as exc:
        raise InvalidVideoFile(f"not a readable video file: {exc}") from None


def check_deliverable(probe: VideoProbe) -> VideoProbe:
    """Return `probe` if the video is fit for users.

    Raises:
        InvalidVideoFile: wrong codec, under 720p, or outside 5–10 s.
    """
    if probe.codec not in ACCEPTED_CODECS:
        raise InvalidVideoFile(f"codec {probe.codec} is not H.264")
    if probe.width < MIN_WIDTH or probe.height < MIN_HEIGHT:
        raise InvalidVideoFile(f"resolution {probe.width}x{probe.height} is under 1280x720")
    if not MIN_DURATION_S <= probe.duration_seconds <= MAX_DURATION_S:
        raise InvalidVideoFile(
            f"duration {probe.duration_seconds:g}s is outside {MIN_DURATION_S:g}-{MAX_DURATION_S:g}s"
        )
    if probe.frame_count == 0:
        raise InvalidVideoFile("no frame could be decoded")
    return probe


def _duration_s(container, stream, frame_count: int, fps: float) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return frame_count / fps if fps else 0.0
