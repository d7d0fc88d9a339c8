"""Where everything sits in the 1280×720 frame, and the colours it is drawn in.

The frame is split into a left column (the card and its meter), a right column
(the balance chart, then the takeaway) and a strip along the bottom (a line of
narration, then the disclaimer). All text stays inside the title-safe area.
`TEXT_ON` lists every text colour with the backgrounds it is drawn on, so a
test can check each pair against WCAG AA.
"""

from __future__ import annotations

WIDTH, HEIGHT = 1280, 720
#: Title-safe area: 5% of each edge (SMPTE ST 2046-1 for HD), rounded to whole pixels.
SAFE_LEFT, SAFE_TOP, SAFE_RIGHT, SAFE_BOTTOM = 64, 36, WIDTH - 64, HEIGHT - 36

Rgb = tuple[int, int, int]

# -- palette: calm blues and greens ---------------------------------------------------------------
BG_TOP: Rgb = (13, 34, 62)
BG_BOTTOM: Rgb = (14, 56, 72)
STRIP: Rgb = (9, 25, 45)
CARD_TOP: Rgb = (27, 74, 128)
CARD_BOTTOM: Rgb = (20, 58, 104)
CHIP: Rgb = (176, 196, 214)
TRACK: Rgb = (40, 66, 100)
PANEL: Rgb = (22, 50, 84)
INK: Rgb = (244, 247, 251)
INK_SOFT: Rgb = (196, 212, 230)
ACCENT: Rgb = (134, 224, 176)
PILL_INK: Rgb = (10, 28, 50)
PILL_WARNING: Rgb = (242, 193, 78)
PILL_OK: Rgb = (96, 205, 150)
LINE: Rgb = (226, 234, 244)

#: Every text colour and what it is drawn over (both ends of a gradient count).
TEXT_ON: dict[str, tuple[Rgb, tuple[Rgb, ...]]] = {
    "title and chart text": (INK, (BG_TOP, BG_BOTTOM)),
    "labels on the background": (INK_SOFT, (BG_TOP, BG_BOTTOM)),
    "card text": (INK, (CARD_TOP, CARD_BOTTOM)),
    "card labels": (INK_SOFT, (CARD_TOP, CARD_BOTTOM)),
    "pay-down amount": (ACCENT, (BG_TOP, BG_BOTTOM)),
    "example score": (INK, (PANEL,)),
    "example labels": (INK_SOFT, (PANEL,)),
    "narration and disclaimer": (INK, (STRIP,)),
    "warning pill": (PILL_INK, (PILL_WARNING,)),
    "all-clear pill": (PILL_INK, (PILL_OK,)),
}

# -- geometry ---------------------------------------------------------------------------------------
TITLE_XY = (SAFE_LEFT, 44)
PILL_RIGHT, PILL_TOP, PILL_HEIGHT = SAFE_RIGHT, 40, 52

CARD_BOX = (SAFE_LEFT, 116, 544, 418)  # 480×302, a bank card's 1.59 ratio
CARD_PAD = 32
CARD_RADIUS = 26

METER_LABEL_Y = 446
METER_BAR = (SAFE_LEFT, 510, 544, 546)
METER_TICK_LABEL_Y = 560

RIGHT = (624, 116, SAFE_RIGHT, 590)  # the chart, then the takeaway
CHART_TOP, CHART_BOTTOM = 214, 520
BAR_WIDTH = 72

STRIP_TOP = 600
STRIP_TEXT_BOX = (SAFE_LEFT, 612, SAFE_RIGHT, SAFE_BOTTOM)


def meter_x(pct: float) -> float:
    """Where `pct` (clamped to 0–100) falls on the meter bar."""
    left, _, right, _ = METER_BAR
    return left + (right - left) * min(max(pct, 0.0), 100.0) / 100
