"""Render time of one local video (8 s, 1280x720, 24 fps, H.264) on one core, against an encode-only floor.

The process is pinned to one CPU. "Full render" is what a worker does: draw
every frame, encode, draw the poster. "Encode-only floor" encodes the very same
frames, drawn beforehand, so the ratio shows what drawing adds on top of the
encoder. Figures are printed, never asserted; the target is a full render in at
most 1.5 s.

    python bench/bench_render.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

#: The issue's target for one full render on one core.
TARGET_S = 1.5
SAMPLE_CONTEXT = (
    Path(__file__).resolve().parents[1] / "tests" / "data" / "spendsense" / "user_contexts_high_utilization.json"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--user", default="user_0034", help="a user in the shipped SpendSense contexts")
    args = parser.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    from engine_hooks.inputs import job_spec
    from worker.providers import VideoRequest
    from worker.providers.local import LOCAL_FPS, LocalRenderer
    from worker.render.draw import Painter
    from worker.render.encode import encode_mp4
    from worker.render.probe import probe_video
    from worker.render.timeline import frame_states

    context = json.loads(SAMPLE_CONTEXT.read_text())[args.user]
    spec = job_spec(args.user, "High Utilization", "credit_utilization", context)
    board = spec.template.storyboard(spec.figures, spec.disclaimer)
    totals, draws, floors, probes = [], [], [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as workdir:
            started = time.perf_counter()
            produced = LocalRenderer().produce(VideoRequest("bench", "", board), Path(workdir))
            totals.append(time.perf_counter() - started)

            started = time.perf_counter()
            painter = Painter(board)
            for state in frame_states(board, LOCAL_FPS):
                painter.frame(state)
            draws.append(time.perf_counter() - started)

            painter = Painter(board)  # the floor's frames are drawn (and held in memory) before timing
            frames = [painter.frame(state) for state in frame_states(board, LOCAL_FPS)]

            started = time.perf_counter()
            encode_mp4(frames, Path(workdir) / "floor.mp4", LOCAL_FPS)
            floors.append(time.perf_counter() - started)

            started = time.perf_counter()
            probe = probe_video(produced.video_path)
            probes.append(time.perf_counter() - started)

    total, floor = statistics.median(totals), statistics.median(floors)
    print(
        f"local render of one video ({args.user}, one core): {probe.width}x{probe.height}, "
        f"{probe.duration_seconds:g} s, {probe.frame_count} frames, {probe.file_size_bytes / 1024:.0f} KiB, "
        f"n={args.repeat}"
    )
    print(
        f"  full render (draw + encode + poster): median {total:.2f} s  "
        f"({'meets' if total <= TARGET_S else 'MISSES'} the {TARGET_S:g} s target)"
    )
    print(f"  encode-only floor, same frames:       median {floor:.2f} s  (full render / floor = {total / floor:.2f}x)")
    print(f"  drawing the frames alone:             median {statistics.median(draws):.2f} s")
    print(f"  probe (demux all, decode one frame):  median {statistics.median(probes):.3f} s")


if __name__ == "__main__":
    main()
