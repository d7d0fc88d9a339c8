"""Persona × topic video templates: one storyboard feeds both the prompt and the renderer.

A template's storyboard is the single description of a video. The remote
provider receives it as prose (`PromptTemplate.prompt`); the local renderer
draws the same beats with the same figures, so both backends tell one story.
Bump `version` whenever the wording or the timing changes: it is part of the
prompt hash, so an auditor can tell which template produced a video.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property

from worker.errors import InvalidVideoInput
from worker.prompts.figures import (
    EXAMPLE_SCORE_FROM,
    EXAMPLE_SCORE_TO,
    GUIDELINE_UTILIZATION_PCT,
    UtilizationFigures,
    meter_colour,
    percent_label,
)
from worker.prompts.screen import DEFAULT_DISCLAIMER, SHORT_DISCLAIMER, TAKEAWAY, ScreenText, screen_text

#: Personas the SpendSense engine assigns (its display names, normalised).
KNOWN_PERSONAS = (
    "high_utilization",
    "variable_income_budgeter",
    "subscription_heavy",
    "cash_flow_optimizer",
    "savings_builder",
    "general",
)


@dataclass(frozen=True)
class Beat:
    """One timed part of the storyboard."""

    name: str
    start_s: float
    end_s: float
    description: str


@dataclass(frozen=True)
class Storyboard:
    """The whole video: its figures, the disclaimer it ends on, its length and beats."""

    figures: UtilizationFigures
    disclaimer: str
    duration_seconds: int
    beats: tuple[Beat, ...]

    def beat(self, name: str) -> Beat:
        return next(beat for beat in self.beats if beat.name == name)

    @cached_property
    def text(self) -> ScreenText:
        """Every string the video shows (worded once per storyboard, read on every frame)."""
        return screen_text(self.figures, self.disclaimer)


@dataclass(frozen=True)
class PromptTemplate:
    """A storyboard recipe for one persona and topic."""

    persona: str
    topic: str
    version: str
    duration_seconds: int = 8

    @property
    def template_id(self) -> str:
        return f"{self.persona}.{self.topic}"

    def storyboard(self, figures: UtilizationFigures, disclaimer: str = DEFAULT_DISCLAIMER) -> Storyboard:
        return Storyboard(
            figures,
            disclaimer,
            self.duration_seconds,
            tuple(
                Beat(name, start, end, description)
                for name, start, end, description in self._beats(figures, account_details=True)
            ),
        )

    def _beats(self, f: UtilizationFigures, *, account_details: bool) -> list[tuple[str, float, float, str]]:
        """The product plan's three beats; amounts and the mask only with `account_details`."""
        card = f.card if account_details else None
        start, guideline = percent_label(f.start_utilization_pct), f"{GUIDELINE_UTILIZATION_PCT}%"
        colour = meter_colour(f.start_utilization_pct)
        subject = f"a stylised credit card ending in {card.mask}" if card and card.mask else "a stylised credit card"
        amounts = (
            f", showing a balance of {card.money(card.balance)} of a {card.money(card.limit)} limit" if card else ""
        )
        if f.falls:
            opening = (
                f"{subject}{amounts}; its utilization meter reads {start} and pulses gently in {colour}, "
                f"with small warning indicators beside it."
            )
            shades = {"red": "red to yellow to green", "yellow": "yellow to green"}[colour]
            goal = f" ({card.money(card.target_balance)})" if card else ""
            middle = (
                f"A balance bar falls to a dashed line marked {guideline}{goal} while the meter moves from "
                f"{start} to {guideline}, its colour shifting {shades}, and the warning indicators clear."
            )
            action = (
                f'"Pay down {card.money(card.pay_down)} to reach {guideline}"' if card else f'"Pay down to {guideline}"'
            )
        else:
            opening = (
                f"{subject}{amounts}; its utilization meter reads {start}, calm and green, below the {guideline} line."
            )
            middle = f"The balance bar stays under the dashed {guideline} line and the meter holds steady in green."
            action = f'"You\'re at or below {guideline}"'
        closing = (
            f'The text {action} appears, then "{TAKEAWAY}" in large, friendly type, beside an example score '
            f'rising from {EXAMPLE_SCORE_FROM} to {EXAMPLE_SCORE_TO} clearly labelled "Illustrative example"; '
            f'a small line at the bottom reads "{SHORT_DISCLAIMER}"'
        )
        return [
            ("card", 0.0, 2.0, opening[0].upper() + opening[1:]),
            ("pay_down", 2.0, 5.0, middle),
            ("takeaway", 5.0, float(self.duration_seconds), closing),
        ]

    def prompt(self, figures: UtilizationFigures, *, account_details: bool = False) -> str:
        """The remote provider's prompt: rounded percentages only, unless the operator opted in to amounts."""
        timeline = " ".join(
            f"{start:g}-{end:g}s: {text}"
            for _, start, end, text in self._beats(figures, account_details=account_details)
        )
        return (
            f"An {self.duration_seconds}-second, 16:9 animated financial-education explainer in flat motion "
            f"graphics. Calm palette of deep blues and soft greens, minimalist, no people, no faces, no logos"
            f"{'' if account_details else ', no account numbers or amounts'}. {timeline} Smooth easing, gentle "
            f"pacing, crisp legible numerals, nothing flashing."
        )

    def prompt_hash(self, figures: UtilizationFigures, disclaimer: str, prompt: str) -> str:
        """sha256 of everything that decides the video's content: figures, card, disclaimer and prompt."""
        payload = {
            "template_id": self.template_id,
            "template_version": self.version,
            "figures": figures.as_dict(),
            "disclaimer": disclaimer,
            "prompt": prompt,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


_TEMPLATES: dict[tuple[str, str], PromptTemplate] = {
    ("high_utilization", "credit_utilization"): PromptTemplate("high_utilization", "credit_utilization", "2.0"),
}


def normalize_persona(persona: object) -> str:
    """ "High Utilization", "high-utilization" and "high_utilization" are one persona.

    Raises:
        InvalidVideoInput: not a string, or not a persona the engine assigns.
    """
    if not isinstance(persona, str) or not persona.strip():
        raise InvalidVideoInput(f"persona must be a non-empty string, got {persona!r}")
    key = "_".join(persona.strip().lower().replace("-", " ").split())
    if key not in KNOWN_PERSONAS:
        raise InvalidVideoInput(f"unknown persona {persona!r}; known: {', '.join(KNOWN_PERSONAS)}")
    return key


def find_template(persona: str, topic: str) -> PromptTemplate:
    """The template for a normalised persona and a topic.

    Raises:
        InvalidVideoInput: no template covers that pair.
    """
    try:
        return _TEMPLATES[(persona, topic)]
    except KeyError:
        raise InvalidVideoInput(f"no video template for persona {persona!r} and topic {topic!r}") from None
