"""Amounts as a video shows them: whole units of the card's own currency.

Which codes are currencies, and their symbols, come from Babel's copy of the
Unicode CLDR rather than a hand-kept table. Amounts are formatted the en-US way
(`$14,215`, `€4,500`, `CHF 9,715`), the language the videos speak.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.numbers import get_currency_symbol, list_currencies

from worker.prompts.charset import is_drawable

#: ISO 4217 codes that are not money a card balance can be in: no currency, testing, metals, fund units.
_NOT_MONEY = frozenset({"XXX", "XTS", "XAU", "XAG", "XPT", "XPD", "XDR", "XBA", "XBB", "XBC", "XBD", "XSU", "XUA"})


@lru_cache(maxsize=1)
def _codes() -> frozenset[str]:
    return frozenset(code for code in list_currencies() if len(code) == 3 and code not in _NOT_MONEY)


def currency_code(value: object) -> str | None:
    """The ISO 4217 code `value` names (any letter case), or None if it is not a known currency."""
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    return code if code in _codes() else None


@lru_cache(maxsize=64)
def currency_prefix(code: str) -> str:
    """`$`, `€`, `CA$`; a symbol of letters only, or one the fonts lack, becomes the code and a space."""
    symbol = get_currency_symbol(code, locale="en_US")
    if not is_drawable(symbol) or symbol.isalpha():
        return f"{code} "
    return symbol


def whole_units(amount: float) -> int:
    """Round half up to a whole unit, as the engine's rationale does ("$14,215")."""
    return int(Decimal(str(amount)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_money(amount: int, code: str) -> str:
    """`amount` (whole units, not negative) with its currency, e.g. `$14,215`."""
    return f"{currency_prefix(code)}{amount:,}"
