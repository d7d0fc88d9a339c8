"""What the screen shows at each instant of a storyboard (pure, no drawing).

Keeping this apart from the drawing code lets tests check the figures a video
shows frame by frame without decoding pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from worker.prompts.figures import GUIDELINE_UTILIZATION_PCT, ORANGE_BELOW_PCT
from worker.prompts.templates import Storyboard

RED = (220, 64, 52)
ORANGE = (245, 150, 40)
GREEN = (46, 180, 110)
#: Meter colour stops, built from the thresholds `meter_colour` names, so every whole percentage is
#: drawn in the colour the prompt names; the one-point blends only show while the meter moves.
_COLOR_STOPS = (
    (0.0, GREEN), (float(GUIDELINE_UTILIZATION_PCT), GREEN), (GUIDELINE_UTILIZATION_PCT + 1.0, ORANGE),
    (ORANGE_BELOW_PCT - 1.0, ORANGE), (float(ORANGE_BELOW_PCT), RED), (100.0, RED),
)


@dataclass(frozen=True)
class FrameState:
    time_s: float
    meter_pct: float
    meter_color: tuple[int, int, int]
    pulse: float  # 0..1 glow strength
    score: int
    show_arrow: bool
    caption_opacity: float  # 0..1


def frame_states(board: Storyboard, fps: int) -> list[FrameState]:
    """One state per frame for the whole storyboard."""
    count = board.duration_seconds * fps
    return [state_at(board, index / fps) for index in range(count)]


def state_at(board: Storyboard, time_s: float) -> FrameState:
    f = board.figures
    fall, caption = board.beat("fall"), board.beat("caption")
    progress = _ease(_clamp((time_s - fall.start_s) / (fall.end_s - fall.start_s)))
    meter = f.start_utilization_pct + (f.target_utilization_pct - f.start_utilization_pct) * progress
    score = round(f.start_score + (f.target_score - f.start_score) * progress)
    pulse = 0.5 - 0.5 * math.cos(2 * math.pi * time_s) if time_s < fall.start_s else 0.0
    return FrameState(
        time_s=time_s,
        meter_pct=meter,
        meter_color=color_for(meter),
        pulse=pulse,
        score=score,
        show_arrow=time_s >= fall.start_s and f.target_score > f.start_score,
        caption_opacity=_clamp((time_s - caption.start_s) / 0.5),
    )


def color_for(pct: float) -> tuple[int, int, int]:
    """Red → orange → green as utilization falls."""
    for (low, low_rgb), (high, high_rgb) in zip(_COLOR_STOPS, _COLOR_STOPS[1:]):
        if pct <= high:
            t = (pct - low) / (high - low) if high > low else 0.0
            return tuple(round(a + (b - a) * t) for a, b in zip(low_rgb, high_rgb))  # type: ignore[return-value]
    return RED


def _ease(t: float) -> float:
    return t * t * (3 - 2 * t)


def _clamp(value: float) -> float:
    return min(max(value, 0.0), 1.0)
