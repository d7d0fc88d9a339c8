"""Encode frames to an H.264 MP4 with PyAV (FFmpeg's libraries, shipped in the wheel).

Encoder settings are fixed (preset, CRF, thread count) so the same frames give
the same bytes, which is what lets an auditor re-render a job and compare. The
index (`moov`) is written at the front of the file ("fast start"), so a browser
can begin playing before it has fetched the whole file.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

#: Constant quality; 23 is x264's default and plenty for flat graphics.
X264_CRF = "23"
#: Fixed so output bytes do not depend on the machine's core count.
X264_THREADS = "2"
#: Moves the index in front of the media data once encoding ends.
MP4_OPTIONS = {"movflags": "+faststart"}


def encode_mp4(frames: Iterable[Image.Image], path: Path, fps: int) -> None:
    """Write `frames` (RGB, all one size) to `path` as H.264 yuv420p at `fps`.

    A frame that is the same image object as the one before (a held shot) is not converted again.
    """
    with av.open(str(path), mode="w", format="mp4", options=MP4_OPTIONS) as container:
        stream = None
        previous: tuple[Image.Image, av.VideoFrame] | None = None
        for index, image in enumerate(frames):
            if stream is None:
                stream = container.add_stream("libx264", rate=fps)
                stream.width, stream.height = image.size
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": X264_CRF, "preset": "veryfast", "threads": X264_THREADS}
            if previous is None or previous[0] is not image:
                previous = (image, av.VideoFrame.from_image(image).reformat(format="yuv420p"))
            frame = previous[1]
            frame.pts, frame.time_base = index, Fraction(1, fps)
            container.mux(stream.encode(frame))
        if stream is None:
            raise ValueError("no frames to encode")
        container.mux(stream.encode(None))
