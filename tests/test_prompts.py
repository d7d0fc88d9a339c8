"""Figures and templates: the numbers a video shows, and the story both backends tell."""

import math

import pytest

from worker.errors import InvalidVideoInput
from worker.prompts import find_template, normalize_persona, utilization_figures
from worker.prompts.figures import estimated_score


def test_storyboard_example_figures():
    figures = utilization_figures(73.0)
    assert (figures.start_utilization_pct, figures.target_utilization_pct) == (73, 28)
    assert (figures.start_score, figures.target_score) == (650, 720)


def test_percentages_round_half_up_like_the_engine_rationale():
    # The engine's rationale says "46% utilization" for 45.9 and "95%" for 94.77.
    assert utilization_figures(45.9).start_utilization_pct == 46
    assert utilization_figures(94.77).start_utilization_pct == 95
    assert utilization_figures(72.5).start_utilization_pct == 73


def test_score_rises_as_utilization_falls_and_stays_in_range():
    scores = [estimated_score(u) for u in range(0, 101, 5)]
    assert scores == sorted(scores, reverse=True)
    assert all(300 <= s <= 850 for s in scores)


def test_low_utilization_keeps_its_own_number():
    figures = utilization_figures(12)
    assert figures.target_utilization_pct == 12
    assert figures.start_score == figures.target_score


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "missing"),
        (math.nan, "not a finite number"),
        (math.inf, "not a finite number"),
        (-0.5, "outside 0–100%"),
        (2852.0, "2852% is outside"),
        ("seventy", "must be a number"),
        (True, "must be a number"),
        ([73], "must be a number"),
    ],
)
def test_bad_utilization_is_explained(value, message):
    with pytest.raises(InvalidVideoInput, match=message):
        utilization_figures(value)


@pytest.mark.parametrize("persona", ["High Utilization", "high_utilization", "high-utilization", " HIGH  utilization "])
def test_persona_spellings_are_one_persona(persona):
    assert normalize_persona(persona) == "high_utilization"


@pytest.mark.parametrize("persona", ["Crypto Whale", "", None, 7])
def test_unknown_persona_is_rejected(persona):
    with pytest.raises(InvalidVideoInput):
        normalize_persona(persona)


def test_known_persona_without_template_is_rejected_clearly():
    with pytest.raises(InvalidVideoInput, match="no video template for persona 'savings_builder'"):
        find_template("savings_builder", "credit_utilization")


def test_prompt_follows_the_storyboard_with_the_users_numbers():
    template = find_template("high_utilization", "credit_utilization")
    prompt = template.prompt(utilization_figures(81.4))
    for expected in ("8-second", "81%", "28%", "red to orange to green", "Below 30% = Better Score",
                     "no faces", "upward arrow"):
        assert expected in prompt
    score_from, score_to = utilization_figures(81.4).start_score, utilization_figures(81.4).target_score
    assert f"from {score_from} to {score_to}" in prompt


def test_storyboard_beats_cover_eight_seconds_with_caption_last_two():
    board = find_template("high_utilization", "credit_utilization").storyboard(utilization_figures(73))
    assert [b.name for b in board.beats] == ["pulse", "fall", "caption"]
    assert board.beats[0].start_s == 0 and board.beats[-1].end_s == board.duration_seconds == 8
    assert board.beat("caption").start_s == 6.0
    assert all(a.end_s == b.start_s for a, b in zip(board.beats, board.beats[1:]))


def test_prompt_hash_changes_with_figures_and_version_only():
    template = find_template("high_utilization", "credit_utilization")
    assert template.prompt_hash(utilization_figures(73)) == template.prompt_hash(utilization_figures(73.2))
    assert template.prompt_hash(utilization_figures(73)) != template.prompt_hash(utilization_figures(74))
    bumped = type(template)(template.persona, template.topic, "9.9")
    assert bumped.prompt_hash(utilization_figures(73)) != template.prompt_hash(utilization_figures(73))
