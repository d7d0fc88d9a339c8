"""What a video says: the user's own card and figures, honest wording, the prompt, captions."""

import math
import re

import pytest

from engine_hooks.inputs import job_spec
from tests.storyboards import DISCLAIMER, EDGE_CONTEXTS, TEMPLATE, board_for, card_context, real_contexts
from worker.errors import InvalidVideoInput
from worker.prompts import choose_card, find_template, normalize_persona, utilization_figures
from worker.prompts.captions import description, webvtt
from worker.prompts.figures import percent_label


def test_the_issues_own_example_user_gets_their_card_and_numbers():
    text = board_for(real_contexts()["user_0034"]).text
    assert (text.card_name, text.balance, text.limit, text.start_pct) == ("•••• 2385", "$14,215", "$15,000", "95%")
    assert (text.chart_goal, text.action) == ("$4,500", "Pay down $9,715")
    assert text.action_detail == "to reach 30% ($4,500 of $15,000)"


@pytest.mark.parametrize("user_id", sorted(real_contexts()))
def test_every_real_user_gets_their_highest_utilization_card(user_id):
    context = real_contexts()[user_id]
    cards = [a for a in context["accounts"] if a["account_type"] == "credit"]
    best = max(cards, key=lambda a: a["balance_current"] / a["balance_limit"])
    card = choose_card(context["accounts"]).card
    assert card is not None and card.mask == best["mask"]
    assert (card.balance, card.limit) == (round(best["balance_current"]), round(best["balance_limit"]))
    figures = utilization_figures(None, card)
    assert math.isclose(figures.start_utilization_pct, 100 * card.balance / card.limit, abs_tol=0.01)


@pytest.mark.parametrize(
    ("pct", "label"),
    [
        (94.77, "95%"),
        (45.9, "46%"),
        (72.5, "73%"),
        (29.5, "29.5%"),
        (29.96, "29.96%"),
        (30.0, "30%"),
        (30.04, "30.04%"),
        (30.5, "31%"),
        (0.0, "0%"),
        (100.0, "100%"),
    ],
)
def test_labels_round_like_the_engine_but_never_across_the_guideline(pct, label):
    assert percent_label(pct) == label


@pytest.mark.parametrize("name", sorted(EDGE_CONTEXTS))
def test_pay_down_and_colours_agree_with_the_numbers_shown(name):
    board = board_for(EDGE_CONTEXTS[name])
    f = board.figures
    if f.card is None:
        return
    assert (f.card.pay_down > 0) == f.falls == (f.card.balance > 0.3 * f.card.limit)
    assert f.card.target_balance <= 0.3 * f.card.limit < f.card.target_balance + 1


def test_no_score_is_invented_for_anyone():
    boards = [board_for(context) for context in real_contexts().values()]
    assert {board.text.example for board in boards} == {"650 → 720"}
    for board in boards:
        words = " ".join(str(value) for value in vars(board.text).values())
        assert "est." not in words.lower() and "not your score" in board.text.example_note
        assert "Illustrative example" in TEMPLATE.prompt(board.figures)


def test_the_remote_prompt_carries_rounded_percentages_only():
    board = board_for(real_contexts()["user_0034"])
    prompt = TEMPLATE.prompt(board.figures)
    assert "95%" in prompt and "30%" in prompt
    assert "2385" not in prompt and not re.search(r"\$\s?\d", prompt) and "14,215" not in prompt
    opted_in = TEMPLATE.prompt(board.figures, account_details=True)
    assert "ending in 2385" in opted_in and "$14,215 of a $15,000 limit" in opted_in and "$9,715" in opted_in


def test_the_prompt_follows_the_same_storyboard():
    prompt = TEMPLATE.prompt(board_for(real_contexts()["user_0034"]).figures)
    for expected in (
        "8-second",
        "0-2s:",
        "2-5s:",
        "5-8s:",
        "95%",
        "red to yellow to green",
        "warning indicators",
        "Below 30% = Better Score",
        "from 650 to 720",
        "no faces",
        "not financial advice",
    ):
        assert expected in prompt


def test_storyboard_beats_are_the_plans_three():
    board = board_for(real_contexts()["user_0001"])
    assert [(b.name, b.start_s, b.end_s) for b in board.beats] == [
        ("card", 0.0, 2.0),
        ("pay_down", 2.0, 5.0),
        ("takeaway", 5.0, 8.0),
    ]


def test_the_content_hash_covers_the_card_so_no_user_is_shown_anothers_card():
    one = job_spec("a", "High Utilization", "credit_utilization", card_context(5_500, 10_000, mask="1111"))
    two = job_spec("b", "High Utilization", "credit_utilization", card_context(5_500, 10_000, mask="2222"))
    same = job_spec("c", "High Utilization", "credit_utilization", card_context(5_500, 10_000, mask="1111"))
    assert one.prompt == two.prompt, "the remote prompt does not name the card"
    assert one.prompt_hash != two.prompt_hash and one.prompt_hash == same.prompt_hash


def test_captions_are_webvtt_timed_to_the_beats_and_repeat_the_figures():
    board = board_for(real_contexts()["user_0034"])
    vtt = webvtt(board)
    assert vtt.startswith("WEBVTT\n\n")
    times = re.findall(r"(\d\d):(\d\d):(\d\d\.\d\d\d) --> (\d\d):(\d\d):(\d\d\.\d\d\d)", vtt)
    spans = [
        (float(a) * 3600 + float(b) * 60 + float(c), float(d) * 3600 + float(e) * 60 + float(f))
        for a, b, c, d, e, f in times
    ]
    assert spans[:3] == [(b.start_s, b.end_s) for b in board.beats]
    assert all(0 <= start < end <= 8 for start, end in spans)
    for figure in ("2385", "95%", "$14,215", "$15,000", "$4,500", "$9,715", "Below 30% = Better Score", DISCLAIMER):
        assert figure in vtt
    summary = description(board)
    assert all(figure in summary for figure in ("2385", "95%", "$14,215", "$9,715", DISCLAIMER))


def test_caption_text_cannot_break_out_of_its_cue():
    board = board_for(card_context(8_000, 10_000), disclaimer="Fees & rates apply -- see terms.")
    assert "Fees &amp; rates apply -- see terms." in webvtt(board)


def test_bad_signal_utilization_is_explained():
    for value, message in [
        (None, "missing"),
        (math.nan, "not a finite number"),
        (-0.5, "outside 0–100%"),
        (2852.0, "2852% is outside"),
        ("seventy", "must be a number"),
        (True, "must be a number"),
    ]:
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
