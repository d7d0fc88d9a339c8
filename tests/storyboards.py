"""Storyboards for tests: real SpendSense users and the edge values the renderer must get right."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from engine_hooks.inputs import job_spec
from tests.conftest import SHARED_DIR
from worker.prompts import Storyboard, find_template

TEMPLATE = find_template("high_utilization", "credit_utilization")
DISCLAIMER = "This is educational content, not financial advice. Consult a licensed advisor for personalized guidance."


@lru_cache(maxsize=1)
def real_contexts() -> dict[str, dict[str, Any]]:
    """The 32 High Utilization users of SpendSense's own pipeline: their signals and accounts."""
    return json.loads((SHARED_DIR / "user_contexts_high_utilization.json").read_text())


def card_context(
    balance: float, limit: float, mask: object = "2385", currency: object = "USD", signal: float | None = None
) -> dict[str, Any]:
    """A user_context in `_load_user_context`'s shape with one checking account and one credit card."""
    accounts = [
        {
            "account_type": "depository",
            "account_subtype": "checking",
            "balance_current": 2492.41,
            "balance_limit": float("nan"),
            "iso_currency_code": "USD",
            "mask": "9422",
        },
        {
            "account_type": "credit",
            "account_subtype": "credit card",
            "balance_current": balance,
            "balance_limit": limit,
            "iso_currency_code": currency,
            "mask": mask,
        },
    ]
    return {"signals": {"credit_max_util_pct": signal if signal is not None else 55.0}, "accounts": accounts}


def board_for(user_context: dict[str, Any], disclaimer: str = DISCLAIMER) -> Storyboard:
    """The storyboard the worker would render for this engine call."""
    spec = job_spec(
        "user_test",
        "High Utilization",
        "credit_utilization",
        user_context,
        [{"topic": "credit_utilization", "disclaimer": disclaimer}],
    )
    return spec.template.storyboard(spec.figures, spec.disclaimer)


#: Edge values for the number-fidelity test (name → context); a limit of 0 falls back to the signal.
EDGE_CONTEXTS: dict[str, dict[str, Any]] = {
    "zero": card_context(0, 10_000),
    "just-under": card_context(2_950, 10_000),
    "at-guideline": card_context(3_000, 10_000),
    "just-over": card_context(3_050, 10_000),
    "mid": card_context(5_500, 10_000, mask="0071"),
    "maxed": card_context(5_000, 5_000, mask="7709"),
    "limit-zero": card_context(1_200, 0, signal=64.2),
    "no-mask": card_context(8_617, 10_000, mask=None),
    "huge": card_context(1_234_567, 1_500_000, mask="4401"),
    "euro": card_context(7_385.34, 10_000, mask="6342", currency="eur"),
    "over-limit": card_context(5_600, 5_000, mask="1209"),
}
