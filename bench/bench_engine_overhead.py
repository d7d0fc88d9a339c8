"""What the video hooks cost the engine: SpendSense-shaped engine calls with and without them, side by side.

Each variant runs in a fresh process (so its first call is a new engine
process's first call), over the 32 High Utilization users of the shipped data:
unpatched; hooks with the flag off; hooks on the embedded default (SQLite +
SQLite broker); hooks on PostgreSQL + Redis (a throwaway database and a claimed
Redis database, removed afterwards). The hook variants run once without and once
with `warm_up()` at start-up. Then the hooks against a hung PostgreSQL and a
hung Redis (listeners that accept and never answer): every call still returns.
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
import uuid
from pathlib import Path

POSTGRES_ADMIN_URL = os.environ.get("SPENDSENSE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_SERVER = os.environ.get("SPENDSENSE_TEST_REDIS_URL", "redis://127.0.0.1:6379")
HERE = Path(__file__).resolve().parent
CLAIM_KEY = "spendsense:bench:claim"


def child(hooks: bool, warm: bool, limit: int) -> None:
    """One engine process: time its calls and print them as JSON."""
    sys.path.insert(0, str(HERE))
    from engine_standin import Engine

    engine = Engine(Path(os.environ["BENCH_TRACE_DIR"]), hooks=hooks)
    users = engine.users()[:limit]
    if hooks and warm:
        from engine_hooks import warm_up

        warm_up()
    first, repeat, statuses = [], [], []
    for round_samples in (first, repeat):
        for user_id in users:
            started = time.perf_counter()
            response = engine.generate_recommendations(user_id)
            round_samples.append((time.perf_counter() - started) * 1000)
            statuses.append(response["recommendations"][0].get("video_status", "-"))
    print(json.dumps({"first": first, "repeat": repeat, "statuses": sorted(set(statuses))}))


def run_variant(env: dict[str, str], hooks: bool, warm: bool = False, limit: int = 32) -> dict:
    trace_dir = tempfile.mkdtemp(prefix="bench-traces-")
    command = [sys.executable, __file__, "--child", "--limit", str(limit)] + (["--hooks"] if hooks else []) + \
        (["--warm"] if warm else [])
    result = subprocess.run(command, env={**env, "BENCH_TRACE_DIR": trace_dir}, capture_output=True, text=True,
                            timeout=600)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def fresh_environment(base: dict[str, str], database_url: str, broker_url: str) -> dict[str, str]:
    from worker.db.migrate import upgrade_to_head

    upgrade_to_head(database_url)
    return {**base, "DATABASE_URL": database_url, "CELERY_BROKER_URL": broker_url, "VIDEO_GENERATION_ENABLED": "true"}


def claim_redis_db():
    import redis

    token = uuid.uuid4().hex
    for number in range(1, 16):
        client = redis.Redis.from_url(f"{REDIS_SERVER}/{number}", socket_connect_timeout=1)
        if client.dbsize() == 0 and client.set(CLAIM_KEY, token, nx=True):
            return client, number
    return None, None


def black_hole() -> socket.socket:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    return listener


def report(rows: list[tuple[str, dict]], baseline: dict) -> None:
    base_first, base_repeat = statistics.median(baseline["first"]), statistics.median(baseline["repeat"])
    print(f"{'engine call, 32 High Utilization users':<46} {'first call':>16} {'repeat call':>17} "
          f"{'process 1st':>12}  video_status")
    for label, result in rows:
        first, repeat = statistics.median(result["first"]), statistics.median(result["repeat"])
        process_first = result["first"][0] - baseline["first"][0]
        print(f"  {label:<44} {first:6.2f} ms {first / base_first:5.2f}x {repeat:6.2f} ms {repeat / base_repeat:5.2f}x"
              f" {process_first:+8.1f} ms  {','.join(result['statuses'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--hooks", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=32, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.hooks, args.warm, args.limit)

    workdir = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    base = {**os.environ, "VIDEO_STORAGE_DIR": str(workdir / "videos"), "TRACE_DIR": str(workdir / "traces"),
            "PYTHONPATH": str(HERE.parent)}
    base.pop("VIDEO_HOOK_BUDGET_MS", None)
    os.environ.update({"DATABASE_URL": f"sqlite:///{workdir / 'unused.sqlite'}", "CELERY_BROKER_URL": "memory://"})
    baseline = run_variant(base, hooks=False)
    rows = [("unpatched engine", baseline),
            ("hooks, flag off", run_variant({**base, "VIDEO_GENERATION_ENABLED": "false"}, hooks=True))]
    embedded = fresh_environment(base, f"sqlite:///{workdir / 'jobs.sqlite'}", f"sqla+sqlite:///{workdir / 'b.sqlite'}")
    rows.append(("hooks, embedded default", run_variant(embedded, hooks=True)))
    embedded_warm = fresh_environment(base, f"sqlite:///{workdir / 'jobs2.sqlite'}",
                                      f"sqla+sqlite:///{workdir / 'b2.sqlite'}")
    rows.append(("hooks, embedded default, warm_up()", run_variant(embedded_warm, hooks=True, warm=True)))
    cleanups = []
    try:
        import psycopg

        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=2)
        redis_client, number = claim_redis_db()
        if redis_client is None:
            raise RuntimeError("no free Redis database to claim")
        cleanups.append(redis_client.flushdb)
        names = [f"bench_{uuid.uuid4().hex[:10]}" for _ in range(2)]
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
            cleanups.append(lambda name=name: admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        pg = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        broker = f"{REDIS_SERVER}/{number}"
        rows.append(("hooks, PostgreSQL + Redis", run_variant(fresh_environment(base, f"{pg}/{names[0]}", broker),
                                                             hooks=True)))
        redis_client.set(CLAIM_KEY, "bench")
        rows.append(("hooks, PostgreSQL + Redis, warm_up()",
                     run_variant(fresh_environment(base, f"{pg}/{names[1]}", broker), hooks=True, warm=True)))
    except Exception as exc:
        print(f"(PostgreSQL + Redis not measured: {type(exc).__name__}: {exc})")
    report(rows, baseline)
    hung_pg, hung_redis = black_hole(), black_hole()
    try:
        sick = [
            ("hooks, hung PostgreSQL", {**base, "VIDEO_GENERATION_ENABLED": "true", "CELERY_BROKER_URL": "memory://",
                                        "DATABASE_URL": f"postgresql+psycopg://u@127.0.0.1:{hung_pg.getsockname()[1]}/x"}),
            ("hooks, hung Redis", {**embedded, "CELERY_BROKER_URL": f"redis://127.0.0.1:{hung_redis.getsockname()[1]}/0"}),
        ]
        print("with a sick service (every call must still return; the first one waits out the budget):")
        report([(label, run_variant(env, hooks=True, limit=20)) for label, env in sick], baseline)
    finally:
        hung_pg.close()
        hung_redis.close()
        for cleanup in cleanups:
            cleanup()


if __name__ == "__main__":
    main()
