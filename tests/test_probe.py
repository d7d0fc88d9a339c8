"""The MP4 probe: every file, rendered here or downloaded, is checked before a job may complete."""

from __future__ import annotations

from pathlib import Path

import av
import pytest
from PIL import Image

from tests.storyboards import board_for, real_contexts
from worker.errors import InvalidVideoFile
from worker.providers import VideoRequest
from worker.providers.local import LocalRenderer
from worker.render.encode import encode_mp4
from worker.render.probe import check_deliverable, probe_video


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    board = board_for(real_contexts()["user_0034"])
    return LocalRenderer().produce(VideoRequest("job", "", board), tmp_path_factory.mktemp("probe")).video_path


def test_truncated_file_is_rejected(rendered, tmp_path):
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(rendered.read_bytes()[: rendered.stat().st_size // 2])
    with pytest.raises(InvalidVideoFile):
        probe_video(truncated)


def test_not_a_video_is_rejected(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"<html>expired</html>")
    with pytest.raises(InvalidVideoFile, match="not a readable video"):
        probe_video(junk)


@pytest.mark.parametrize(
    ("size", "seconds", "message"),
    [((640, 360), 6, "under 1280x720"), ((1280, 720), 2, "outside 5-10s"), ((1280, 720), 12, "outside 5-10s")],
)
def test_wrong_size_or_length_is_rejected(tmp_path, size, seconds, message):
    path = tmp_path / "clip.mp4"
    encode_mp4((Image.new("RGB", size, (20, 40, 80)) for _ in range(seconds * 24)), path, 24)
    with pytest.raises(InvalidVideoFile, match=message):
        check_deliverable(probe_video(path))


def test_non_h264_is_rejected(tmp_path):
    path = tmp_path / "clip.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=24)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        for _ in range(6 * 24):
            container.mux(stream.encode(av.VideoFrame.from_image(Image.new("RGB", (1280, 720)))))
        container.mux(stream.encode(None))
    with pytest.raises(InvalidVideoFile, match="not H.264"):
        check_deliverable(probe_video(path))
