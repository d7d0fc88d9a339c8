"""Render time of one local video (8 s, 1280x720, 24 fps, H.264), split into its stages.

Prints the wall time of a full render and of its parts (drawing frames, encoding,
probing), over a few repetitions; nothing is asserted.

    python bench/bench_render.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from worker.prompts import find_template, utilization_figures
    from worker.providers import VideoRequest, get_provider
    from worker.render.draw import draw_frame
    from worker.render.probe import probe_video
    from worker.render.timeline import frame_states

    template = find_template("high_utilization", "credit_utilization")
    board = template.storyboard(utilization_figures(73.0))
    totals, draws, probes = [], [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as workdir:
            started = time.perf_counter()
            produced = get_provider("local").produce(VideoRequest("bench", "", board), Path(workdir))
            totals.append(time.perf_counter() - started)

            started = time.perf_counter()
            for state in frame_states(board, 24):
                draw_frame(state, board.caption)
            draws.append(time.perf_counter() - started)

            started = time.perf_counter()
            probe = probe_video(produced.video_path)
            probes.append(time.perf_counter() - started)

    print(f"local render of one video: {probe.width}x{probe.height}, {probe.duration_seconds:g} s, "
          f"{probe.frame_count} frames, {probe.file_size_bytes / 1024:.0f} KiB, n={args.repeat}")
    print(f"  full render (draw + encode + poster): median {statistics.median(totals):.2f} s")
    print(f"  drawing frames alone:                 median {statistics.median(draws):.2f} s")
    print(f"  probe (decode every frame):           median {statistics.median(probes):.2f} s")


if __name__ == "__main__":
    main()
