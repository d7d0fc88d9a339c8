"""Check what the engine hands over and turn it into a job specification.

Everything here is pure and raises `InvalidVideoInput` with a message meant for
the recommendation's `video_error`, so bad input is explained, never fatal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence, Sized
from dataclasses import dataclass
from typing import Any, cast

from worker.errors import InvalidVideoInput
from worker.prompts import (
    PromptTemplate,
    UtilizationFigures,
    choose_card,
    disclaimer_for_screen,
    find_template,
    normalize_persona,
    utilization_figures,
)

#: The recommendation topic that gets a video.
VIDEO_TOPIC = "credit_utilization"
#: Longest user id stored (the column's width).
MAX_USER_ID_CHARS = 128


@dataclass(frozen=True)
class JobSpec:
    """A validated request for one video, ready to become a `video_jobs` row."""

    user_id: str
    persona: str
    topic: str
    template: PromptTemplate
    figures: UtilizationFigures
    disclaimer: str
    prompt: str
    prompt_hash: str
    #: Why the user's card is not in the video (or is, without its mask); None when it is, or none was given.
    card_note: str | None = None

    @property
    def idempotency_key(self) -> str:
        """The same user, topic and content always map to the same job."""
        return hashlib.sha256(f"{self.user_id}\x1f{self.topic}\x1f{self.prompt_hash}".encode()).hexdigest()

    def row_input(self) -> dict[str, Any]:
        return {"figures": self.figures.as_dict(), "disclaimer": self.disclaimer, "card_note": self.card_note}


def wants_video(recommendation: object) -> bool:
    return isinstance(recommendation, dict) and recommendation.get("topic") == VIDEO_TOPIC


def job_spec(
    user_id: object,
    persona: object,
    topic: str,
    user_context: object,
    recommendations: Sequence[dict[str, Any]] = (),
    *,
    account_details: bool = False,
) -> JobSpec:
    """Validate the engine's arguments for one video.

    The user's highest-utilization card comes from `user_context["accounts"]`; without a usable
    one the utilization signal alone is shown. The disclaimer is the first recommendation's own.
    `account_details` lets the remote prompt carry the card's mask and amounts (an operator's opt-in).

    Raises:
        InvalidVideoInput: with a message that says what is wrong.
    """
    user = _valid_user_id(user_id)
    persona_key = normalize_persona(persona)
    template = find_template(persona_key, topic)
    if not isinstance(user_context, dict):
        raise InvalidVideoInput(f"user_context must be a dict, got {type(user_context).__name__}")
    choice = choose_card(user_context.get("accounts"))
    figures = utilization_figures(None if choice.card else utilization_of(user_context), choice.card)
    disclaimer = disclaimer_for_screen(next((rec.get("disclaimer") for rec in recommendations), None))
    prompt = template.prompt(figures, account_details=account_details)
    return JobSpec(
        user,
        persona_key,
        topic,
        template,
        figures,
        disclaimer,
        prompt,
        template.prompt_hash(figures, disclaimer, prompt),
        choice.note,
    )


def utilization_of(user_context: dict[str, Any]) -> object:
    """The user's utilization, wherever the engine put it.

    Looked up at `signals.credit_max_util_pct` (the signals table), then
    `credit_max_util_pct`, then the trace's `signals.credit.current.max_utilization_pct`.
    """
    signals = as_mapping(user_context.get("signals"))
    for value in (
        signals.get("credit_max_util_pct"),
        user_context.get("credit_max_util_pct"),
        _nested(signals, "credit", "current", "max_utilization_pct"),
    ):
        if value is not None:
            return value
    return None


def as_mapping(signals: object) -> dict[str, Any]:
    """The engine's signals as a dict: a dict, a pandas Series (a row of signals.parquet) or a one-row DataFrame.

    Raises:
        InvalidVideoInput: a DataFrame with more or fewer than one row (whose figures would we show?).
    """
    if isinstance(signals, dict):
        return signals
    if hasattr(signals, "columns") and hasattr(signals, "iloc"):  # a pandas DataFrame
        table = cast(Sized, signals)
        if len(table) != 1:
            raise InvalidVideoInput(f"signals is a table of {len(table)} rows; expected this user's one row")
        return signals.iloc[0].to_dict()
    if hasattr(signals, "to_dict") and hasattr(signals, "index"):  # a pandas Series
        return signals.to_dict()
    return {}


def _nested(mapping: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


def _valid_user_id(user_id: object) -> str:
    if not isinstance(user_id, str) or not user_id.strip():
        raise InvalidVideoInput(f"user_id must be a non-empty string, got {user_id!r}")
    if len(user_id) > MAX_USER_ID_CHARS:
        raise InvalidVideoInput(f"user_id is longer than {MAX_USER_ID_CHARS} characters")
    return user_id
