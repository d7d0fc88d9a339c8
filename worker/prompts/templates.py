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

from worker.errors import InvalidVideoInput
from worker.prompts.figures import GUIDELINE_UTILIZATION_PCT, UtilizationFigures, meter_colour

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
    """The whole video: its figures, length, beats and closing caption."""

    figures: UtilizationFigures
    duration_seconds: int
    beats: tuple[Beat, ...]
    caption: str

    def beat(self, name: str) -> Beat:
        return next(beat for beat in self.beats if beat.name == name)


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

    def storyboard(self, figures: UtilizationFigures) -> Storyboard:
        f = figures
        caption = f"Below {GUIDELINE_UTILIZATION_PCT}% = Better Score"
        start_colour = meter_colour(f.start_utilization_pct)
        beats = (
            Beat("pulse", 0.0, 2.0,
                 f"A clean semicircular credit-utilization meter pulses gently at {f.start_utilization_pct}%, "
                 f"its fill glowing {start_colour}; an estimated credit score of {f.start_score} sits beside it."),
            Beat("fall", 2.0, 6.0, self._fall(f)),
            Beat("caption", 6.0, float(self.duration_seconds),
                 f'The meter rests in green at {f.target_utilization_pct}% and the text "{caption}" '
                 f"appears in large, friendly type."),
        )
        return Storyboard(figures, self.duration_seconds, beats, caption)

    @staticmethod
    def _fall(f: UtilizationFigures) -> str:
        if f.target_utilization_pct == f.start_utilization_pct:
            return (f"The meter holds steady in green at {f.start_utilization_pct}%, already below the "
                    f"{GUIDELINE_UTILIZATION_PCT}% mark, and the score stays at {f.start_score}.")
        mark = f"the {GUIDELINE_UTILIZATION_PCT}% mark"
        colour = {"red": f"its colour shifting red to orange to green as it passes {mark}",
                  "orange": f"its colour shifting orange to green as it passes {mark}",
                  "green": f"staying green, already at or below {mark}"}[meter_colour(f.start_utilization_pct)]
        return (f"The meter smoothly falls from {f.start_utilization_pct}% to {f.target_utilization_pct}%, "
                f"{colour}, while the score counts up from {f.start_score} to {f.target_score} with an upward arrow.")

    def prompt(self, figures: UtilizationFigures) -> str:
        board = self.storyboard(figures)
        timeline = " ".join(f"{b.start_s:g}-{b.end_s:g}s: {b.description}" for b in board.beats)
        return (
            f"An {board.duration_seconds}-second, 16:9 animated financial-education explainer in flat motion "
            f"graphics. Calm palette of deep blues and soft greens, no people, no faces, no logos, no account "
            f"numbers. {timeline} Smooth easing, gentle pacing, crisp legible numerals."
        )

    def prompt_hash(self, figures: UtilizationFigures) -> str:
        """sha256 of everything that decides the video's content."""
        payload = {
            "template_id": self.template_id,
            "template_version": self.version,
            "figures": figures.as_dict(),
            "prompt": self.prompt(figures),
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


_TEMPLATES: dict[tuple[str, str], PromptTemplate] = {
    ("high_utilization", "credit_utilization"): PromptTemplate("high_utilization", "credit_utilization", "1.1"),
}


def normalize_persona(persona: object) -> str:
    """"High Utilization", "high-utilization" and "high_utilization" are one persona.

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

