"""Draw the frames of one storyboard with Pillow: the card, its meter, the balance chart, the takeaway.

Only the bundled fonts are used and nothing is random, so the same storyboard
gives the same pixels on every machine with the same Pillow. Whatever does not
move is drawn once per video (`Painter.__init__`); a frame copies that and adds
the moving parts, and a frame that looks like the one before is not drawn again.
"""

from __future__ import annotations

from functools import lru_cache

from PIL import Image, ImageDraw, ImageOps

from worker.prompts.screen import SHORT_DISCLAIMER
from worker.prompts.templates import Storyboard
from worker.render import layout as L
from worker.render.text import Sprite, fitted, sprite, wrapped
from worker.render.timeline import FrameState, bar_values, color_for


class Painter:
    """Every frame of one storyboard."""

    def __init__(self, board: Storyboard) -> None:
        self.board, self.text = board, board.text
        self._base = _background().copy()
        self._draw_static(self._base)
        self._badge = self._draw_badge()
        right_box = L.RIGHT
        self._chart_base = self._base.crop(right_box)
        self._draw_chart_static(self._chart_base)
        self._takeaway = self._base.crop(right_box)
        self._draw_takeaway(self._takeaway)
        self._warning_pill = self._pill("⚠ High utilization", L.PILL_WARNING)
        guideline = self.text.guideline_pct
        self._ok_pill = self._pill(
            f"✓ At the {guideline} line" if board.figures.falls else f"✓ Under {guideline}", L.PILL_OK
        )
        self._disclaimer = _disclaimer_lines(self.text.disclaimer)
        self._last: tuple[FrameState, Image.Image] | None = None

    def frame(self, state: FrameState) -> Image.Image:
        """The picture for `state` (the same object again when nothing changed since the last frame)."""
        look = state.look()
        if self._last is not None and self._last[0] == look:
            return self._last[1]
        image = self._base.copy()
        draw = ImageDraw.Draw(image)
        self._meter(image, draw, state)
        self._card_figures(image, state)
        for (box, patch), opacity in ((self._warning_pill, state.warning_opacity), (self._ok_pill, state.ok_opacity)):
            _overlay(image, box, patch, opacity)
        _overlay(image, self._badge_box(), self._badge, state.warning_opacity)
        self._right(image, state)
        self._strip(image, state)
        self._last = (look, image)
        return image

    # -- drawn once ------------------------------------------------------------------------------
    def _draw_static(self, image: Image.Image) -> None:
        draw = ImageDraw.Draw(image)
        sprite("Credit utilization", 40, bold=True).paste(image, L.TITLE_XY, L.INK)
        self._draw_card(image, draw)
        sprite("Utilization", 32).paste(image, (L.SAFE_LEFT, L.METER_LABEL_Y + 4), L.INK_SOFT)
        tick = sprite(self.text.guideline_pct, 28)
        tick.paste(image, (L.meter_x(30) - tick.width / 2, L.METER_TICK_LABEL_Y), L.INK_SOFT)
        draw.rectangle((0, L.STRIP_TOP, L.WIDTH, L.HEIGHT), fill=L.STRIP)

    def _draw_card(self, image: Image.Image, draw: ImageDraw.ImageDraw) -> None:
        x0, y0, x1, y1 = L.CARD_BOX
        face = ImageOps.colorize(Image.linear_gradient("L").resize((x1 - x0, y1 - y0)), L.CARD_TOP, L.CARD_BOTTOM)
        shape = Image.new("L", face.size)
        ImageDraw.Draw(shape).rounded_rectangle((0, 0, *face.size), radius=L.CARD_RADIUS, fill=255)
        image.paste(face.convert("RGB"), (x0, y0), shape)
        pad = L.CARD_PAD
        draw.rounded_rectangle((x0 + pad, y0 + pad, x0 + pad + 58, y0 + pad + 44), radius=8, fill=L.CHIP)
        draw.line((x0 + pad, y0 + pad + 22, x0 + pad + 58, y0 + pad + 22), fill=L.CARD_BOTTOM, width=2)
        fitted(self.text.card_name, 40, x1 - x0 - 2 * pad, bold=True).paste(image, (x0 + pad, y0 + 104), L.INK)
        first = "Balance" if self.text.balance is not None else "Utilization"
        sprite(first, 28).paste(image, (x0 + pad, y0 + 194), L.INK_SOFT)
        if self.text.limit is not None:
            sprite("Limit", 28).paste(image, (x0 + pad, y0 + 244), L.INK_SOFT)
            value = fitted(self.text.limit, 36, 260, bold=True)
            value.paste(image, (x1 - pad - value.width, y0 + 236), L.INK)

    def _draw_badge(self) -> Image.Image:
        box = self._badge_box()
        patch = self._base.crop(box)
        draw = ImageDraw.Draw(patch)
        draw.ellipse((0, 0, patch.width - 1, patch.height - 1), fill=L.PILL_WARNING)
        mark = sprite("!", 30, bold=True)
        mark.paste(patch, ((patch.width - mark.width) / 2, (patch.height - mark.height) / 2), L.PILL_INK)
        return patch

    @staticmethod
    def _badge_box() -> tuple[int, int, int, int]:
        _, y0, x1, _ = L.CARD_BOX
        return (x1 - L.CARD_PAD - 44, y0 + L.CARD_PAD, x1 - L.CARD_PAD, y0 + L.CARD_PAD + 44)

    def _pill(self, label: str, fill) -> tuple[tuple[int, int, int, int], Image.Image]:
        words = sprite(label, 28, bold=True)
        width = words.width + 40
        box = (L.PILL_RIGHT - width, L.PILL_TOP, L.PILL_RIGHT, L.PILL_TOP + L.PILL_HEIGHT)
        patch = self._base.crop(box)
        ImageDraw.Draw(patch).rounded_rectangle(
            (0, 0, width - 1, L.PILL_HEIGHT - 1), radius=L.PILL_HEIGHT // 2, fill=fill
        )
        words.paste(patch, (20, (L.PILL_HEIGHT - words.height) / 2), L.PILL_INK)
        return box, patch

    def _draw_chart_static(self, panel: Image.Image) -> None:
        title = sprite(self.text.chart_title, 32, bold=True)
        title.paste(panel, (0, 0), L.INK)
        legend = fitted(self.text.chart_line, 28, panel.width - title.width - 80)
        legend_x = panel.width - legend.width
        legend.paste(panel, (legend_x, 4), L.INK_SOFT)
        _dashes(ImageDraw.Draw(panel), legend_x - 52, legend_x - 12, 4 + legend.height / 2)
        sprite("Today", 28).paste(
            panel, (self._bar_center(0) - sprite("Today", 28).width / 2, L.CHART_BOTTOM - L.RIGHT[1] + 8), L.INK_SOFT
        )

    def _draw_takeaway(self, panel: Image.Image) -> None:
        width = panel.width
        headline = fitted(self.text.takeaway, 48, width, bold=True, min_px=40)
        headline.paste(panel, (0, 0), L.INK)
        y = headline.height + 26
        action = fitted(self.text.action, 44, width, bold=True)
        action.paste(panel, (0, y), L.ACCENT)
        y += action.height + 2
        for line in wrapped(self.text.action_detail, 28, width) or [fitted(self.text.action_detail, 28, width)]:
            line.paste(panel, (0, y), L.INK_SOFT)
            y += line.height
        box_top = panel.height - 192
        ImageDraw.Draw(panel).rounded_rectangle((0, box_top, width - 1, panel.height - 1), radius=22, fill=L.PANEL)
        sprite("Example score", 28).paste(panel, (24, box_top + 16), L.INK_SOFT)
        sprite(self.text.example, 52, bold=True).paste(panel, (24, box_top + 54), L.INK)
        fitted(self.text.example_note, 28, width - 48).paste(panel, (24, box_top + 128), L.INK_SOFT)

    # -- drawn per frame ---------------------------------------------------------------------------
    def _meter(self, image: Image.Image, draw: ImageDraw.ImageDraw, state: FrameState) -> None:
        x0, y0, x1, y1 = L.METER_BAR
        radius = (y1 - y0) // 2
        if state.pulse > 0:
            grow = round(4 + 8 * state.pulse)
            glow = _mix(L.BG_TOP, state.meter_color, 0.6 * state.pulse)
            draw.rounded_rectangle((x0 - grow, y0 - grow, x1 + grow, y1 + grow), radius=radius + grow, fill=glow)
        draw.rounded_rectangle(L.METER_BAR, radius=radius, fill=L.TRACK)
        fill_to = max(L.meter_x(state.meter_pct), x0 + 2 * radius)
        draw.rounded_rectangle((x0, y0, fill_to, y1), radius=radius, fill=state.meter_color)
        tick_x = L.meter_x(30)
        draw.line((tick_x, y0 - 10, tick_x, y1 + 10), fill=L.LINE, width=4)
        label = sprite(state.meter_label, 56, bold=True)
        label.paste(image, (x1 - label.width, L.METER_LABEL_Y - 16), L.INK)

    def _card_figures(self, image: Image.Image, state: FrameState) -> None:
        x0, y0, x1, _ = L.CARD_BOX
        card = self.board.figures.card
        words = card.money(state.balance) if card is not None and state.balance is not None else state.meter_label
        value = fitted(words, 36, 260, bold=True)
        value.paste(image, (x1 - L.CARD_PAD - value.width, y0 + 186), L.INK)

    def _right(self, image: Image.Image, state: FrameState) -> None:
        if state.takeaway_opacity >= 1:
            image.paste(self._takeaway, L.RIGHT[:2])
            return
        chart = self._chart_base.copy()
        self._draw_bars(chart, state)
        if state.takeaway_opacity > 0:
            chart = Image.blend(chart, self._takeaway, state.takeaway_opacity)
        image.paste(chart, L.RIGHT[:2])

    def _draw_bars(self, panel: Image.Image, state: FrameState) -> None:
        draw, top = ImageDraw.Draw(panel), L.RIGHT[1]
        full = self._chart_full()
        for index, (value, opacity) in enumerate(state.bars):
            if opacity <= 0:
                continue
            center, y = self._bar_center(index), self._chart_y(value, full) - top
            colour = _mix(L.BG_BOTTOM, color_for(self._bar_pct(value)), opacity)
            draw.rounded_rectangle(
                (center - L.BAR_WIDTH / 2, y, center + L.BAR_WIDTH / 2, L.CHART_BOTTOM - top), radius=10, fill=colour
            )
            if index in (0, len(state.bars) - 1):
                words = self.text.chart_start if index == 0 else self.text.chart_goal
                self._centered(panel, sprite(words, 28), center, y - 38, opacity)
            if index == len(state.bars) - 1 and index > 0:
                self._centered(panel, sprite(self.text.chart_goal_label, 28), center, L.CHART_BOTTOM - top + 8, opacity)
        _dashes(draw, 0, panel.width, self._chart_y(self._goal(), full) - top)

    def _strip(self, image: Image.Image, state: FrameState) -> None:
        x0, y0, x1, y1 = L.STRIP_TEXT_BOX
        for words, opacity in (
            (self.text.card_line, state.card_line_opacity),
            (self.text.fall_line, state.fall_line_opacity),
        ):
            if opacity > 0:
                line = fitted(words, 32, x1 - x0)
                line.paste(image, ((L.WIDTH - line.width) / 2, (y0 + y1 - line.height) / 2), L.INK, opacity)
        if state.disclaimer_opacity > 0:
            height = sum(line.height for line in self._disclaimer)
            y = (y0 + y1 - height) / 2
            for line in self._disclaimer:
                line.paste(image, ((L.WIDTH - line.width) / 2, y), L.INK, state.disclaimer_opacity)
                y += line.height

    # -- chart geometry ----------------------------------------------------------------------------
    def _chart_full(self) -> float:
        """The value at the top of the chart: the limit (or 100%), or more for a card over its limit."""
        card = self.board.figures.card
        ceiling = float(card.limit) if card is not None else 100.0
        return max(ceiling, *bar_values(self.board))

    def _goal(self) -> float:
        card = self.board.figures.card
        return float(card.target_balance) if card is not None else 30.0

    def _bar_pct(self, value: float) -> float:
        card = self.board.figures.card
        return 100 * value / card.limit if card is not None else value

    @staticmethod
    def _chart_y(value: float, full: float) -> float:
        share = value / full if full > 0 else 0.0
        return L.CHART_BOTTOM - (L.CHART_BOTTOM - L.CHART_TOP) * share

    @staticmethod
    def _bar_center(index: int) -> float:
        slot = (L.RIGHT[2] - L.RIGHT[0]) / 5
        return slot * (index + 0.5)

    @staticmethod
    def _centered(panel: Image.Image, line: Sprite, center_x: float, y: float, opacity: float) -> None:
        x = min(max(center_x - line.width / 2, 0), panel.width - line.width)
        line.paste(panel, (x, y), L.INK, opacity)


@lru_cache(maxsize=1)
def _background() -> Image.Image:
    gradient = Image.linear_gradient("L").resize((L.WIDTH, L.HEIGHT))
    return ImageOps.colorize(gradient, L.BG_TOP, L.BG_BOTTOM).convert("RGB")


def _disclaimer_lines(disclaimer: str) -> list[Sprite]:
    """The full disclaimer in at most two lines, else the short form."""
    width = L.STRIP_TEXT_BOX[2] - L.STRIP_TEXT_BOX[0]
    return wrapped(disclaimer, 28, width) or [sprite(SHORT_DISCLAIMER, 28)]


def _overlay(image: Image.Image, box: tuple[int, int, int, int], patch: Image.Image, opacity: float) -> None:
    if opacity <= 0:
        return
    if opacity < 1:
        patch = Image.blend(image.crop(box), patch, opacity)
    image.paste(patch, box[:2])


def _dashes(draw: ImageDraw.ImageDraw, x_from: float, x_to: float, y: float) -> None:
    x = x_from
    while x < x_to:
        draw.line((x, y, min(x + 14, x_to), y), fill=L.LINE, width=3)
        x += 22


def _mix(a, b, t: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))  # type: ignore[return-value]
