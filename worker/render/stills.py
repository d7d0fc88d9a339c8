"""Posters for videos we did not draw: is a downloaded file really an image, and a still from a video.

A gateway may answer the thumbnail request with the MP4 itself (LiteLLM's proxy
ignores `variant=thumbnail`); those bytes must never be stored as `<sha>.jpg`.
"""

from __future__ import annotations

from pathlib import Path

import av
from PIL import Image, UnidentifiedImageError

#: Where in the video the still is taken (by then a clip has shown what it is about).
STILL_AT_FRACTION = 0.5
STILL_JPEG_QUALITY = 85


def is_image(path: Path) -> bool:
    """Do the file's bytes decode as an image (JPEG, PNG, WebP, …), whatever its name says?"""
    try:
        with Image.open(path) as image:
            image.verify()
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        return False
    return True


def still_from_video(video: Path, destination: Path, at_fraction: float = STILL_AT_FRACTION) -> Path:
    """The frame `at_fraction` of the way through `video`, saved as a JPEG at `destination`.

    Raises:
        av.FFmpegError, ValueError: the file has no decodable video frame.
    """
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        if container.duration:  # microseconds; seek to the keyframe before the target, decode up to it
            target_s = container.duration / 1_000_000 * at_fraction
            container.seek(int(target_s * 1_000_000))
        else:
            target_s = 0.0
        still = None
        for frame in container.decode(stream):
            still = frame
            if frame.time is None or frame.time >= target_s:
                break
        if still is None:
            raise ValueError("the video has no decodable frame")
        still.to_image().save(destination, "JPEG", quality=STILL_JPEG_QUALITY)
    return destination
