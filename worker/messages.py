"""The only ways anything sends or counts `generate_video` messages. The message is the job id."""

from __future__ import annotations

#: Celery's default queue: video jobs.
QUEUE_NAME = "celery"
TASK_NAME = "generate_video"
#: The reconciler's own lane: beat's passes never wait behind a backlog of video jobs. A small
#: `maintenance` worker consumes only this queue; every video worker consumes it too, as a fallback.
MAINTENANCE_QUEUE = "video-maintenance"
RECONCILE_TASK_NAME = "reconcile_video_jobs"


def publish_job(job_id: str) -> None:
    """Send generate_video(job_id); the Celery task id is the job id, so Flower shows job ids only."""
    from worker.celery_app import app

    app.send_task(TASK_NAME, args=[job_id], task_id=job_id)


def connect_broker() -> None:
    """Open (and keep, in the producer pool) a broker connection, declare the queue on it, build one
    message without sending it, and load what send_task loads: the first publish then pays nothing extra."""
    from worker.celery_app import app

    with app.producer_or_acquire() as producer:
        producer.connection.ensure_connection(max_retries=1)
        producer.maybe_declare(app.amqp.queues[QUEUE_NAME])  # remembered per connection by kombu
    app.amqp.create_task_message("warm-up", TASK_NAME, ["warm-up"], {})
    _ = app.backend  # send_task loads the (disabled) result backend on first use: ~13 ms of entry points


def queue_size() -> int:
    """Messages waiting in the broker's queue (not those already held by workers).

    Declares the queue and its binding first: after Redis restarts empty (or is flushed) the
    binding is gone too, and without it new messages would have no route.
    """
    from worker.celery_app import app

    with app.connection_for_write() as connection:
        queue = app.amqp.queues[QUEUE_NAME](connection.default_channel)
        queue.declare()
        return queue.queue_declare().message_count  # (Redis has no key for an empty queue: not passive)
