"""What the screen shows at each instant of a storyboard (pure, no drawing).

Keeping this apart from the drawing code lets tests check the figures and the
motion frame by frame without decoding pixels: every opacity ramps over at
least `MIN_FADE_S`, so nothing pops in on a single frame, and the only
repeating motion (the warning pulse) runs at `PULSE_HZ`, far below the 3
flashes a second that photosensitivity guidance allows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from worker.prompts.figures import GUIDELINE_UTILIZATION_PCT, RED_FROM_PCT
from worker.prompts.templates import Storyboard

RED = (232, 93, 80)
YELLOW = (242, 193, 78)
GREEN = (76, 195, 138)
#: Meter colour stops, built from the thresholds `meter_colour` names, so every whole percentage is
#: drawn in the colour the prompt names; the one-point blends only show while the meter moves.
_COLOR_STOPS = (
    (0.0, GREEN),
    (float(GUIDELINE_UTILIZATION_PCT), GREEN),
    (GUIDELINE_UTILIZATION_PCT + 1.0, YELLOW),
    (RED_FROM_PCT - 1.0, YELLOW),
    (float(RED_FROM_PCT), RED),
    (100.0, RED),
)
#: The shortest fade of any element: 0.25 s is 6 frames at 24 fps.
MIN_FADE_S = 0.25
#: The warning glow breathes once a second while the card is introduced.
PULSE_HZ = 1.0
#: Bars of the balance chart: today, three steps down, and the goal.
BAR_COUNT = 5
#: When the fall ends and the takeaway takes over the right half of the frame.
FALL_END_S = 4.8
TAKEAWAY_IN = (4.9, 5.3)
DISCLAIMER_IN = (5.3, 5.7)


@dataclass(frozen=True)
class FrameState:
    time_s: float
    meter_pct: float
    meter_label: str
    meter_color: tuple[int, int, int]
    #: Whole units shown as the card's balance (None on the utilization-only storyboard).
    balance: int | None
    pulse: float  # 0..1 glow strength
    warning_opacity: float
    ok_opacity: float
    #: Each bar's value (percent or whole units) and opacity, today first.
    bars: tuple[tuple[float, float], ...]
    chart_opacity: float
    takeaway_opacity: float
    card_line_opacity: float
    fall_line_opacity: float
    disclaimer_opacity: float

    def look(self) -> FrameState:
        """The state without its time: two frames with the same look are the same picture."""
        return replace(self, time_s=0.0)


def frame_states(board: Storyboard, fps: int) -> list[FrameState]:
    """One state per frame for the whole storyboard."""
    count = board.duration_seconds * fps
    return [state_at(board, index / fps) for index in range(count)]


def fall_progress(board: Storyboard, time_s: float) -> float:
    """0 before the fall, 1 after it, eased in between."""
    start = board.beat("pay_down").start_s
    return _ease(_ramp(time_s, start, FALL_END_S)) if board.figures.falls else 0.0


def state_at(board: Storyboard, time_s: float) -> FrameState:
    f, text = board.figures, board.text
    progress = fall_progress(board, time_s)
    meter = f.start_utilization_pct + (f.target_utilization_pct - f.start_utilization_pct) * progress
    label = text.start_pct if progress == 0 else text.target_pct if progress == 1 else f"{round(meter)}%"
    balance = None
    if f.card is not None:
        balance = round(f.card.balance + (f.card.target_balance - f.card.balance) * progress)
    card_end = board.beat("card").end_s
    pulse = 0.5 - 0.5 * math.cos(2 * math.pi * PULSE_HZ * time_s) if f.falls and time_s < card_end else 0.0
    warning = _fade_out(time_s, FALL_END_S - 0.4, FALL_END_S) if f.falls else 0.0
    return FrameState(
        time_s=time_s,
        meter_pct=meter,
        meter_label=label,
        meter_color=color_for(meter),
        balance=balance,
        pulse=pulse,
        warning_opacity=warning,
        ok_opacity=_ramp(time_s, FALL_END_S, FALL_END_S + 0.4) if f.falls else _ramp(time_s, 2.0, 2.4),
        bars=_bars(board, progress),
        chart_opacity=_fade_out(time_s, *TAKEAWAY_IN),
        takeaway_opacity=_ramp(time_s, *TAKEAWAY_IN),
        card_line_opacity=_fade_out(time_s, card_end - 0.15, card_end + 0.15),
        fall_line_opacity=min(_ramp(time_s, card_end + 0.15, card_end + 0.45), _fade_out(time_s, *TAKEAWAY_IN)),
        disclaimer_opacity=_ramp(time_s, *DISCLAIMER_IN),
    )


def poster_state(board: Storyboard) -> FrameState:
    """The poster: the user's starting point (card, balance, meter) beside the takeaway it leads to."""
    opening = state_at(board, 0.0)
    return replace(opening, chart_opacity=0.0, takeaway_opacity=1.0, card_line_opacity=0.0, disclaimer_opacity=1.0)


def bar_values(board: Storyboard) -> tuple[float, ...]:
    """Today's value, evenly spaced steps, and the goal (in whole units with a card, else percent)."""
    f = board.figures
    if f.card is not None:
        start, goal = float(f.card.balance), float(f.card.target_balance)
    else:
        start, goal = f.start_utilization_pct, f.target_utilization_pct
    if not f.falls:
        return (start,)
    return tuple(start + (goal - start) * index / (BAR_COUNT - 1) for index in range(BAR_COUNT))


def color_for(pct: float) -> tuple[int, int, int]:
    """Red → yellow → green as utilization falls."""
    for (low, low_rgb), (high, high_rgb) in zip(_COLOR_STOPS, _COLOR_STOPS[1:]):
        if pct <= high:
            t = (pct - low) / (high - low) if high > low else 0.0
            return tuple(round(a + (b - a) * t) for a, b in zip(low_rgb, high_rgb))  # type: ignore[return-value]
    return RED


def _bars(board: Storyboard, progress: float) -> tuple[tuple[float, float], ...]:
    """Bar 0 stands from the start; each later bar fades in as the fall passes its step."""
    values = bar_values(board)
    step = 1 / max(len(values) - 1, 1)
    return tuple(
        (value, 1.0 if index == 0 else _clamp((progress - (index - 1) * step) / step))
        for index, value in enumerate(values)
    )


def _ramp(time_s: float, start_s: float, end_s: float) -> float:
    return _ease(_clamp((time_s - start_s) / (end_s - start_s)))


def _fade_out(time_s: float, start_s: float, end_s: float) -> float:
    return 1.0 - _ramp(time_s, start_s, end_s)


def _ease(t: float) -> float:
    return t * t * (3 - 2 * t)


def _clamp(value: float) -> float:
    return min(max(value, 0.0), 1.0)
