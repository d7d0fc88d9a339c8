"""What the video hooks cost the engine: SpendSense-shaped engine calls with and without them, side by side.

Each variant runs in a fresh process (so its first call is a new engine
process's first call), over the 32 High Utilization users of the shipped data:
hooks with the flag off; hooks on the embedded default (SQLite + SQLite broker);
hooks on PostgreSQL + Redis (a throwaway database and a claimed Redis database,
removed afterwards). The hook variants run once without and once with
`warm_up()` at start-up. Every process also runs the unpatched engine, one call
before each hooked call for the same user; each ratio is the median over the
hooked calls of their ratio to that unpatched partner: the two share the
machine's noise, so the ratios hold on a busy machine. Then the hooks against a
hung PostgreSQL and a hung Redis (listeners that accept and never answer):
every call still returns.
Figures are printed, never asserted. Targets: repeat calls within 1.10x of the
unpatched engine, first calls within 1.15x, flag off within 1.02x.

    python bench/bench_engine_overhead.py
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests.services, when run as `python bench/bench_engine_overhead.py`
#: Engine processes per variant; their samples are pooled (each process's first call counts once).
PROCESSES = 3


def child(warm: bool, limit: int) -> None:
    """One engine process: time unpatched and hooked calls, paired per user, and print them as JSON."""
    sys.path.insert(0, str(HERE))
    from engine_standin import Engine

    trace_dir = Path(os.environ["BENCH_TRACE_DIR"])
    unpatched, hooked = Engine(trace_dir / "unpatched", hooks=False), Engine(trace_dir / "hooked", hooks=True)
    hooked.transactions = unpatched.transactions  # one engine's data, as in one server process
    users = hooked.users()[:limit]
    for _ in range(2):  # the engine's own first-call costs, paid before anything is measured
        unpatched.generate_recommendations(users[0])
    if warm:
        from engine_hooks import warm_up

        warm_up()
    samples: dict[str, list[float]] = {key: [] for key in ("base_first", "first", "base_repeat", "repeat")}
    statuses = []
    for round_name in ("first", "repeat"):
        for user_id in users:
            samples[f"base_{round_name}"].append(_timed(unpatched, user_id)[0])
            elapsed, response = _timed(hooked, user_id)
            samples[round_name].append(elapsed)
            statuses.append(response["recommendations"][0].get("video_status", "-"))
    print(json.dumps({**samples, "statuses": sorted(set(statuses))}))


def _timed(engine, user_id: str) -> tuple[float, dict]:
    started = time.perf_counter()
    response = engine.generate_recommendations(user_id)
    return (time.perf_counter() - started) * 1000, response


def run_variant(envs: list[dict[str, str]], warm: bool = False, limit: int = 32) -> dict:
    """Run one engine process per environment, one after another, and pool their samples.

    Give each process its own fresh database, so each one's first calls really are first.
    """
    pooled: dict[str, list] = {}
    for env in envs:
        trace_dir = tempfile.mkdtemp(prefix="bench-traces-")
        command = [sys.executable, __file__, "--child", "--limit", str(limit)] + (["--warm"] if warm else [])
        child_env = {**env, "BENCH_TRACE_DIR": trace_dir}
        result = subprocess.run(command, env=child_env, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise SystemExit(result.stderr[-3000:])
        for key, values in json.loads(result.stdout.strip().splitlines()[-1]).items():
            pooled.setdefault(key, []).append(values)
    merged = {key: [value for values in runs for value in values] for key, runs in pooled.items() if key != "statuses"}
    merged["process_first"] = [runs[0] for runs in pooled["first"]]
    merged["process_base"] = [statistics.median(runs) for runs in pooled["base_first"]]
    merged["statuses"] = sorted({status for runs in pooled["statuses"] for status in runs})
    return merged


def fresh_environment(base: dict[str, str], database_url: str, broker_url: str) -> dict[str, str]:
    from worker.db.migrate import upgrade_to_head

    upgrade_to_head(database_url)
    return {**base, "DATABASE_URL": database_url, "CELERY_BROKER_URL": broker_url, "VIDEO_GENERATION_ENABLED": "true"}


def black_hole() -> socket.socket:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    return listener


def report(rows: list[tuple[str, dict]]) -> None:
    """Each row: medians of the calls, and the median over users of each hooked call's ratio to the
    unpatched call made just before it for the same user, in the same process. Pairing keeps a
    slower process, or a busy second, out of the ratio (both calls of a pair share it).

    "process 1st" is what the hooks add to a process's first call: that call minus the median
    unpatched first call of the same process (the unpatched call just before it has already paid
    the engine's own first-call costs); the median over the processes.
    """
    print(
        f"{'engine call, 32 High Utilization users':<44} {'unpatched':>9} {'first call':>16} {'repeat call':>17} "
        f"{'process 1st':>12}  video_status"
    )
    for label, result in rows:
        base_first = statistics.median(result["base_first"])
        first, repeat = statistics.median(result["first"]), statistics.median(result["repeat"])
        process_first = statistics.median(
            [first_call - base for first_call, base in zip(result["process_first"], result["process_base"])]
        )
        print(
            f"  {label:<42} {base_first:6.2f} ms {first:6.2f} ms {_paired(result, 'first'):5.2f}x "
            f"{repeat:6.2f} ms {_paired(result, 'repeat'):5.2f}x {process_first:+8.1f} ms  "
            f"{','.join(result['statuses'])}"
        )


def _paired(result: dict, round_name: str) -> float:
    """The median ratio of each hooked call to its unpatched partner."""
    return statistics.median(hooked / base for hooked, base in zip(result[round_name], result[f"base_{round_name}"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=32, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.warm, args.limit)

    workdir = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    base = {
        **os.environ,
        "VIDEO_STORAGE_DIR": str(workdir / "videos"),
        "TRACE_DIR": str(workdir / "traces"),
        "PYTHONPATH": str(HERE.parent),
    }
    base.pop("VIDEO_HOOK_BUDGET_MS", None)
    os.environ.update({"DATABASE_URL": f"sqlite:///{workdir / 'unused.sqlite'}", "CELERY_BROKER_URL": "memory://"})
    rows = [("hooks, flag off", run_variant([{**base, "VIDEO_GENERATION_ENABLED": "false"}] * PROCESSES))]

    def embedded(tag: str) -> list[dict[str, str]]:
        return [
            fresh_environment(
                base,
                f"sqlite:///{workdir / f'jobs-{tag}{n}.sqlite'}",
                f"sqla+sqlite:///{workdir / f'broker-{tag}{n}.sqlite'}",
            )
            for n in range(PROCESSES)
        ]

    rows.append(("hooks, embedded default", run_variant(embedded("cold"))))
    rows.append(("hooks, embedded default, warm_up()", run_variant(embedded("warm"), warm=True)))
    with ExitStack() as stack:  # every borrowed database is released on the way out, whatever happens
        try:
            from tests.services import postgres_database, redis_database

            broker = stack.enter_context(redis_database())  # the cheap check before 2 x PROCESSES databases
            databases = [stack.enter_context(postgres_database("bench")) for _ in range(2 * PROCESSES)]
            production = [fresh_environment(base, database_url, broker) for database_url in databases]
            rows.append(("hooks, PostgreSQL + Redis", run_variant(production[:PROCESSES])))
            rows.append(("hooks, PostgreSQL + Redis, warm_up()", run_variant(production[PROCESSES:], warm=True)))
        except Exception as exc:  # a missing server, or no free Redis database: say so, never silently
            print(f"(PostgreSQL + Redis not measured: {type(exc).__name__}: {exc})")
        report(rows)
        hung_pg = black_hole()
        stack.callback(hung_pg.close)
        hung_redis = black_hole()
        stack.callback(hung_redis.close)
        sick = [
            (
                "hooks, hung PostgreSQL",
                {
                    **base,
                    "VIDEO_GENERATION_ENABLED": "true",
                    "CELERY_BROKER_URL": "memory://",
                    "DATABASE_URL": f"postgresql+psycopg://u@127.0.0.1:{hung_pg.getsockname()[1]}/x",
                },
            ),
            (
                "hooks, hung Redis",
                {**embedded("sick")[0], "CELERY_BROKER_URL": f"redis://127.0.0.1:{hung_redis.getsockname()[1]}/0"},
            ),
        ]
        print("with a sick service (every call must still return; the first one waits out the budget):")
        report([(label, run_variant([env], limit=20)) for label, env in sick])


if __name__ == "__main__":
    main()
