"""The card and money on screen: unusable accounts, masks, disclaimers and currencies."""

import math

import pytest

from engine_hooks.inputs import job_spec
from tests.storyboards import board_for, card_context
from worker.errors import InvalidVideoInput
from worker.prompts.money import currency_code, format_money
from worker.prompts.screen import DEFAULT_DISCLAIMER


@pytest.mark.parametrize(
    ("accounts", "note"),
    [
        ("not a list", "accounts is a str"),
        (["not an object"], "an account is not an object"),
        (
            [
                {
                    "account_type": "credit",
                    "balance_current": math.nan,
                    "balance_limit": 5000,
                    "iso_currency_code": "USD",
                    "mask": "1",
                }
            ],
            "balance is not a finite number",
        ),
        (
            [
                {
                    "account_type": "credit",
                    "balance_current": 100,
                    "balance_limit": -5000,
                    "iso_currency_code": "USD",
                    "mask": "1234",
                }
            ],
            "limit is negative",
        ),
        (
            [
                {
                    "account_type": "credit",
                    "balance_current": "14215",
                    "balance_limit": 15000,
                    "iso_currency_code": "USD",
                    "mask": "1234",
                }
            ],
            "balance is not a number",
        ),
        (
            [
                {
                    "account_type": "credit",
                    "balance_current": 100,
                    "balance_limit": 0,
                    "iso_currency_code": "USD",
                    "mask": "1234",
                }
            ],
            "limit is 0",
        ),
        (
            [
                {
                    "account_type": "credit",
                    "balance_current": 100,
                    "balance_limit": 5000,
                    "iso_currency_code": "ZZZ",
                    "mask": "1234",
                }
            ],
            "currency is missing or unknown",
        ),
        (
            [
                {
                    "account_type": "credit",
                    "balance_current": 100,
                    "balance_limit": 5000,
                    "iso_currency_code": None,
                    "mask": "1234",
                }
            ],
            "currency is missing or unknown",
        ),
        (
            [
                {
                    "account_type": "credit",
                    "balance_current": 1e12,
                    "balance_limit": 5e12,
                    "iso_currency_code": "USD",
                    "mask": "1234",
                }
            ],
            "implausibly large",
        ),
        (
            [
                {
                    "account_type": "credit",
                    "balance_current": 90_000,
                    "balance_limit": 5_000,
                    "iso_currency_code": "USD",
                    "mask": "1234",
                }
            ],
            "more than ten times",
        ),
    ],
)
def test_bad_accounts_fall_back_to_the_utilization_storyboard_and_say_why(accounts, note):
    spec = job_spec("u", "High Utilization", "credit_utilization", {"credit_max_util_pct": 64.2, "accounts": accounts})
    assert spec.figures.card is None and spec.figures.start_utilization_pct == 64
    assert note in spec.card_note
    assert spec.row_input()["card_note"] == spec.card_note


@pytest.mark.parametrize("mask", ["4" * 40, "<b>12</b>", "12 34", "", 2385, "१२३४"])
def test_a_mask_unfit_for_the_screen_is_left_off_not_drawn(mask):
    spec = job_spec("u", "High Utilization", "credit_utilization", card_context(8_000, 10_000, mask=mask))
    assert spec.figures.card is not None and spec.figures.card.mask is None
    text = spec.template.storyboard(spec.figures, spec.disclaimer).text
    assert text.card_name == "Your credit card" and "without its mask" in spec.card_note


def test_no_usable_card_and_no_signal_is_a_clear_error():
    with pytest.raises(InvalidVideoInput, match="credit utilization is missing"):
        job_spec("u", "High Utilization", "credit_utilization", {"accounts": [{"account_type": "credit"}]})


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("Educational only.", "Educational only."),
        (None, DEFAULT_DISCLAIMER),
        (42, DEFAULT_DISCLAIMER),
        ("<script>alert(1)</script>", DEFAULT_DISCLAIMER),
        ("x" * 500, DEFAULT_DISCLAIMER),
        ("Not advice 🚀", DEFAULT_DISCLAIMER),
        ("  Not \n advice.  ", "Not advice."),
    ],
)
def test_the_recommendations_disclaimer_is_shown_when_it_can_be(given, shown):
    assert board_for(card_context(8_000, 10_000), disclaimer=given).disclaimer == shown


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("USD", "$9,715"),
        ("eur", "€9,715"),
        ("GBP", "£9,715"),
        ("JPY", "¥9,715"),
        ("CAD", "CA$9,715"),
        ("CHF", "CHF 9,715"),
    ],
)
def test_amounts_are_whole_units_of_the_cards_currency(code, expected):
    assert format_money(9_715, currency_code(code)) == expected


@pytest.mark.parametrize("code", ["ZZZ", "XXX", "dollars", "", 840, None])
def test_unknown_currencies_are_not_currencies(code):
    assert currency_code(code) is None
