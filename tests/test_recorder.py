"""The recorder's state machine, written and read directly (no Celery involved)."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import update

from tests.factories import OUTCOME, event_names, load_job, queued_job
from worker.db.models import JobStatus, VideoJob, utcnow
from worker.db.session import session_scope
from worker.errors import InvalidVideoInput, TransientVideoError
from worker.jobs import leases, reader, recorder


def test_unknown_id_reads_as_not_found(configured):
    assert reader.get_status("no-such-job") is JobStatus.NOT_FOUND
    assert leases.claim("no-such-job", retries=0, lease_s=60) is None


def test_happy_path_records_every_step(configured):
    job_id = queued_job()
    claimed = leases.claim(job_id, retries=0, lease_s=60)
    assert claimed is not None and claimed.attempt == 1 and claimed.input["figures"]["start_utilization_pct"] == 73
    assert reader.get_status(job_id) is JobStatus.RUNNING
    assert recorder.complete(job_id, OUTCOME, attempt=1)
    job = load_job(job_id)
    assert job.status == "completed" and job.is_complete
    assert (job.video_url, job.resolution, job.duration_seconds) == ("file:///v.mp4", "1280x720", 8.0)
    assert job.wait_seconds is not None and job.finished_at >= job.started_at >= job.created_at
    assert event_names(job_id) == ["queued", "started", "completed"]


def test_a_live_claim_cannot_be_taken_twice(configured):
    for round_ in range(10):  # a race: each job is another chance to lose it
        job_id = queued_job(user_id=f"user_{round_:04d}")
        with ThreadPoolExecutor(4) as pool:
            claims = list(pool.map(lambda job: leases.claim(job, retries=0, lease_s=60), [job_id] * 4))
        assert sum(isinstance(claim, leases.ClaimedJob) for claim in claims) == 1
        held = [claim for claim in claims if not isinstance(claim, leases.ClaimedJob)]
        # A loser's wait is measured when it looks, so it never exceeds the winner's lease.
        assert all(isinstance(claim, leases.LeaseHeld) and 0 < claim.seconds_left <= 60 for claim in held)
        assert event_names(job_id).count("started") == 1


def test_an_expired_lease_can_be_claimed_again(configured):
    job_id = queued_job()
    leases.claim(job_id, retries=0, lease_s=60)
    with session_scope() as session:
        session.execute(
            update(VideoJob).where(VideoJob.id == job_id).values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    again = leases.claim(job_id, retries=0, lease_s=60)
    assert again is not None and again.attempt == 2


def test_retry_requeues_and_keeps_the_error(configured):
    job_id = queued_job()
    leases.claim(job_id, retries=0, lease_s=60)
    assert recorder.record_retry(job_id, TransientVideoError("disk busy"), attempt=1)
    job = load_job(job_id)
    assert job.status == "queued" and job.error_type == "TransientVideoError" and job.error_message == "disk busy"
    claimed = leases.claim(job_id, retries=1, lease_s=60)
    assert claimed.attempt == 2 and load_job(job_id).retry_count == 1


def test_finished_jobs_never_move(configured):
    job_id = queued_job()
    leases.claim(job_id, retries=0, lease_s=60)
    recorder.complete(job_id, OUTCOME, attempt=1)
    assert not recorder.fail(job_id, InvalidVideoInput("late"), attempt=1)
    assert not recorder.record_retry(job_id, TransientVideoError("late"), attempt=1)
    assert leases.claim(job_id, retries=0, lease_s=60) is None
    assert load_job(job_id).status == "completed"
    assert event_names(job_id) == ["queued", "started", "completed"]


def test_failure_keeps_type_and_message(configured):
    job_id = queued_job()
    leases.claim(job_id, retries=0, lease_s=60)
    assert recorder.fail(job_id, InvalidVideoInput("bad figures"), attempt=1)
    job = load_job(job_id)
    assert (job.status, job.error_type, job.error_message) == ("failed", "InvalidVideoInput", "bad figures")
    assert job.finished_at is not None


def test_guarded_writes_swallow_errors(configured, caplog):
    def broken(*_args, **_kwargs):
        raise RuntimeError("database exploded")

    assert recorder.guarded(broken, "job") is False
    assert "could not record" in caplog.text


def test_a_job_whose_workers_keep_dying_ends_failed(configured):
    job_id = queued_job()
    with session_scope() as session:
        session.execute(update(VideoJob).where(VideoJob.id == job_id).values(attempt=leases.MAX_ATTEMPTS))
    assert leases.claim(job_id, retries=0, lease_s=60) is None
    job = load_job(job_id)
    assert (job.status, job.error_type) == ("failed", "AttemptsExhausted")
    assert "worker process died" in job.error_message


def test_only_one_of_two_concurrent_requeues_wins(configured):
    job_id = queued_job()
    recorder.fail(job_id, RuntimeError("boom"), attempt=0)
    with session_scope() as session:
        assert recorder.requeue(session, job_id, "first")
    with session_scope() as session:
        assert not recorder.requeue(session, job_id, "second")
    assert event_names(job_id).count("requeued") == 1
    job = load_job(job_id)
    assert (job.attempt, job.enqueue_count) == (0, 1), "a fresh start: earlier lost messages no longer count"
