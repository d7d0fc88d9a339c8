"""Known model shutdowns: a model past its date is never sent a (paid) request.

Add an entry when a provider announces a shutdown. Snapshots match by prefix
(`sora-2-2025-10-06` is `sora-2`), longest prefix first.
"""

from __future__ import annotations

from datetime import date

#: model (or snapshot prefix) -> (shutdown date, successor or None)
MODEL_SUNSETS: dict[str, tuple[date, str | None]] = {
    # OpenAI removed the Sora / Videos API from its platform with no successor.
    "sora-2": (date(2026, 9, 24), None),
    "sora-2-pro": (date(2026, 9, 24), None),
}


def shutdown_date(model: str) -> date | None:
    """The date `model` stops (or stopped) working, if one is known."""
    entry = _entry(model)
    return entry[0] if entry else None


def sunset_message(model: str, today: date | None = None) -> str | None:
    """A sentence for logs and job errors when `model` is past its shutdown, else None."""
    entry = _entry(model)
    if entry is None or (today or date.today()) < entry[0]:
        return None
    when, successor = entry
    tail = f"; use {successor}" if successor else "; it has no successor, point VIDEO_MODEL at another server's model"
    return f"model {model} was shut down on {when.isoformat()}{tail}"


def _entry(model: str) -> tuple[date, str | None] | None:
    name = model.strip().lower()
    for prefix in sorted(MODEL_SUNSETS, key=len, reverse=True):
        if name == prefix or name.startswith(prefix + "-"):
            return MODEL_SUNSETS[prefix]
    return None
