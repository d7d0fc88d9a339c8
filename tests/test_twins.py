"""Identical content in flight is generated once: a job whose twin is being made waits for it and shares it.

The 200-job run on two worker processes is in tests/test_topology_spending.py.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.factories import events, load_job, queued_job
from tests.helpers import enqueue_one, wait_for_terminal
from tests.test_spending import PRICED
from worker.db.models import JobStatus, SubmissionOutcome
from worker.db.session import session_scope
from worker.jobs.recorder import record_fallback
from worker.providers.base import SharedVideo
from worker.remote import ledger
from worker.remote.api import RemoteVideo
from worker.remote.twins import TwinInFlight
from worker.settings import get_settings


@pytest.fixture
def remote(configured, remote_env):
    remote_env(**PRICED)
    return get_settings()


def twins(count: int, utilization: float = 73.0) -> list[str]:
    """Jobs of different users with the same figures: the same prompt hash."""
    return [queued_job(f"user_{n:04d}", utilization) for n in range(count)]


def test_of_twins_racing_to_submit_exactly_one_records_an_intent(remote):
    jobs = twins(12)
    hash_ = load_job(jobs[0]).prompt_hash
    assert {load_job(job_id).prompt_hash for job_id in jobs} == {hash_}
    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(lambda job_id: ledger.record_intent(job_id, hash_, remote, 1), jobs))
    submitted = [job_id for job_id, outcome in zip(jobs, outcomes) if not isinstance(outcome, TwinInFlight)]
    assert len(submitted) == 1
    assert {outcome.job_id for outcome in outcomes if isinstance(outcome, TwinInFlight)} == set(submitted)


def test_a_twin_that_fails_hands_the_video_to_a_waiting_job(remote):
    first, second = twins(2)
    hash_ = load_job(first).prompt_hash
    ledger.record_intent(first, hash_, remote, 1)
    assert ledger.record_intent(second, hash_, remote, 1) == TwinInFlight(first)
    with session_scope() as session:
        session.get_one(ledger.VideoJob, first).status = JobStatus.FAILED.value
    taken_over = ledger.record_intent(second, hash_, remote, 1)
    assert not isinstance(taken_over, TwinInFlight) and taken_over.idempotency_key == f"{second}:1"


def test_identical_jobs_queued_together_make_one_paid_video(remote, fake, celery_worker):
    fake.latency_s = 2.0  # the twins arrive while the first is still rendering
    jobs = [enqueue_one(f"user_{n:04d}", 73.0) for n in range(3)]
    assert [wait_for_terminal(job_id) for job_id in jobs] == ["completed"] * 3
    assert fake.jobs_created == 1
    rows = [load_job(job_id) for job_id in jobs]
    [maker] = [row for row in rows if row.remote_id is not None]
    for row in rows:
        assert row.video_key == maker.video_key and row.poster_key == maker.poster_key
        if row is not maker:
            assert (row.reused_from_job_id, row.estimated_cost_usd, row.fallback_used) == (maker.id, 0.0, False)
            names = [name for name, _ in events(row.id)]
            assert "waiting_for_twin" in names and "submitting" not in names
            assert row.attempt == 1, "a look at the twin is a check, not an attempt"


def test_when_the_twin_fails_remotely_a_waiting_job_takes_over_and_pays_once_more(remote, fake, celery_worker):
    fake.latency_s = 2.0
    fake.failing_prompts = {"73%": {"code": "moderation_blocked", "message": "blocked"}}
    jobs = [enqueue_one(f"user_{n:04d}", 73.0) for n in range(2)]
    assert [wait_for_terminal(job_id) for job_id in jobs] == ["completed"] * 2
    # The server fails every render of these figures: each job paid for one try, then rendered here.
    assert fake.jobs_created == 2
    rows = [load_job(job_id) for job_id in jobs]
    assert [(row.fallback_tier, row.reused_from_job_id) for row in rows] == [("local", None)] * 2
    assert "waiting_for_twin" in [name for name, _ in events(jobs[1])]


def test_a_twin_that_finished_before_the_look_is_shared_not_paid_again(remote):
    first, second = twins(2)
    hash_ = load_job(first).prompt_hash
    ledger.record_intent(first, hash_, remote, 1)
    with session_scope() as session:  # it finished between the waiting job's two looks
        session.get_one(ledger.VideoJob, first).status = JobStatus.COMPLETED.value
    shared = ledger.record_intent(second, hash_, remote, 1)
    assert isinstance(shared, SharedVideo) and shared.donor.id == first


def test_a_twin_whose_server_job_was_forgotten_is_no_maker(remote):
    first, second = twins(2)
    hash_ = load_job(first).prompt_hash
    submission = ledger.record_intent(first, hash_, remote, 1)
    ledger.confirm(
        submission,
        RemoteVideo("video_1", "queued", 0, "m", "8", "1280x720", None, 0, None, None),
        by=SubmissionOutcome.CREATED,
        attempt=1,
        settings=remote,
    )
    assert ledger.record_intent(second, hash_, remote, 1) == TwinInFlight(first)
    ledger.forget(first, "server restarted", 1)  # it will submit again, or wait itself
    assert not isinstance(ledger.record_intent(second, hash_, remote, 1), TwinInFlight)


def test_a_waiting_job_that_falls_back_stops_waiting(remote):
    first, second = twins(2)
    hash_ = load_job(first).prompt_hash
    ledger.record_intent(first, hash_, remote, 1)
    assert ledger.record_intent(second, hash_, remote, 1) == TwinInFlight(first)
    ledger.record_twin_wait(second, first, 1)
    assert load_job(second).twin_job_id == first
    record_fallback(second, tier="local", reason="budget: …", kind="budget", attempt=1)
    assert load_job(second).twin_job_id is None, "its next deliveries are attempts again, not checks"
