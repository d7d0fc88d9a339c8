"""`spendsense-video preview USER_ID`: a contact sheet of one video's key frames, for a person to look at.

The frames come from the same painter a render uses, so the sheet is what the
video shows. The storyboard is the user's newest job in the database, or, with
`--contexts FILE`, built from an engine-shaped user context (the file the
SpendSense pipeline writes: user id → {persona, signals, accounts}).
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw

from worker.prompts import Storyboard
from worker.render import RENDERER_VERSION
from worker.render.draw import Painter
from worker.render.text import sprite
from worker.render.timeline import poster_state, state_at

#: The instants shown: the card beat, the fall, the takeaway; then the poster.
KEY_TIMES_S = (0.5, 1.5, 2.8, 3.6, 4.6, 5.2, 6.0, 7.5)
TILE = (640, 360)
COLUMNS = 3
LABEL_PX = 28
_SHEET_BG, _LABEL_INK = (236, 241, 247), (16, 38, 74)


class PreviewError(RuntimeError):
    """There is nothing to preview for that user; the message says why."""


def storyboard_from_contexts(user_id: str, contexts_file: Path) -> Storyboard:
    from engine_hooks.inputs import job_spec

    contexts = json.loads(contexts_file.read_text())
    if user_id not in contexts:
        raise PreviewError(f"{user_id} is not in {contexts_file}")
    context = contexts[user_id]
    spec = job_spec(user_id, context.get("persona", "High Utilization"), "credit_utilization", context)
    return spec.template.storyboard(spec.figures, spec.disclaimer)


def storyboard_from_database(user_id: str) -> Storyboard:
    from worker.db.migrate import ensure_schema_current
    from worker.fallback_chain import build_request
    from worker.ops.operations import list_jobs

    ensure_schema_current()
    jobs = list_jobs(user_id, limit=1)
    if not jobs:
        raise PreviewError(f"no video job for {user_id} in the database (try --contexts FILE)")
    return build_request(jobs[0]).storyboard


def contact_sheet(board: Storyboard) -> Image.Image:
    """Key frames and the poster, each labelled with its time, on one image."""
    painter = Painter(board)
    shots = [(f"{time_s:g} s", painter.frame(state_at(board, time_s)).copy()) for time_s in KEY_TIMES_S]
    shots.append(("poster", painter.frame(poster_state(board))))
    rows = -(-len(shots) // COLUMNS)
    cell_w, cell_h = TILE[0] + 24, TILE[1] + LABEL_PX + 32
    sheet = Image.new("RGB", (COLUMNS * cell_w + 24, rows * cell_h + 24 + 48), _SHEET_BG)
    sprite(f"Storyboard preview, renderer {RENDERER_VERSION}", LABEL_PX, bold=True).paste(sheet, (24, 16), _LABEL_INK)
    for index, (label, frame) in enumerate(shots):
        x, y = 24 + (index % COLUMNS) * cell_w, 64 + (index // COLUMNS) * cell_h
        sprite(label, LABEL_PX).paste(sheet, (x, y), _LABEL_INK)
        sheet.paste(frame.resize(TILE, Image.Resampling.LANCZOS), (x, y + LABEL_PX + 8))
        ImageDraw.Draw(sheet).rectangle(
            (x - 1, y + LABEL_PX + 7, x + TILE[0], y + LABEL_PX + 8 + TILE[1]), outline=(180, 192, 208)
        )
    return sheet


def write_preview(user_id: str, out: Path, contexts_file: Path | None = None) -> Path:
    board = storyboard_from_contexts(user_id, contexts_file) if contexts_file else storyboard_from_database(user_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(board).save(out, optimize=True)
    return out
