"""Number fidelity: real OCR reads the rendered frames and finds the user's own figures on screen.

RapidOCR's wheel ships its models, so this runs offline. Frames come from the
renderer's own painter at the storyboard's key instants, and for two users from
a decoded MP4, so the encoder is covered too.
"""

from __future__ import annotations

import re
from pathlib import Path

import av
import numpy as np
import pytest

from tests.storyboards import EDGE_CONTEXTS, board_for, real_contexts
from worker.providers import VideoRequest
from worker.providers.local import LocalRenderer
from worker.render.draw import Painter
from worker.render.timeline import state_at

#: The card beat (mask, balance, limit, utilization today) and the takeaway (what it takes).
OPENING_S, TAKEAWAY_S = 1.0, 7.0
REAL_USERS = ("user_0034", "user_0001", "user_0059", "user_0072")
CASES = {**EDGE_CONTEXTS, **{user: real_contexts()[user] for user in REAL_USERS}}


@pytest.fixture(scope="module")
def ocr():
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR()

    def read(image) -> str:
        result, _ = engine(np.asarray(image.convert("RGB")))
        return " ".join(text for _, text, _ in (result or []))

    return read


def squeeze(text: str) -> str:
    """OCR output and expected figures compared without spaces or thousands separators."""
    return re.sub(r"[\s,.]", "", text)


def expected_figures(board) -> tuple[list[str], list[str]]:
    """What must be readable at the opening and at the takeaway."""
    f, text = board.figures, board.text
    opening = [text.start_pct]
    takeaway = [text.target_pct]
    if f.card is not None:
        opening += [_digits(text.balance), _digits(text.limit)]
        if f.card.mask:
            opening.append(f.card.mask)
        if f.falls:
            takeaway.append(_digits(f.card.money(f.card.pay_down)))
    return opening, takeaway


def _digits(money: str) -> str:
    return re.sub(r"[^\d]", "", money)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_users_figures_are_on_screen(ocr, name):
    board = board_for(CASES[name])
    painter = Painter(board)
    opening, takeaway = expected_figures(board)
    seen_opening = squeeze(ocr(painter.frame(state_at(board, OPENING_S))))
    seen_takeaway = squeeze(ocr(painter.frame(state_at(board, TAKEAWAY_S))))
    for figure in opening:
        assert squeeze(figure) in seen_opening, f"{figure!r} not read at {OPENING_S}s: {seen_opening}"
    for figure in takeaway:
        assert squeeze(figure) in seen_takeaway, f"{figure!r} not read at {TAKEAWAY_S}s: {seen_takeaway}"


def test_the_edge_cases_cover_what_the_issue_lists():
    starts = {board_for(context).figures.start_utilization_pct for context in EDGE_CONTEXTS.values()}
    assert {0.0, 29.5, 30.0, 30.5, 55.0, 100.0} <= starts
    assert board_for(EDGE_CONTEXTS["limit-zero"]).figures.card is None
    assert board_for(EDGE_CONTEXTS["no-mask"]).figures.card.mask is None
    assert board_for(EDGE_CONTEXTS["huge"]).text.balance == "$1,234,567"


def test_ocr_would_notice_a_wrong_number(ocr):
    board = board_for(real_contexts()["user_0034"])
    seen = squeeze(ocr(Painter(board).frame(state_at(board, OPENING_S))))
    assert "14215" in seen and "14216" not in seen and "2386" not in seen


@pytest.mark.parametrize("user", ["user_0034", "no-card"])
def test_the_encoded_video_shows_the_same_figures(ocr, tmp_path: Path, user):
    context = real_contexts()[user] if user in real_contexts() else {"signals": {"credit_max_util_pct": 73.2}}
    board = board_for(context)
    video = LocalRenderer().produce(VideoRequest("job", "", board), tmp_path).video_path
    opening, takeaway = expected_figures(board)
    wanted = {round(OPENING_S * 24): opening, round(TAKEAWAY_S * 24): takeaway}
    with av.open(str(video)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                seen = squeeze(ocr(frame.to_image()))
                assert all(squeeze(figure) in seen for figure in wanted.pop(index)), seen
    assert not wanted
