"""Engine-side cost of `enqueue_videos`, per credit_utilization recommendation.

This is the time the engine spends inside the hook (validate, write the row,
publish the message), after `warm_up()` as the engine calls it at start-up. Each
backend is measured in its own fresh process, as an engine process has one.
Measured side by side in one run on the embedded default (SQLite jobs database + SQLite
broker) and, when they answer on this machine, on PostgreSQL + Redis (a throwaway database and a
claimed empty Redis database, borrowed through tests.services and both removed after).
Prints median and p99; nothing is asserted.

    python bench/bench_enqueue.py [--recommendations 300]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def measure(database_url: str, broker_url: str, count: int) -> list[float]:
    """Milliseconds per enqueue_videos call against one database and broker, in a fresh process."""
    from worker.db.migrate import upgrade_to_head

    upgrade_to_head(database_url)
    child = subprocess.run(
        [sys.executable, __file__, "--child", "--recommendations", str(count)],
        env={**os.environ, "DATABASE_URL": database_url, "CELERY_BROKER_URL": broker_url},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if child.returncode != 0:
        raise SystemExit(child.stderr[-3000:])
    return sorted(json.loads(child.stdout.strip().splitlines()[-1]))


def child(count: int) -> None:
    """One engine process: warm up, time `count` calls, print the samples as JSON."""
    from engine_hooks import enqueue_videos, warm_up

    if not warm_up():  # as the engine does at start-up: connections open, statements compiled
        raise SystemExit("the hooks could not warm up (see the warning above)")
    samples_ms = []
    for index in range(count):
        recs = [{"topic": "credit_utilization"}, {"topic": "debt_paydown_strategy"}]
        context = {"signals": {"credit_max_util_pct": 30 + (index % 70) + 0.1}}
        started = time.perf_counter()
        enqueue_videos(f"user_{index:05d}", "High Utilization", recs, context)
        samples_ms.append((time.perf_counter() - started) * 1000)
        if recs[0].get("video_status") != "queued":
            raise SystemExit(f"enqueue failed: {recs[0].get('video_error')}")
    print(json.dumps(samples_ms))


def report(label: str, samples_ms: list[float]) -> None:
    p99 = samples_ms[min(len(samples_ms) - 1, round(0.99 * len(samples_ms)) - 1)]
    print(
        f"  {label:<44} median {statistics.median(samples_ms):6.2f} ms   p99 {p99:6.2f} ms   "
        f"max {samples_ms[-1]:6.2f} ms"
    )


def production_backends(stack: ExitStack) -> tuple[str, str] | None:
    """A throwaway PostgreSQL database and a claimed empty Redis database (both borrowed through
    tests.services, released when `stack` closes), or None, saying why, when either is unavailable."""
    from tests.services import postgres_database, redis_database

    try:
        database_url = stack.enter_context(postgres_database("bench"))
        redis_url = stack.enter_context(redis_database())
    except Exception as exc:  # a missing server, or no free Redis database: say so, never silently
        print(f"  (PostgreSQL + Redis not measured: {type(exc).__name__}: {exc})")
        return None
    return database_url, redis_url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recommendations", type=int, default=300)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.recommendations)
    workdir = Path(tempfile.mkdtemp(prefix="bench-enqueue-"))
    os.environ.update(
        {
            "VIDEO_GENERATION_ENABLED": "true",
            "VIDEO_STORAGE_DIR": str(workdir / "videos"),
            "TRACE_DIR": str(workdir / "traces"),
        }
    )
    print(f"enqueue_videos, one credit_utilization recommendation per call, n={args.recommendations}")
    embedded = measure(
        f"sqlite:///{workdir / 'jobs.sqlite'}", f"sqla+sqlite:///{workdir / 'broker.sqlite'}", args.recommendations
    )
    report("embedded default (SQLite DB + SQLite broker)", embedded)
    with ExitStack() as stack:
        backends = production_backends(stack)
        if backends is not None:
            database_url, redis_url = backends
            report("production (PostgreSQL + Redis)", measure(database_url, redis_url, args.recommendations))


if __name__ == "__main__":
    main()
