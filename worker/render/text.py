"""Text as the renderer draws it: the bundled fonts, sizes that fit, and pre-rendered masks.

A `Sprite` is a line of text rendered once into an 8-bit mask; a frame pastes
it in any colour and at any opacity, which costs far less than laying the text
out again for each of the 192 frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path(__file__).resolve().parent / "fonts"
#: The smallest text on screen; anything read as body text stays at or above this at 720p.
MIN_TEXT_PX = 28


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(FONT_DIR / name), size=size)


@dataclass(frozen=True)
class Sprite:
    """One line of text as a mask; `size_px` is the font size it was drawn at."""

    text: str
    size_px: int
    mask: Image.Image

    @property
    def width(self) -> int:
        return self.mask.width

    @property
    def height(self) -> int:
        return self.mask.height

    def paste(self, image: Image.Image, xy: tuple[float, float], color, opacity: float = 1.0) -> None:
        """Draw onto `image` with the mask's top-left at `xy`."""
        if opacity <= 0:
            return
        mask = self.mask if opacity >= 1 else self.mask.point(_opacity_table(round(opacity * 255)))
        image.paste(color, (round(xy[0]), round(xy[1])), mask)


@lru_cache(maxsize=512)
def sprite(text: str, size_px: int, bold: bool = False) -> Sprite:
    """`text` at `size_px`; the mask is as wide as the text and as tall as the font's line."""
    face = font(size_px, bold)
    ascent, descent = face.getmetrics()
    width = max(round(face.getlength(text)), 1)
    mask = Image.new("L", (width, ascent + descent))
    ImageDraw.Draw(mask).text((0, 0), text, font=face, fill=255)
    return Sprite(text, size_px, mask)


def fitted(text: str, size_px: int, max_width: int, *, bold: bool = False, min_px: int = MIN_TEXT_PX) -> Sprite:
    """`text` at the largest size from `size_px` down to `min_px` that fits in `max_width`."""
    for size in range(size_px, min_px - 1, -2):
        line = sprite(text, size, bold)
        if line.width <= max_width:
            return line
    return sprite(text, min_px, bold)


def wrapped(text: str, size_px: int, max_width: int, *, bold: bool = False, max_lines: int = 2) -> list[Sprite] | None:
    """`text` broken at spaces into at most `max_lines` lines that fit; None if it cannot fit."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and sprite(candidate, size_px, bold).width <= max_width:
            lines[-1] = candidate
        else:
            lines.append(word)
    sprites = [sprite(line, size_px, bold) for line in lines]
    if len(sprites) > max_lines or any(line.width > max_width for line in sprites):
        return None
    return sprites


@lru_cache(maxsize=256)
def _opacity_table(alpha: int) -> list[int]:
    return [value * alpha // 255 for value in range(256)]
