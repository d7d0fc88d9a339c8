"""Remote throughput: 500 jobs, 2 worker processes, a server that renders 50 at a time in 3 s each.

The ideal makespan is ceil(500 / 50) x 3 s = 30 s: only possible if no worker
slot ever waits on the server. With `--distinct N` the jobs share N videos
(identical figures): each is paid for once, so the bench also prints the
server's renders per job (N / jobs is the floor) and the ideal is ceil(N / 50) x 3 s.
Jobs are queued through the engine hooks first, then a real `celery worker --concurrency=2`
is started against the fake Videos API server; the clock runs from the worker's "ready" line to the last job's
terminal state. Prints the makespan and its ratio to the ideal; asserts nothing.

    python bench/bench_remote_throughput.py [--jobs 500] [--distinct 500] [--latency-s 3] [--server-concurrency 50]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def backends(workdir: Path, embedded: bool, stack: ExitStack):
    """PostgreSQL + Redis (the production shape; a database of each borrowed through tests.services),
    else the embedded default, saying why."""
    if not embedded:
        from tests.services import postgres_database, redis_database

        try:
            database_url = stack.enter_context(postgres_database("bench"))
            broker_url = stack.enter_context(redis_database())
            return "PostgreSQL + Redis", database_url, broker_url
        except Exception as exc:  # a missing server, or no free Redis database: say so, never silently
            print(f"(PostgreSQL + Redis not available: {type(exc).__name__}: {exc}; measuring the embedded default)")
    return (
        "SQLite + embedded SQLite broker",
        f"sqlite:///{workdir / 'jobs.sqlite'}",
        f"sqla+sqlite:///{workdir / 'broker.sqlite'}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--distinct", type=int, help="distinct videos among the jobs (default: every job its own)")
    parser.add_argument("--latency-s", type=float, default=3.0)
    parser.add_argument("--server-concurrency", type=int, default=50)
    parser.add_argument("--worker-processes", type=int, default=2)
    parser.add_argument("--embedded", action="store_true", help="use SQLite + the SQLite broker even if servers run")
    args = parser.parse_args()

    from tests.fake_videos_api import FakeVideosServer

    workdir = Path(tempfile.mkdtemp(prefix="bench-remote-"))
    with ExitStack() as stack:
        label, database_url, broker_url = backends(workdir, args.embedded, stack)
        fake = FakeVideosServer(latency_s=args.latency_s, concurrency=args.server_concurrency).start()
        stack.callback(fake.stop)
        os.environ.update(
            {
                "DATABASE_URL": database_url,
                "CELERY_BROKER_URL": broker_url,
                "VIDEO_GENERATION_ENABLED": "true",
                "VIDEO_STORAGE_DIR": str(workdir / "videos"),
                "TRACE_DIR": str(workdir / "traces"),
                **fake.client_env(),
            }
        )
        run(args, label, fake)


def all_finished(job_ids: list[str]) -> list[str] | None:
    from worker.jobs import reader

    states = [reader.get_status(job_id).value for job_id in job_ids]
    return states if all(state in ("completed", "failed") for state in states) else None


def run(args, label: str, fake) -> None:
    from engine_hooks import enqueue_videos, warm_up
    from tests.helpers import wait_until
    from worker.db.migrate import upgrade_to_head
    from worker.jobs import reader
    from worker.settings import get_settings
    from worker.worker_process import WorkerProcess

    settings = get_settings()
    upgrade_to_head(settings.database_url)
    warm_up()  # as the engine does at start-up (README): the first enqueue then fits the hook budget
    job_ids, distinct = [], args.distinct or args.jobs
    for index in range(args.jobs):
        recs = [{"topic": "credit_utilization"}]
        balance = 4000 + 11 * (index % distinct)  # one card balance, so one video, per distinct figure
        card = {
            "account_type": "credit",
            "account_subtype": "credit card",
            "balance_current": balance,
            "balance_limit": 10_000,
            "iso_currency_code": "USD",
            "mask": "2385",
        }
        enqueue_videos(
            f"bench_{index:05d}",
            "High Utilization",
            recs,
            {"signals": {"credit_max_util_pct": balance / 100}, "accounts": [card]},
        )
        job_ids.append(recs[0]["video_job_id"])

    log_path = Path(settings.video_storage_dir).parent / "worker.log"
    worker = WorkerProcess(dict(os.environ), log_path, concurrency=args.worker_processes, name="bench").start()
    try:
        worker.wait_for_log(" ready.")
        started = time.monotonic()
        states = wait_until(lambda: all_finished(job_ids), timeout_s=3600, interval_s=0.25, what="every job finished")
        makespan_s = time.monotonic() - started
    finally:
        worker.stop()

    ideal_s = math.ceil(distinct / args.server_concurrency) * args.latency_s
    remote = sum(1 for job_id in job_ids if (job := reader.get_job(job_id)) and job.provider == "openai")
    print(
        f"remote throughput on {label}: {args.jobs} jobs, {args.worker_processes} worker processes, "
        f"server renders {args.server_concurrency} at a time in {args.latency_s:g} s"
    )
    print(f"  makespan {makespan_s:.1f} s, ideal {ideal_s:.1f} s, ratio to ideal {makespan_s / ideal_s:.2f}")
    print(
        f"  {states.count('completed')} completed ({remote} from the remote path), {states.count('failed')} failed; "
        f"server created {fake.jobs_created} jobs for {len(fake.create_calls)} idempotency keys"
    )
    print(
        f"  {distinct} distinct videos: {fake.jobs_created / args.jobs:.3f} server renders per job "
        f"(floor {distinct / args.jobs:.3f})"
    )


if __name__ == "__main__":
    main()
