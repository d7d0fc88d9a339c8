"""Golden frames: a few frames of three fixed storyboards, kept as PNGs under tests/golden/.

The render test decodes real MP4s and compares these frames by PSNR. A deliberate
change of the look updates them, together with `RENDERER_VERSION`:

    .venv/bin/python -m tests.golden_frames --update

`--update` refuses to replace frames that changed while the renderer version did
not, so a new look can never ship under an old version.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from PIL import Image, ImageChops, ImageStat

from tests.storyboards import board_for, card_context, real_contexts
from worker.prompts import Storyboard
from worker.render import RENDERER_VERSION
from worker.render.draw import Painter
from worker.render.timeline import state_at

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
MANIFEST = GOLDEN_DIR / "manifest.json"
#: The instants compared: the card pulsing, the fall under way, the takeaway with the disclaimer.
TIMES_S = (1.0, 3.5, 7.0)


def golden_boards() -> dict[str, Storyboard]:
    return {
        "user_0034": board_for(real_contexts()["user_0034"]),
        "no-card-41pct": board_for({"signals": {"credit_max_util_pct": 41.0}}),
        "below-guideline-eur": board_for(card_context(1_800, 8_000, mask="0042", currency="EUR")),
    }


def golden_path(name: str, time_s: float) -> Path:
    return GOLDEN_DIR / f"{name}@{time_s:g}s.png"


def drawn_frames() -> dict[Path, Image.Image]:
    frames = {}
    for name, board in golden_boards().items():
        painter = Painter(board)
        for time_s in TIMES_S:
            frames[golden_path(name, time_s)] = painter.frame(state_at(board, time_s)).copy()
    return frames


def psnr_db(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio of two same-size RGB images (infinite when identical)."""
    mse = sum(value**2 for value in ImageStat.Stat(ImageChops.difference(a, b)).rms) / 3
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def min_tile_psnr_db(a: Image.Image, b: Image.Image, tile_px: int = 80) -> float:
    """The worst PSNR over 80×80 tiles: one changed digit hides in a whole frame, not in its tile."""
    return min(
        psnr_db(a.crop(box), b.crop(box))
        for y in range(0, a.height, tile_px)
        for x in range(0, a.width, tile_px)
        for box in [(x, y, x + tile_px, y + tile_px)]
    )


def update() -> int:
    frames = drawn_frames()
    recorded = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}
    changed = [
        path.name
        for path, image in frames.items()
        if not path.exists() or psnr_db(Image.open(path).convert("RGB"), image) < 60
    ]
    if changed and recorded.get("renderer_version") == RENDERER_VERSION:
        print(
            f"these frames changed but RENDERER_VERSION is still {RENDERER_VERSION}: {', '.join(changed)}\n"
            "bump it in worker/render/__init__.py, then run this again",
            file=sys.stderr,
        )
        return 1
    GOLDEN_DIR.mkdir(exist_ok=True)
    for path, image in frames.items():
        image.save(path, optimize=True)
    MANIFEST.write_text(
        json.dumps({"renderer_version": RENDERER_VERSION, "frames": sorted(path.name for path in frames)}, indent=2)
        + "\n"
    )
    print(f"wrote {len(frames)} golden frames for {RENDERER_VERSION} ({len(changed)} changed)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="redraw the golden frames")
    sys.exit(update() if parser.parse_args().update else 0)
