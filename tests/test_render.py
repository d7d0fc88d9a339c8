"""The local renderer: the figures on screen, a probed 720p H.264 file, byte-for-byte repeatable."""

from pathlib import Path

import av
import pytest
from PIL import Image

from worker.errors import InvalidVideoFile
from worker.prompts import find_template, utilization_figures
from worker.providers import VideoRequest, get_provider
from worker.render.encode import encode_mp4
from worker.render.probe import check_deliverable, probe_video
from worker.render.timeline import GREEN, RED, color_for, frame_states
from worker.storage import file_sha256

TEMPLATE = find_template("high_utilization", "credit_utilization")


def _board(utilization):
    return TEMPLATE.storyboard(utilization_figures(utilization))


def test_frames_show_exactly_the_recommendations_figures():
    figures = utilization_figures(86.2)
    states = frame_states(TEMPLATE.storyboard(figures), fps=24)
    assert len(states) == 8 * 24
    first, last = states[0], states[-1]
    assert round(first.meter_pct) == figures.start_utilization_pct == 86
    assert first.score == figures.start_score
    assert round(last.meter_pct) == figures.target_utilization_pct == 28
    assert last.score == figures.target_score
    meters = [s.meter_pct for s in states]
    assert meters == sorted(meters, reverse=True), "the meter only ever falls"


def test_meter_pulses_first_then_falls_then_captions():
    states = frame_states(_board(73), fps=24)
    pulse = [s for s in states if s.time_s < 2]
    assert all(round(s.meter_pct) == 73 for s in pulse) and max(s.pulse for s in pulse) > 0.9
    assert all(s.caption_opacity == 0 for s in states if s.time_s < 6)
    assert states[-1].caption_opacity == 1
    assert not states[0].show_arrow and states[-1].show_arrow


def test_colour_goes_red_orange_green():
    assert color_for(73) == RED
    assert color_for(28) == GREEN
    mid = color_for(45)
    assert mid[0] > mid[1] > mid[2], "orange sits between red and green"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("render")
    board = _board(73)
    produced = get_provider("local").produce(VideoRequest("job-1", TEMPLATE.prompt(board.figures), board), workdir)
    return produced.video_path


def test_rendered_file_is_a_deliverable_720p_h264_of_eight_seconds(rendered):
    probe = check_deliverable(probe_video(rendered))
    assert (probe.codec, probe.width, probe.height) == ("h264", 1280, 720)
    assert (probe.duration_seconds, probe.fps, probe.frame_count) == (8.0, 24.0, 8 * 24)
    assert (rendered.parent / "poster.jpg").stat().st_size > 0


def test_same_inputs_render_the_same_bytes(rendered, tmp_path):
    board = _board(73)
    again = get_provider("local").produce(VideoRequest("job-2", "", board), tmp_path)
    assert file_sha256(again.video_path) == file_sha256(rendered)
    other = get_provider("local").produce(VideoRequest("job-3", "", _board(74)), tmp_path)
    assert file_sha256(other.video_path) != file_sha256(rendered)


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


@pytest.mark.parametrize("utilization", [10, 25, 30, 31, 32, 40, 48, 54, 55, 62, 73, 95])
def test_prompt_and_renderer_agree_on_the_colour(utilization):
    from worker.prompts.figures import meter_colour
    from worker.render.timeline import ORANGE

    board = _board(utilization)
    named = {"red": RED, "orange": ORANGE, "green": GREEN}
    drawn = frame_states(board, 24)[0].meter_color
    nearest = min(named, key=lambda name: sum((a - b) ** 2 for a, b in zip(named[name], drawn)))
    assert nearest == meter_colour(utilization)
    assert f"glowing {nearest}" in TEMPLATE.prompt(board.figures)


def test_a_user_already_below_the_guideline_gets_no_fall_and_no_arrow():
    board = _board(20)
    prompt = TEMPLATE.prompt(board.figures)
    assert "holds steady in green at 20%" in prompt and "upward arrow" not in prompt
    states = frame_states(board, 24)
    assert not any(state.show_arrow for state in states)
    assert {round(state.meter_pct) for state in states} == {20}
