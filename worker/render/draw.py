"""Draw one 1280×720 frame of the credit-utilization storyboard with Pillow.

Only Pillow's bundled font is used, so frames are identical on every machine
that has the same Pillow version: no system fonts, no randomness.
"""

from __future__ import annotations

import math
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont, ImageOps

from worker.prompts.figures import GUIDELINE_UTILIZATION_PCT
from worker.render.timeline import GREEN, FrameState

WIDTH, HEIGHT = 1280, 720
_TOP_BLUE, _BOTTOM_GREEN = (16, 38, 74), (18, 92, 96)
_TRACK = (58, 84, 120)
_WHITE = (245, 248, 250)
_INK = (16, 38, 74)
_GAUGE_CENTER, _GAUGE_RADIUS, _GAUGE_WIDTH = (420, 470), 250, 46


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


@lru_cache(maxsize=1)
def _background() -> Image.Image:
    gradient = Image.linear_gradient("L").resize((WIDTH, HEIGHT))
    image = ImageOps.colorize(gradient, _TOP_BLUE, _BOTTOM_GREEN).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.text((80, 56), "Credit utilization", font=_font(44), fill=_WHITE)
    draw.text((820, 236), "Est. credit score", font=_font(38), fill=_WHITE)
    _arc(draw, 0, 100, _TRACK, _GAUGE_WIDTH)
    return image


def draw_frame(state: FrameState, caption: str) -> Image.Image:
    """A new RGB image for `state`; the caption fades in with `caption_opacity`."""
    image = _background().copy()
    draw = ImageDraw.Draw(image)
    if state.pulse > 0:
        glow = _mix(_TRACK, state.meter_color, 0.45 * state.pulse)
        _arc(draw, 0, state.meter_pct, glow, _GAUGE_WIDTH + round(22 * state.pulse))
    _arc(draw, 0, state.meter_pct, state.meter_color, _GAUGE_WIDTH)
    _guideline_tick(draw)
    _centered(draw, f"{round(state.meter_pct)}%", (_GAUGE_CENTER[0], _GAUGE_CENTER[1] - 70), 112, _WHITE)
    draw.text((820, 290), f"{state.score}", font=_font(128), fill=_WHITE)
    if state.show_arrow:
        _up_arrow(draw, (1110, 300))
    if state.caption_opacity > 0:
        _caption(draw, caption, state.caption_opacity)
    return image


def _arc(draw: ImageDraw.ImageDraw, from_pct: float, to_pct: float, color, width: int) -> None:
    if to_pct <= from_pct:
        return
    cx, cy = _GAUGE_CENTER
    r = _GAUGE_RADIUS + (width - _GAUGE_WIDTH) // 2
    box = (cx - r, cy - r, cx + r, cy + r)
    draw.arc(box, 180 + 1.8 * from_pct, 180 + 1.8 * to_pct, fill=color, width=width)


def _guideline_tick(draw: ImageDraw.ImageDraw) -> None:
    angle = math.radians(180 + 1.8 * GUIDELINE_UTILIZATION_PCT)
    cx, cy = _GAUGE_CENTER
    inner, outer = _GAUGE_RADIUS - _GAUGE_WIDTH - 8, _GAUGE_RADIUS + 10
    points = [(cx + rad * math.cos(angle), cy + rad * math.sin(angle)) for rad in (inner, outer)]
    draw.line(points, fill=_WHITE, width=5)
    lx, ly = cx + (outer + 30) * math.cos(angle), cy + (outer + 30) * math.sin(angle)
    _centered(draw, f"{GUIDELINE_UTILIZATION_PCT}%", (lx - 10, ly - 10), 30, _WHITE)


def _up_arrow(draw: ImageDraw.ImageDraw, origin: tuple[int, int]) -> None:
    x, y = origin
    draw.polygon([(x, y + 50), (x + 40, y), (x + 80, y + 50)], fill=GREEN)
    draw.rectangle((x + 24, y + 50, x + 56, y + 110), fill=GREEN)


def _caption(draw: ImageDraw.ImageDraw, caption: str, opacity: float) -> None:
    band = _mix(_BOTTOM_GREEN, _WHITE, opacity)
    draw.rounded_rectangle((140, 590, WIDTH - 140, 690), radius=28, fill=band)
    _centered(draw, caption, (WIDTH // 2, 640), 58, _mix(band, _INK, opacity))


def _centered(draw: ImageDraw.ImageDraw, text: str, center, size: int, color) -> None:
    draw.text(center, text, font=_font(size), fill=color, anchor="mm")


def _mix(a, b, t: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))  # type: ignore[return-value]
