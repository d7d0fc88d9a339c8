"""Every number a credit-utilization video shows, derived once from the user's own data.

Two shapes: with the user's card (mask, balance, limit, currency from the
engine's `accounts`) or, when no usable card is known, from the utilization
signal alone. Nothing here is invented per user: the only score on screen is
the product plan's fixed, labelled example (650 → 720), never an estimate of
this user's score.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from worker.errors import InvalidVideoInput
from worker.prompts.money import format_money

#: The guideline the video teaches: the meter falls to this line and the caption names it.
GUIDELINE_UTILIZATION_PCT = 30
#: Above the guideline the meter is yellow, and red from here up (SpendSense's own 50% flag).
RED_FROM_PCT = 50
#: The illustrative score change of the product plan, shown only as a labelled example.
EXAMPLE_SCORE_FROM, EXAMPLE_SCORE_TO = 650, 720
#: Utilization is kept to this many decimals; labels show fewer (see `percent_label`).
_PCT_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class CardFigures:
    """The card a video is about, in whole units of its currency. `mask` is None when unknown."""

    mask: str | None
    currency: str
    balance: int
    limit: int

    @property
    def target_balance(self) -> int:
        """The largest whole balance at or under the guideline."""
        return self.limit * GUIDELINE_UTILIZATION_PCT // 100

    @property
    def pay_down(self) -> int:
        return max(self.balance - self.target_balance, 0)

    def money(self, amount: int) -> str:
        return format_money(amount, self.currency)


@dataclass(frozen=True)
class UtilizationFigures:
    """Where the meter starts and ends; `card` is None for the utilization-only storyboard."""

    start_utilization_pct: float
    target_utilization_pct: float
    card: CardFigures | None = None

    @property
    def falls(self) -> bool:
        return self.start_utilization_pct > GUIDELINE_UTILIZATION_PCT

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UtilizationFigures:
        card = data.get("card")
        return cls(
            data["start_utilization_pct"],
            data["target_utilization_pct"],
            CardFigures(**card) if card is not None else None,
        )


def utilization_figures(utilization_pct: object, card: CardFigures | None = None) -> UtilizationFigures:
    """Figures for a user at `utilization_pct` (0–100), or for `card` when one is given.

    A card's own balance and limit decide its utilization, so every number on
    screen agrees with every other (and may exceed 100% for a card over its limit).

    Raises:
        InvalidVideoInput: no card and the signal is missing, not a number, NaN, negative or over 100.
    """
    if card is not None:
        start = quantize_pct(100 * card.balance / card.limit)
    else:  # only the label is on screen, so users whose labels match share one video
        start = float(percent_label(quantize_pct(_valid_percentage(utilization_pct))).rstrip("%"))
    return UtilizationFigures(start, min(start, float(GUIDELINE_UTILIZATION_PCT)), card)


def quantize_pct(value: float) -> float:
    """Two decimals, never rounded onto or across the guideline (30.001% stays above 30%)."""
    quantized = float(Decimal(str(value)).quantize(_PCT_PLACES, rounding=ROUND_HALF_UP))
    guideline = float(GUIDELINE_UTILIZATION_PCT)
    if value > guideline >= quantized:
        return guideline + 0.01
    if value < guideline <= quantized:
        return guideline - 0.01
    return quantized


def percent_label(value: float) -> str:
    """`95%`, or as many decimals as it takes to stay on the right side of the guideline (`29.5%`)."""
    for places in (0, 1, 2):
        shown = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if _side(float(shown)) == _side(value):
            return f"{shown}%"
    return f"{value:.2f}%"


def meter_colour(utilization_pct: float) -> str:
    """The colour name the meter shows at a utilization (the renderer blends the same three)."""
    if utilization_pct <= GUIDELINE_UTILIZATION_PCT:
        return "green"
    return "yellow" if utilization_pct < RED_FROM_PCT else "red"


def _side(value: float) -> int:
    return (value > GUIDELINE_UTILIZATION_PCT) - (value < GUIDELINE_UTILIZATION_PCT)


def _valid_percentage(value: object) -> float:
    if value is None:
        raise InvalidVideoInput("credit utilization is missing (expected credit_max_util_pct)")
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, Decimal, str)):
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
