"""Number fidelity: real OCR reads the rendered frames and finds the user's own figures where they belong.

RapidOCR's wheel ships its models, so this runs offline. Frames come from the
renderer's own painter at the storyboard's key instants, and for two users from
a decoded MP4, so the encoder is covered too. Each figure is read in its own
region of the frame (the card column, the meter, the takeaway panel), not
anywhere on screen: the narration line repeats some figures, and must not make
up for a card that shows the wrong ones. Reading regions, not whole frames, is
also a third of the OCR work.
"""

from __future__ import annotations

import re
from pathlib import Path

import av
import numpy as np
import pytest

from tests.storyboards import EDGE_CONTEXTS, board_for, real_contexts
from worker.providers import VideoRequest
from worker.providers.local import LOCAL_FPS, LocalRenderer
from worker.render import layout
from worker.render.draw import Painter
from worker.render.timeline import state_at

#: The card beat (mask, balance, limit, utilization today) and the takeaway (what it takes).
OPENING_S, TAKEAWAY_S = 1.0, 7.0
REAL_USERS = ("user_0034", "user_0001", "user_0059", "user_0072")
CASES = {**EDGE_CONTEXTS, **{user: real_contexts()[user] for user in REAL_USERS}}
#: Regions of the frame (left, top, right, bottom), above the narration strip.
CARD_COLUMN = (0, layout.CARD_BOX[1], layout.RIGHT[0], layout.STRIP_TOP)
METER = (0, layout.METER_LABEL_Y - 16, layout.RIGHT[0], layout.STRIP_TOP)
TAKEAWAY_PANEL = (layout.RIGHT[0], layout.RIGHT[1], layout.WIDTH, layout.STRIP_TOP)


@pytest.fixture(scope="module")
def ocr():
    from rapidocr_onnxruntime import RapidOCR

    # One thread: the suite runs files side by side, and onnxruntime's idle threads spin on the cores
    # that other tests need. Regions are read at their own size (the default scales a short one up to
    # 736 pixels high). Every line on screen is horizontal: no text-direction classifier.
    engine = RapidOCR(
        intra_op_num_threads=1, inter_op_num_threads=1, det_limit_type="max", det_limit_side_len=layout.WIDTH
    )

    def read(image, region) -> str:
        """Everything OCR reads in `region` of `image`, without spaces or thousands separators."""
        result, _ = engine(np.asarray(image.crop(region).convert("RGB")), use_cls=False)
        return squeeze(" ".join(text for _, text, _ in (result or [])))

    return read


def squeeze(text: str) -> str:
    """OCR output and expected figures compared without spaces or thousands separators."""
    return re.sub(r"[\s,.]", "", text)


def expected_figures(board) -> list[tuple[float, tuple[int, int, int, int], list[str]]]:
    """(instant, region, the figures that must be read there): the card and today's utilization at the
    opening, and at the takeaway the meter at its goal and the amount to pay down."""
    f, text = board.figures, board.text
    opening = [text.start_pct]
    if f.card is not None:
        opening += [_digits(text.balance), _digits(text.limit)]
        if f.card.mask:
            opening.append(f.card.mask)
    reads = [(OPENING_S, CARD_COLUMN, opening), (TAKEAWAY_S, METER, [text.target_pct])]
    if f.card is not None and f.falls:
        reads.append((TAKEAWAY_S, TAKEAWAY_PANEL, [_digits(f.card.money(f.card.pay_down))]))
    return reads


def _digits(money: str) -> str:
    return re.sub(r"[^\d]", "", money)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_users_figures_are_on_screen(ocr, name):
    board = board_for(CASES[name])
    painter = Painter(board)
    for instant, region, figures in expected_figures(board):
        seen = ocr(painter.frame(state_at(board, instant)), region)
        for figure in figures:
            assert squeeze(figure) in seen, f"{figure!r} not read at {instant}s in {region}: {seen}"


def test_the_edge_cases_cover_what_the_issue_lists():
    starts = {board_for(context).figures.start_utilization_pct for context in EDGE_CONTEXTS.values()}
    assert {0.0, 29.5, 30.0, 30.5, 55.0, 100.0} <= starts
    assert board_for(EDGE_CONTEXTS["limit-zero"]).figures.card is None
    assert board_for(EDGE_CONTEXTS["no-mask"]).figures.card.mask is None
    assert board_for(EDGE_CONTEXTS["huge"]).text.balance == "$1,234,567"


def test_ocr_would_notice_a_wrong_number(ocr):
    board = board_for(real_contexts()["user_0034"])
    seen = ocr(Painter(board).frame(state_at(board, OPENING_S)), CARD_COLUMN)
    assert "14215" in seen and "14216" not in seen and "2386" not in seen


@pytest.mark.parametrize("user", ["user_0034", "no-card"])
def test_the_encoded_video_shows_the_same_figures(ocr, tmp_path: Path, user):
    context = real_contexts()[user] if user in real_contexts() else {"signals": {"credit_max_util_pct": 73.2}}
    board = board_for(context)
    video = LocalRenderer().produce(VideoRequest("job", "", board), tmp_path).video_path
    reads = expected_figures(board)
    wanted = {round(instant * LOCAL_FPS) for instant, _, _ in reads}
    with av.open(str(video)) as container:
        frames = {index: frame.to_image() for index, frame in enumerate(container.decode(video=0)) if index in wanted}
    assert frames.keys() == wanted, "the video holds every instant the figures are read at"
    for instant, region, figures in reads:
        seen = ocr(frames[round(instant * LOCAL_FPS)], region)
        assert all(squeeze(figure) in seen for figure in figures), f"at {instant}s in {region}: {seen}"
