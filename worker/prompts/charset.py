"""The characters a video may show: exactly those the renderer's bundled fonts draw.

Any text that comes from outside (a disclaimer, a card mask) is checked against
this set before it can reach a frame, so a character the font lacks is never
drawn as an empty box. The ranges match `worker/render/fonts/README.md`.
"""

from __future__ import annotations

import re
import unicodedata

#: Code point ranges (inclusive) kept when the fonts were subset.
DRAWABLE_RANGES = (
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x017F),  # Latin-1 Supplement, Latin Extended-A
    (0x2010, 0x2027),  # dashes, quotes, bullet, ellipsis
    (0x2030, 0x203A),  # per mille, primes, angle quotes
    (0x20A0, 0x20C0),  # currency symbols
    (0x2190, 0x2193),  # arrows
    (0x2212, 0x2212),  # minus sign
    (0x2713, 0x2714),  # check marks
    (0x26A0, 0x26A0),  # warning sign
)
_MARKUP = re.compile(r"[<>{}\[\]\\`]")


def is_drawable(text: str) -> bool:
    """True when every character of `text` is in the fonts (control characters never are)."""
    return all(any(low <= ord(char) <= high for low, high in DRAWABLE_RANGES) for char in text)


def plain_text(value: object, *, max_chars: int) -> str | None:
    """`value` as one line of drawable prose, or None when it is not fit to put on screen.

    Whitespace runs collapse to one space; anything that looks like markup or
    code, a character the fonts lack, or more than `max_chars` is refused
    rather than repaired, so nothing half-cleaned is ever drawn.
    """
    if not isinstance(value, str):
        return None
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if not text or len(text) > max_chars or _MARKUP.search(text) or not is_drawable(text):
        return None
    return text
