"""Pick the card a video is about from the engine's `accounts`, or say why there is none.

SpendSense's `_load_user_context` hands over Plaid-shaped accounts: credit cards
carry `mask`, `balance_current`, `balance_limit` and `iso_currency_code`. The
video uses the card with the highest utilization among those whose figures make
sense; anything odd about a card drops that card (never the job), and the
video falls back to the utilization-only storyboard. The note that says why
names no user data, so it can sit on the job row and in the trace.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass

from worker.prompts.figures import CardFigures
from worker.prompts.money import currency_code, whole_units

#: A Plaid mask is the last 2–4 letters or digits of the account number; anything else is not shown.
_MASK = re.compile(r"[A-Za-z0-9]{2,4}")
#: Past this a balance is a data error, not a card (and would not fit on the card either).
MAX_AMOUNT = 999_999_999
#: A balance more than ten times its limit is a data error, not an over-limit card.
MAX_CARD_UTILIZATION_PCT = 1000


@dataclass(frozen=True)
class CardChoice:
    card: CardFigures | None
    #: Why a card was dropped or shown without its mask; None when nothing was.
    note: str | None = None


def choose_card(accounts: object) -> CardChoice:
    """The highest-utilization usable credit card in `accounts` (None when absent)."""
    if accounts is None:
        return CardChoice(None)
    if hasattr(accounts, "to_dict"):  # a pandas DataFrame of accounts
        accounts = accounts.to_dict("records")
    if not isinstance(accounts, (list, tuple)):
        return CardChoice(None, f"accounts is a {type(accounts).__name__}, not a list")
    usable: list[tuple[float, CardFigures]] = []
    problems: list[str] = []
    for account in accounts:
        if not isinstance(account, Mapping):
            problems.append("an account is not an object")
            continue
        if account.get("account_type") != "credit":
            continue
        card, problem = _card(account)
        if card is None:
            problems.append(problem or "unusable")
        else:
            usable.append((card.balance / card.limit, card))
    if not usable:
        note = f"no usable credit card ({'; '.join(sorted(set(problems)))})" if problems else None
        return CardChoice(None, note)
    best = max(usable, key=lambda pair: (pair[0], pair[1].balance))[1]
    return CardChoice(best, None if best.mask else "card shown without its mask (missing or not 2-4 letters/digits)")


def _card(account: Mapping) -> tuple[CardFigures | None, str | None]:
    balance, limit = account.get("balance_current"), account.get("balance_limit")
    for name, value in (("balance", balance), ("limit", limit)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return None, f"{name} is not a number"
        if not math.isfinite(value):
            return None, f"{name} is not a finite number"
        if value < 0:
            return None, f"{name} is negative"
        if value > MAX_AMOUNT:  # type: ignore[operator]  # typeshed's numbers.Real has no __gt__
            return None, f"{name} is implausibly large"
    assert balance is not None and limit is not None  # the loop above returned unless both are numbers
    balance_units, limit_units = whole_units(float(balance)), whole_units(float(limit))
    if limit_units <= 0:
        return None, "limit is 0"
    if 100 * balance_units / limit_units > MAX_CARD_UTILIZATION_PCT:
        return None, "balance is more than ten times the limit"
    currency = currency_code(account.get("iso_currency_code"))
    if currency is None:
        return None, "currency is missing or unknown"
    mask = account.get("mask")
    mask = mask if isinstance(mask, str) and _MASK.fullmatch(mask) else None
    return CardFigures(mask, currency, balance_units, limit_units), None
