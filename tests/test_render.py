"""The local renderer: the storyboard's motion, legible and accessible frames, a fast-start 720p H.264 file."""

from __future__ import annotations

import copy
import json
import struct
from pathlib import Path

import av
import pytest
from PIL import Image

from tests.golden_frames import GOLDEN_DIR, MANIFEST, TIMES_S, golden_boards, golden_path, min_tile_psnr_db, psnr_db
from tests.storyboards import EDGE_CONTEXTS, board_for, real_contexts
from worker.prompts.figures import RED_FROM_PCT, meter_colour
from worker.providers import VideoRequest
from worker.providers.local import LocalRenderer
from worker.render import RENDERER_VERSION
from worker.render import layout as L
from worker.render import text as render_text
from worker.render.draw import Painter, _background
from worker.render.probe import check_deliverable, probe_video
from worker.render.timeline import GREEN, RED, YELLOW, FrameState, color_for, frame_states, poster_state, state_at
from worker.storage import file_sha256

FPS = 24
OPACITIES = (
    "warning_opacity",
    "ok_opacity",
    "chart_opacity",
    "takeaway_opacity",
    "card_line_opacity",
    "fall_line_opacity",
    "disclaimer_opacity",
)
ALL_BOARDS = {
    **{name: board_for(context) for name, context in EDGE_CONTEXTS.items()},
    "user_0034": board_for(real_contexts()["user_0034"]),
    "no-card": board_for({"signals": {"credit_max_util_pct": 73.0}}),
}


def render(board, workdir: Path):
    return LocalRenderer().produce(VideoRequest("job", "", board), workdir)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    return render(ALL_BOARDS["user_0034"], tmp_path_factory.mktemp("render")).video_path


# -- the storyboard's motion ------------------------------------------------------------------------
def test_the_meter_falls_from_the_users_figure_to_the_guideline():
    board = ALL_BOARDS["user_0034"]
    states = frame_states(board, FPS)
    assert len(states) == 8 * FPS
    assert states[0].meter_label == "95%" and states[0].balance == 14_215
    assert states[-1].meter_label == "30%" and states[-1].balance == 4_500
    meters = [state.meter_pct for state in states]
    assert meters == sorted(meters, reverse=True), "the meter only ever falls"
    assert {state.meter_pct for state in states if state.time_s < 2} == {board.figures.start_utilization_pct}
    assert {state.meter_pct for state in states if state.time_s >= 5} == {30.0}


def test_colours_go_red_then_yellow_then_green():
    colours = [state.meter_color for state in frame_states(ALL_BOARDS["user_0034"], FPS)]
    named = [
        min((RED, YELLOW, GREEN), key=lambda c: sum((a - b) ** 2 for a, b in zip(c, colour))) for colour in colours
    ]
    order = [c for index, c in enumerate(named) if index == 0 or named[index - 1] != c]
    assert order == [RED, YELLOW, GREEN]


@pytest.mark.parametrize("name", sorted(ALL_BOARDS))
def test_nothing_pops_in_on_a_single_frame(name):
    states = frame_states(ALL_BOARDS[name], FPS)
    for field in OPACITIES:
        steps = [abs(getattr(b, field) - getattr(a, field)) for a, b in zip(states, states[1:])]
        assert max(steps) <= 0.25, f"{field} jumps by {max(steps):.2f} in one frame"
    for bar in range(len(states[0].bars)):
        steps = [abs(b.bars[bar][1] - a.bars[bar][1]) for a, b in zip(states, states[1:])]
        assert max(steps) <= 0.25, f"bar {bar} jumps by {max(steps):.2f} in one frame"


def test_the_warning_pulse_flashes_fewer_than_three_times_a_second():
    pulses = [state.pulse for state in frame_states(ALL_BOARDS["user_0034"], FPS)]
    peaks = [i for i in range(1, len(pulses) - 1) if pulses[i - 1] < pulses[i] >= pulses[i + 1]]
    assert peaks, "the card pulses in the warning colour"
    for second in range(8):
        assert sum(1 for i in peaks if second * FPS <= i < (second + 1) * FPS) <= 3


def test_warnings_clear_and_the_takeaway_and_disclaimer_hold_to_the_end():
    states = frame_states(ALL_BOARDS["user_0034"], FPS)
    first, last = states[0], states[-1]
    assert (first.warning_opacity, first.ok_opacity, first.takeaway_opacity) == (1, 0, 0)
    assert (last.warning_opacity, last.ok_opacity, last.takeaway_opacity, last.disclaimer_opacity) == (0, 1, 1, 1)
    readable = [s for s in states if s.takeaway_opacity == 1 and s.disclaimer_opacity == 1]
    assert len(readable) / FPS >= 2.0, "the takeaway and disclaimer stay readable for at least 2 s"


def test_a_user_under_the_guideline_gets_no_fall_and_no_warning():
    board = ALL_BOARDS["just-under"]
    states = frame_states(board, FPS)
    assert {state.meter_label for state in states} == {"29.5%"}
    assert all(state.warning_opacity == 0 and state.pulse == 0 for state in states)
    assert len(states[0].bars) == 1


@pytest.mark.parametrize("utilization", [10, 29, 30, 31, 40, 49, 50, 62, 95])
def test_prompt_and_renderer_agree_on_the_colour(utilization):
    named = {"red": RED, "yellow": YELLOW, "green": GREEN}
    drawn = color_for(utilization)
    assert min(named, key=lambda n: sum((a - b) ** 2 for a, b in zip(named[n], drawn))) == meter_colour(utilization)
    assert meter_colour(RED_FROM_PCT) == "red"


# -- legibility and accessibility ------------------------------------------------------------------
def _luminance(rgb) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("use", sorted(L.TEXT_ON))
def test_text_meets_wcag_aa_contrast_against_what_is_behind_it(use):
    ink, backgrounds = L.TEXT_ON[use]
    for background in backgrounds:
        assert contrast(ink, background) >= 4.5, f"{use}: {contrast(ink, background):.2f}:1"


def test_the_contrast_check_would_catch_a_bad_pair():
    assert contrast(L.PILL_WARNING, L.INK) < 4.5


def test_no_text_is_smaller_than_28px(monkeypatch):
    sizes: list[int] = []
    real_font = render_text.font

    def recording_font(size, bold=False):
        sizes.append(size)
        return real_font(size, bold)

    monkeypatch.setattr(render_text, "font", recording_font)
    render_text.sprite.cache_clear()
    for board in ALL_BOARDS.values():
        painter = Painter(board)
        for time_s in (0.0, 1.0, 3.0, 4.9, 5.1, 7.9):
            painter.frame(state_at(board, time_s))
        painter.frame(poster_state(board))
    render_text.sprite.cache_clear()
    assert sizes and min(sizes) >= render_text.MIN_TEXT_PX


@pytest.mark.parametrize("name", sorted(ALL_BOARDS))
def test_everything_stays_inside_the_safe_area(name):
    """Outside the action-safe margin (3.5%) only the background and the bottom strip are drawn."""
    board = ALL_BOARDS[name]
    reference = _background().copy()
    reference.paste(L.STRIP, (0, L.STRIP_TOP, L.WIDTH, L.HEIGHT))
    margin_x, margin_y = round(0.035 * L.WIDTH), round(0.035 * L.HEIGHT)
    painter = Painter(board)
    for state in (state_at(board, t) for t in (0.5, 1.0, 3.0, 5.1, 7.9)):
        frame = painter.frame(state)
        for box in (
            (0, 0, L.WIDTH, margin_y),
            (0, L.HEIGHT - margin_y, L.WIDTH, L.HEIGHT),
            (0, 0, margin_x, L.HEIGHT),
            (L.WIDTH - margin_x, 0, L.WIDTH, L.HEIGHT),
        ):
            assert frame.crop(box).tobytes() == reference.crop(box).tobytes(), f"drawn outside {box} at {state.time_s}"


# -- the poster -------------------------------------------------------------------------------------
def test_the_poster_is_the_users_own_starting_point(tmp_path):
    board = ALL_BOARDS["user_0034"]
    painter = Painter(board)
    poster, opening, ending = (
        painter.frame(s).copy() for s in (poster_state(board), state_at(board, 0), state_at(board, 8))
    )
    left = (0, 0, L.RIGHT[0] - 20, L.STRIP_TOP)
    assert poster.crop(left).tobytes() == opening.crop(left).tobytes(), "card and meter as they are today"
    assert poster.crop(L.RIGHT).tobytes() == ending.crop(L.RIGHT).tobytes(), "beside the takeaway"
    assert poster.tobytes() != ending.tobytes()
    other = Painter(ALL_BOARDS["mid"]).frame(poster_state(ALL_BOARDS["mid"]))
    assert other.tobytes() != poster.tobytes(), "every user has a poster of their own"
    produced = render(board, tmp_path)
    assert produced.poster_path is not None and Image.open(produced.poster_path).size == (1280, 720)


# -- the file ---------------------------------------------------------------------------------------
def top_level_boxes(path: Path) -> list[str]:
    data, boxes, offset = path.read_bytes(), [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break
        offset += size
    return boxes


def test_the_index_comes_before_the_media_so_browsers_start_at_once(rendered):
    boxes = top_level_boxes(rendered)
    assert "moov" in boxes and "mdat" in boxes
    assert boxes.index("moov") < boxes.index("mdat"), boxes


def test_the_box_check_catches_an_index_at_the_end(tmp_path):
    path = tmp_path / "tail.mp4"
    with av.open(str(path), mode="w", format="mp4") as container:  # no faststart: moov is written last
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for _ in range(3):
            container.mux(stream.encode(av.VideoFrame.from_image(Image.new("RGB", (64, 64)))))
        container.mux(stream.encode(None))
    boxes = top_level_boxes(path)
    assert boxes.index("moov") > boxes.index("mdat")


def test_rendered_file_is_a_deliverable_720p_h264_yuv420p_of_eight_seconds(rendered):
    probe = check_deliverable(probe_video(rendered))
    assert (probe.codec, probe.width, probe.height) == ("h264", 1280, 720)
    assert (probe.duration_seconds, probe.fps, probe.frame_count) == (8.0, 24.0, 8 * 24)
    with av.open(str(rendered)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"


def test_same_inputs_render_the_same_bytes(rendered, tmp_path):
    again = render(ALL_BOARDS["user_0034"], tmp_path)
    assert file_sha256(again.video_path) == file_sha256(rendered)
    other = render(ALL_BOARDS["mid"], tmp_path)
    assert file_sha256(other.video_path) != file_sha256(rendered)


def test_golden_frames_match_the_decoded_video(tmp_path):
    manifest = json.loads(MANIFEST.read_text())
    assert manifest["renderer_version"] == RENDERER_VERSION, "golden frames belong to another renderer version"
    for name, board in golden_boards().items():
        workdir = tmp_path / name
        workdir.mkdir()
        decoded = _decoded_frames(render(board, workdir).video_path, TIMES_S)
        for time_s, frame in zip(TIMES_S, decoded):
            golden = Image.open(golden_path(name, time_s)).convert("RGB")
            assert psnr_db(frame, golden) >= 32, f"{name} at {time_s}s differs from {golden.name}"
            assert min_tile_psnr_db(frame, golden) >= 24, f"part of {name} at {time_s}s differs from {golden.name}"
    assert len(list(GOLDEN_DIR.glob("*.png"))) == len(golden_boards()) * len(TIMES_S)


def test_the_comparison_tells_a_different_frame_and_a_different_digit_apart():
    board = golden_boards()["user_0034"]
    painter = Painter(board)
    frame = painter.frame(state_at(board, 1.0)).copy()
    assert psnr_db(frame, painter.frame(state_at(board, 7.0))) < 20
    context = copy.deepcopy(real_contexts()["user_0034"])
    for account in context["accounts"]:
        account["mask"] = "2386" if account["mask"] == "2385" else account["mask"]
    other = board_for(context)
    assert min_tile_psnr_db(frame, Painter(other).frame(state_at(other, 1.0))) < 24


def _decoded_frames(path: Path, times_s: tuple[float, ...]) -> list[Image.Image]:
    wanted = {round(t * FPS): t for t in times_s}
    frames = {}
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                frames[index] = frame.to_image()
    return [frames[index] for index in sorted(wanted)]


def test_frame_state_equality_ignores_time():
    board = ALL_BOARDS["user_0034"]
    late, later = state_at(board, 7.5), state_at(board, 7.9)
    assert isinstance(late, FrameState) and late != later and late.look() == later.look()
