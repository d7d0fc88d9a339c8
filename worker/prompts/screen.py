"""Every string a video puts on screen, worded once from its figures.

The renderer draws these, the captions and the text alternative repeat them,
and the tests read them back from the frames with OCR: one source, so the
picture, the captions and the description can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from worker.prompts.charset import plain_text
from worker.prompts.figures import (
    EXAMPLE_SCORE_FROM,
    EXAMPLE_SCORE_TO,
    GUIDELINE_UTILIZATION_PCT,
    UtilizationFigures,
    percent_label,
)

#: Shown when the recommendation's own disclaimer does not fit in two lines at the end.
SHORT_DISCLAIMER = "Educational content, not financial advice."
TAKEAWAY = f"Below {GUIDELINE_UTILIZATION_PCT}% = Better Score"
#: SpendSense's own disclaimer, used when a recommendation carries none (or one unfit for the screen).
DEFAULT_DISCLAIMER = (
    "This is educational content, not financial advice. Consult a licensed advisor for personalized guidance."
)
#: Longer than this, a disclaimer is not a disclaimer a viewer can read in the last seconds.
MAX_DISCLAIMER_CHARS = 240


@dataclass(frozen=True)
class ScreenText:
    card_name: str
    balance: str | None
    limit: str | None
    start_pct: str
    target_pct: str
    guideline_pct: str
    chart_title: str
    chart_line: str
    chart_start: str
    chart_goal: str
    chart_goal_label: str
    card_line: str
    fall_line: str
    action: str
    action_detail: str
    example: str
    example_note: str
    takeaway: str
    disclaimer: str


def screen_text(figures: UtilizationFigures, disclaimer: str) -> ScreenText:
    f, card = figures, figures.card
    guideline = f"{GUIDELINE_UTILIZATION_PCT}%"
    start, target = percent_label(f.start_utilization_pct), percent_label(f.target_utilization_pct)
    if card is not None:
        goal = card.money(card.target_balance)
        if f.falls:
            action, detail = (
                f"Pay down {card.money(card.pay_down)}",
                f"to reach {guideline} ({goal} of {card.money(card.limit)})",
            )
            fall_line = f"Paying down to {goal} brings it to {guideline}"
        else:
            action, detail = f"You're at or below {guideline}", f"Keep the balance at or under {goal}"
            fall_line = f"Your balance is already under the {guideline} line"
        chart = ("Balance", f"{guideline} = {goal}", card.money(card.balance), goal)
        name = f"•••• {card.mask}" if card.mask else "Your credit card"
        card_line = f"{'Card ending in ' + card.mask if card.mask else 'Your card'} is at {start} of its limit"
        balance, limit = card.money(card.balance), card.money(card.limit)
    else:
        if f.falls:
            action, detail = f"Pay down to {guideline}", "of your credit limit"
            fall_line = f"Paying down brings it to {guideline}"
        else:
            action, detail = f"You're at or below {guideline}", "Keeping it there helps your score"
            fall_line = f"Your utilization is already under the {guideline} line"
        chart = ("Utilization", f"{guideline} line", start, target)
        name, balance, limit = "Your credit card", None, None
        card_line = f"Your card is at {start} of its limit"
    return ScreenText(
        card_name=name,
        balance=balance,
        limit=limit,
        start_pct=start,
        target_pct=target,
        guideline_pct=guideline,
        chart_title=chart[0],
        chart_line=chart[1],
        chart_start=chart[2],
        chart_goal=chart[3],
        chart_goal_label=f"At {guideline}" if f.falls else "Today",
        card_line=card_line,
        fall_line=fall_line,
        action=action,
        action_detail=detail,
        example=f"{EXAMPLE_SCORE_FROM} → {EXAMPLE_SCORE_TO}",
        example_note="Illustrative example, not your score",
        takeaway=TAKEAWAY,
        disclaimer=disclaimer,
    )


def disclaimer_for_screen(value: object) -> str:
    """The recommendation's disclaimer as it can be shown, or SpendSense's default one."""
    return plain_text(value, max_chars=MAX_DISCLAIMER_CHARS) or DEFAULT_DISCLAIMER
