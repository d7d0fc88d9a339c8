"""How fast the system heals, side by side: the Procfile's processes on PostgreSQL + Redis.

Production defaults for the task time limit (600 s) and the lease (30 s); the
reconciler runs every RECONCILE_INTERVAL_S and treats a queued job as quiet after
STUCK_AFTER_S (shorter than production's 60 s / 300 s so the run takes minutes;
the figures scale with them and are printed beside them). Scenarios:

- a pool process SIGKILLed mid-render: until its job starts again, and completes;
- the whole worker SIGKILLed mid-render, then started again: until its jobs complete;
- 10 messages deleted from Redis while 200 jobs wait (no video worker running):
  until exactly those 10 are re-sent, and how many others got a second message;
- the first reconciler pass after beat starts, with those 200 jobs queued.

Figures are printed, never asserted.

    python bench/bench_recovery.py
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RECONCILE_INTERVAL_S, STUCK_AFTER_S = 5, 10
WAITING, LOST = 200, 10


def main() -> None:
    import redis

    from tests.services import postgres_database, redis_database

    workdir = Path(tempfile.mkdtemp(prefix="bench-recovery-"))
    with ExitStack() as stack:  # LIFO: the processes stop before their databases are dropped and flushed
        try:
            database = stack.enter_context(postgres_database("bench"))
            broker = stack.enter_context(redis_database())
        except Exception as exc:  # a missing server, or no free Redis database: say so, never silently
            raise SystemExit(f"(PostgreSQL + Redis not available, not measured: {type(exc).__name__}: {exc})") from None
        client = redis.Redis.from_url(broker)
        env = {
            "DATABASE_URL": database,
            "CELERY_BROKER_URL": broker,
            "VIDEO_GENERATION_ENABLED": "true",
            "VIDEO_STORAGE_DIR": str(workdir / "videos"),
            "TRACE_DIR": str(workdir / "traces"),
            "VIDEO_PROVIDER": "local",
            "WORKER_CONCURRENCY": "2",
            "BEAT_SCHEDULE_FILE": str(workdir / "beat-schedule"),
            "VIDEO_RECONCILE_INTERVAL_S": str(RECONCILE_INTERVAL_S),
            "VIDEO_STUCK_AFTER_S": str(STUCK_AFTER_S),
            "VIDEO_HOOK_BUDGET_MS": "5000",
        }
        os.environ.update(env)
        from tests.topology import Topology

        (workdir / "logs").mkdir()
        topology = Topology({**os.environ, **env}, workdir / "logs")
        stack.callback(topology.stop_all)
        assert topology.run("release").returncode == 0
        rows = [pool_process_killed(topology), whole_worker_killed(topology)]
        rows += lost_messages_behind_a_backlog(topology, client)
    from worker.settings import get_settings

    settings = get_settings()
    print(
        f"recovery on PostgreSQL + Redis (time limit {settings.task_time_limit_s} s, lease {settings.lease_s} s, "
        f"reconcile every {RECONCILE_INTERVAL_S} s, quiet after {STUCK_AFTER_S} s)"
    )
    for label, figure in rows:
        print(f"  {label:<72} {figure}")


def enqueue(prefix: str, count: int) -> list[str]:
    from engine_hooks import enqueue_videos

    job_ids = []
    for number in range(count):
        recs = [{"topic": "credit_utilization"}]
        job_ids += enqueue_videos(
            f"{prefix}_{number:04d}", "High Utilization", recs, {"credit_max_util_pct": 31 + number % 69}
        )
    return job_ids


def events(job_id: str) -> list:
    from tests.factories import load_job

    return list(load_job(job_id).events)


def status(job_id: str) -> str:
    from worker.jobs import reader

    return reader.get_status(job_id).value


def wait_until(condition, timeout_s: float = 300, step_s: float = 0.02) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise SystemExit("timed out")
        time.sleep(step_s)
    return time.monotonic()


def pool_process_killed(topology) -> tuple[str, str]:
    topology.env["WORKER_CONCURRENCY"] = "1"
    worker = topology.start("worker")
    topology.wait_for_log("worker", " ready.")
    [job_id] = enqueue("pool", 1)
    wait_until(lambda: status(job_id) == "running")
    [pool_process] = Path(f"/proc/{worker.process.pid}/task/{worker.process.pid}/children").read_text().split()
    os.kill(int(pool_process), signal.SIGKILL)
    killed = time.monotonic()
    restarted = wait_until(lambda: [e.event for e in events(job_id)].count("started") >= 2)
    done = wait_until(lambda: status(job_id) == "completed")
    topology.stop("worker")
    return (
        "pool process SIGKILLed mid-render (target: restart within 20 s)",
        f"restarted {restarted - killed:5.1f} s, completed {done - killed:5.1f} s after the kill",
    )


def whole_worker_killed(topology) -> tuple[str, str]:
    topology.env["WORKER_CONCURRENCY"] = "2"
    for process in ("worker", "maintenance", "beat"):
        topology.start(process)
    topology.wait_for_log("worker", " ready.")
    job_ids = enqueue("whole", 4)
    wait_until(lambda: any(status(job_id) == "running" for job_id in job_ids))
    topology.kill("worker")
    killed = time.monotonic()
    topology.start("worker")
    done = wait_until(lambda: all(status(job_id) == "completed" for job_id in job_ids))
    for process in ("worker", "maintenance", "beat"):
        topology.stop(process)
    return (
        "whole worker SIGKILLed mid-render, then started (target: 90 s)",
        f"all {len(job_ids)} jobs completed {done - killed:5.1f} s after the kill",
    )


def lost_messages_behind_a_backlog(topology, client) -> list[tuple[str, str]]:
    import random

    job_ids = enqueue("backlog", WAITING)
    lost = set(random.Random(1).sample(job_ids, LOST))
    for payload in client.lrange("celery", 0, -1):
        if json.loads(payload)["headers"]["id"] in lost:
            client.lrem("celery", 1, payload)
    deleted = time.monotonic()
    earlier_log = len(topology.log_text("maintenance"))  # the whole-worker scenario ran passes too
    topology.start("maintenance")
    topology.start("beat")
    beat_started = time.monotonic()
    first_pass = wait_until(lambda: "] succeeded in" in topology.log_text("maintenance")[earlier_log:], step_s=0.1)
    resent = wait_until(lambda: all("reenqueued" in [e.event for e in events(job_id)] for job_id in lost), step_s=0.5)
    others = sum(1 for job_id in job_ids if job_id not in lost and "reenqueued" in [e.event for e in events(job_id)])
    topology.stop("beat")
    topology.stop("maintenance")
    return [
        (
            f"first reconciler pass after beat starts, {WAITING} jobs queued",
            f"{first_pass - beat_started:5.1f} s (maintenance worker start included)",
        ),
        (
            f"{LOST} of {WAITING} waiting messages deleted (target: quiet + 2 intervals = "
            f"{STUCK_AFTER_S + 2 * RECONCILE_INTERVAL_S} s)",
            f"all {LOST} re-sent {resent - deleted:5.1f} s after; others re-sent: {others}",
        ),
    ]


if __name__ == "__main__":
    main()
