"""Small valid media files for fakes: an H.264 MP4 of any length and size, and a JPEG thumbnail."""

from __future__ import annotations

import io
import tempfile
from functools import lru_cache
from pathlib import Path

from PIL import Image

from worker.render.encode import encode_mp4

#: Frame rate of fake clips; low keeps generation fast.
FAKE_FPS = 24


@lru_cache(maxsize=16)
def sample_mp4(seconds: int, size: str) -> bytes:
    """An MP4 of `seconds` at `size` ("1280x720"), H.264: one colour a second.

    Each colour is one image held for a second, which the encoder takes at a third of the cost of a
    new picture every frame."""
    width, height = (int(part) for part in size.split("x"))
    shades = [Image.new("RGB", (width, height), (20, 60 + 12 * (second % 16), 110)) for second in range(seconds)]
    frames = (shades[index // FAKE_FPS] for index in range(seconds * FAKE_FPS))
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "clip.mp4"
        encode_mp4(frames, path, FAKE_FPS)
        return path.read_bytes()


@lru_cache(maxsize=1)
def sample_thumbnail() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 360), (20, 80, 110)).save(buffer, "JPEG")
    return buffer.getvalue()
