"""Money under concurrency: two worker processes on PostgreSQL + Redis against the fake Videos API.

A spending cap that allows exactly ten paid videos holds across both workers, and identical videos
queued together are paid for once. In CI these run against the machine's real Redis and PostgreSQL
and must not skip.
"""

from __future__ import annotations

import pytest

from engine_hooks import enqueue_videos
from tests.factories import load_job
from tests.helpers import wait_for_terminal
from tests.test_spending import PRICE, PRICED
from worker.remote.spending import spend
from worker.settings import reload_settings

pytestmark = pytest.mark.slow


def start_two_workers(topology, remote_env, **settings: str) -> None:
    topology.env.update(remote_env(**PRICED, VIDEO_POLL_DEADLINE_S="600", **settings))
    topology.start("worker")
    topology.start("worker", label="worker2")


def enqueue(user_number: int, utilization: float) -> str:
    recs = [{"topic": "credit_utilization"}]
    [job_id] = enqueue_videos(f"user_{user_number:04d}", "High Utilization", recs, {"credit_max_util_pct": utilization})
    return job_id


def test_a_daily_cap_of_ten_videos_holds_across_two_workers(topology, fake, remote_env):
    start_two_workers(topology, remote_env, VIDEO_BUDGET_USD_PER_DAY=f"{10 * PRICE:.2f}")
    # Fourteen different videos, queued at once: both workers reach the cap together. (Each job past
    # the cap costs a local render; more of them would test nothing more.)
    jobs = [enqueue(n, 31.0 + n) for n in range(14)]
    assert [wait_for_terminal(job_id, timeout_s=300) for job_id in jobs] == ["completed"] * 14
    rows = [load_job(job_id) for job_id in jobs]
    paid = [row for row in rows if row.provider == "openai"]
    over = [row for row in rows if row.fallback_reason and row.fallback_reason.startswith("budget:")]
    assert fake.jobs_created == 10 and sum(fake.create_calls.values()) == 10
    assert len(paid) == 10 and len(over) == 4
    assert all(row.provider == "local" and row.remote_id is None for row in over)
    assert spend(reload_settings()).today_usd == pytest.approx(10 * PRICE)
    assert sum(row.estimated_cost_usd for row in paid) == pytest.approx(10 * PRICE)


def test_a_hundred_jobs_of_twenty_figures_make_twenty_paid_videos(topology, fake, remote_env):
    """Five twins of each video, queued together (`bench/bench_remote_throughput.py --jobs 200 --distinct 20`
    runs 200)."""
    start_two_workers(topology, remote_env)
    figures = [40.0 + 2 * n for n in range(20)]
    jobs = [enqueue(n, figures[n % 20]) for n in range(100)]  # queued together, before any finishes
    assert [wait_for_terminal(job_id, timeout_s=300) for job_id in jobs] == ["completed"] * 100
    rows = [load_job(job_id) for job_id in jobs]
    assert fake.jobs_created == 20
    makers = {row.id: row for row in rows if row.remote_id is not None}
    assert len(makers) == 20
    for row in rows:
        if row.id not in makers:
            maker = makers[row.reused_from_job_id]
            assert (row.video_key, row.poster_key, row.prompt_hash) == (
                maker.video_key,
                maker.poster_key,
                maker.prompt_hash,
            )
            assert row.estimated_cost_usd == 0.0 and row.provider == "openai"
    print(f"100 jobs, 20 distinct videos: {fake.jobs_created} paid creates ({fake.jobs_created / 100:.2f} per job)")
