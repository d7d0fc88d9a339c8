"""The words of a video for people who cannot see or hear it: WebVTT captions and a description.

Both are built from the same `ScreenText` the renderer draws, so captions
repeat the on-screen figures and the disclaimer exactly, for every provider
(a remote video tells the same storyboard, so it gets the same captions).
"""

from __future__ import annotations

from worker.prompts.figures import meter_colour
from worker.prompts.templates import Storyboard

#: The disclaimer cue starts while the takeaway is still on screen, and stays to the end.
DISCLAIMER_CUE_START_S = 6.0


def webvtt(board: Storyboard) -> str:
    """A WebVTT file whose cues follow the storyboard's beats."""
    text = board.text
    opening, fall, takeaway = board.beat("card"), board.beat("pay_down"), board.beat("takeaway")
    cues = [
        (opening.start_s, opening.end_s, _opening(board)),
        (fall.start_s, fall.end_s, f"{text.fall_line}."),
        (
            takeaway.start_s,
            takeaway.end_s,
            f"{_sentence(text.action, text.action_detail)} {text.takeaway}. "
            f"Example score {text.example.replace('→', 'to')}: {text.example_note.lower()}.",
        ),
        (DISCLAIMER_CUE_START_S, takeaway.end_s, text.disclaimer),
    ]
    blocks = [
        f"{index}\n{_time(start)} --> {_time(end)}\n{_escape(words)}"
        for index, (start, end, words) in enumerate(cues, start=1)
    ]
    return "WEBVTT\n\n" + "\n\n".join(blocks) + "\n"


def description(board: Storyboard) -> str:
    """One paragraph that tells the whole video, for screen readers and the trace."""
    f, text = board.figures, board.text
    colour = meter_colour(f.start_utilization_pct)
    if f.card is not None:
        subject = f"A credit card {'ending in ' + f.card.mask if f.card.mask else ''}".rstrip()
        subject += f" shows a balance of {text.balance} on a {text.limit} limit, {text.start_pct} utilization"
    else:
        subject = f"A credit card's utilization meter reads {text.start_pct}"
    if f.falls:
        shades = "red to yellow to green" if colour == "red" else "yellow to green"
        middle = (
            f", in {colour}, with a warning sign. A chart of the balance falls step by step to the "
            f"{text.guideline_pct} line ({text.chart_goal}) as the meter turns from {shades}."
        )
    else:
        middle = f", in green, already under the {text.guideline_pct} line, and it stays there."
    return (
        f"{board.duration_seconds}-second animation. {subject}{middle} "
        f'Then: "{_sentence(text.action, text.action_detail)}" '
        f'and "{text.takeaway}", beside an example score rising {text.example.replace("→", "to")}, '
        f"labelled as an illustrative example, not the viewer's score. It ends on the disclaimer: "
        f'"{text.disclaimer}"'
    )


def _opening(board: Storyboard) -> str:
    text = board.text
    line = f"{text.card_line}."
    if text.balance is not None:
        line += f" Balance {text.balance} of a {text.limit} limit."
    return line


def _sentence(action: str, detail: str) -> str:
    """ "Pay down $9,715 to reach 30% (…)." or "You're at or below 30%. Keeping it there …"."""
    return f"{action} {detail}." if detail[:1].islower() else f"{action}. {detail}."


def _time(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"00:{int(minutes):02d}:{rest:06.3f}"


def _escape(words: str) -> str:
    """Cue text may not hold `-->`, and `&` `<` `>` are markup in WebVTT."""
    return words.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("-->", "→")
