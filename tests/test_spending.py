"""The spending caps: a paid create reserves its cost in the database first, atomically, or is not made.

Reservations race here from many threads, each on its own database connection, on SQLite and on
PostgreSQL; tests/test_topology_spending.py races two worker processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.factories import load_job, queued_job
from tests.fake_videos_api import MODEL
from tests.helpers import enqueue_one, wait_for_terminal
from worker.db.models import SubmissionOutcome
from worker.errors import FallbackKind, FallbackNeeded
from worker.remote import ledger
from worker.remote.spending import spend
from worker.settings import SettingsError, get_settings, reload_settings
from worker.traces import trace_path

PRICE_PER_SECOND, SECONDS = 0.10, 8
PRICE = PRICE_PER_SECOND * SECONDS  # one 8-second video


#: The price the spending tests run with.
PRICED = {"VIDEO_COST_PER_SECOND_USD": str(PRICE_PER_SECOND)}


@pytest.fixture
def capped(configured, remote_env):
    """The remote provider with a daily cap of exactly ten videos, on SQLite and PostgreSQL."""
    remote_env(**PRICED, VIDEO_BUDGET_USD_PER_DAY=f"{10 * PRICE:.2f}")
    return get_settings()


def reserve(job_id: str, settings) -> str:
    try:
        ledger.record_intent(job_id, f"hash-of-{job_id}", settings, attempt=1)
        return "reserved"
    except FallbackNeeded as exc:
        assert exc.kind == FallbackKind.BUDGET and str(exc).startswith("budget: the daily video budget")
        return "over budget"


def test_a_cap_without_a_price_is_refused_naming_both_settings(monkeypatch):
    monkeypatch.setenv("VIDEO_BUDGET_USD_PER_MONTH", "100")
    monkeypatch.delenv("VIDEO_COST_PER_SECOND_USD", raising=False)
    with pytest.raises(SettingsError, match="VIDEO_COST_PER_SECOND_USD") as caught:
        reload_settings()
    assert "VIDEO_BUDGET_USD_PER_" in str(caught.value) and "cannot be measured" in str(caught.value)


def test_a_worker_with_a_cap_but_no_price_does_not_start(sqlite_configured, tmp_path):
    env = {
        **os.environ,
        "VIDEO_BUDGET_USD_PER_DAY": "5",
        "CELERY_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
    }
    env.pop("VIDEO_COST_PER_SECOND_USD", None)
    started = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "worker", "worker", "--pool=solo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode != 0
    assert "VIDEO_COST_PER_SECOND_USD" in started.stderr + started.stdout


def test_racing_reservations_never_pass_the_cap(capped):
    jobs = [queued_job(f"user_{n:04d}", 31.0 + n) for n in range(30)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda job_id: reserve(job_id, capped), jobs))
    assert outcomes.count("reserved") == 10 and outcomes.count("over budget") == 20
    assert spend(capped).today_usd == pytest.approx(10 * PRICE)


def test_a_create_known_unsent_gives_its_reservation_back(capped):
    jobs = [queued_job(f"user_{n:04d}", 31.0 + n) for n in range(11)]
    submissions = [ledger.record_intent(job_id, f"hash-{job_id}", capped, attempt=1) for job_id in jobs[:10]]
    assert reserve(jobs[10], capped) == "over budget"
    ledger.close_unsent(submissions[0], SubmissionOutcome.UNSENT)  # refused before it reached the server
    assert reserve(jobs[10], capped) == "reserved"
    assert spend(capped).today_usd == pytest.approx(10 * PRICE)


def test_a_job_over_the_cap_is_rendered_locally_with_the_reason_in_trace_and_status(
    capped, fake, monkeypatch, celery_worker, capsys
):
    monkeypatch.setenv("VIDEO_BUDGET_USD_PER_DAY", f"{PRICE:.2f}")  # one video a day
    reload_settings()
    paid, over = enqueue_one("user_0001", 73.0), enqueue_one("user_0002", 81.0)
    assert wait_for_terminal(paid) == wait_for_terminal(over) == "completed"
    assert fake.jobs_created == 1
    assert (load_job(paid).provider, load_job(paid).estimated_cost_usd) == ("openai", pytest.approx(PRICE))
    job = load_job(over)
    assert (job.provider, job.fallback_tier, job.remote_id) == ("local", "local", None)
    assert job.fallback_reason.startswith("budget:")
    trace = json.loads(trace_path("user_0002", reload_settings()).read_text())
    [fallback] = [entry for entry in trace["video_generation_log"] if entry["event"] == "fallback"]
    assert fallback["fallback_kind"] == "budget" and fallback["error"].startswith("budget:")
    from worker.cli import main

    assert main(["status"]) == 0
    assert f"spend today: ${PRICE:.2f} of ${PRICE:.2f} cap; 1 paid video(s)" in capsys.readouterr().out


def test_a_reused_video_costs_nothing(capped, fake, celery_worker):
    first = enqueue_one("user_0001", 73.0)
    assert wait_for_terminal(first) == "completed"
    again = enqueue_one("user_0002", 73.0)  # the same figures: the finished video is attached at once
    job = load_job(again)
    assert (job.status, job.reused_from_job_id, job.estimated_cost_usd) == ("completed", first, 0.0)
    assert fake.jobs_created == 1 and spend(capped).reused_today == 1
    assert spend(capped).today_usd == pytest.approx(PRICE)
    assert load_job(first).remote_model == MODEL
