"""Turn a utilization percentage into the figures a video shows.

The score is an illustrative estimate, not a prediction: a straight line through
the storyboard's own example (73% → 650, 28% → 720), clamped to the FICO range.
It only ever appears labelled "est." so nobody mistakes it for their real score.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal

from worker.errors import InvalidVideoInput

#: Where the meter ends: just under the 30% guideline the video teaches.
TARGET_UTILIZATION_PCT = 28
#: The guideline itself, drawn as a tick on the meter and named in the caption.
GUIDELINE_UTILIZATION_PCT = 30
#: Above the guideline the meter is orange, and red from here up.
ORANGE_BELOW_PCT = 55
#: Anchor points of the illustrative score line (from the product storyboard).
_SCORE_ANCHORS = ((73, 650), (28, 720))
_SCORE_RANGE = (300, 850)


@dataclass(frozen=True)
class UtilizationFigures:
    """Every number a credit-utilization video shows, as whole percentages and points."""

    start_utilization_pct: int
    target_utilization_pct: int
    start_score: int
    target_score: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def utilization_figures(utilization_pct: object) -> UtilizationFigures:
    """Figures for a user at `utilization_pct` (0–100).

    Raises:
        InvalidVideoInput: missing, not a number, NaN, negative or over 100.
    """
    value = _valid_percentage(utilization_pct)
    start = int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    target = min(start, TARGET_UTILIZATION_PCT)
    return UtilizationFigures(start, target, estimated_score(start), estimated_score(target))


def meter_colour(utilization_pct: float) -> str:
    """The colour name the meter shows at a utilization (the renderer blends the same three)."""
    if utilization_pct <= GUIDELINE_UTILIZATION_PCT:
        return "green"
    return "orange" if utilization_pct < ORANGE_BELOW_PCT else "red"


def estimated_score(utilization_pct: float) -> int:
    """The illustrative score for a utilization, rounded to a whole point."""
    (u1, s1), (u2, s2) = _SCORE_ANCHORS
    score = s1 + (utilization_pct - u1) * (s2 - s1) / (u2 - u1)
    low, high = _SCORE_RANGE
    return int(Decimal(str(min(max(score, low), high))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _valid_percentage(value: object) -> float:
    if value is None:
        raise InvalidVideoInput("credit utilization is missing (expected credit_max_util_pct)")
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise InvalidVideoInput(f"credit utilization must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except ValueError:
        raise InvalidVideoInput(f"credit utilization must be a number, got {value!r}") from None
    if math.isnan(number) or math.isinf(number):
        raise InvalidVideoInput("credit utilization is not a finite number")
    if not 0 <= number <= 100:
        raise InvalidVideoInput(f"credit utilization {number:g}% is outside 0–100%")
    return number
