"""The only ways anything sends or looks for `generate_video` messages. The message is the job id."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from datetime import datetime

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
    """Open (and keep, in the producer pool) a broker connection and declare the queue on it, after
    loading what the first publish loads: that publish then pays nothing extra."""
    from worker.celery_app import app

    prepare_publishing()
    with app.producer_or_acquire() as producer:
        producer.connection.ensure_connection(max_retries=1)
        producer.maybe_declare(app.amqp.queues[QUEUE_NAME])  # remembered per connection by kombu


def prepare_publishing() -> None:
    """Load the code a first publish loads, without talking to the broker: the broker's transport,
    one message built and not sent, and the (disabled) result backend, which send_task loads on
    first use (~13 ms of entry points)."""
    from worker.celery_app import app

    _ = app.connection_for_write().transport
    app.amqp.create_task_message("warm-up", TASK_NAME, ["warm-up"], {})
    _ = app.backend


#: Messages read per broker round trip when looking for job ids.
PAGE_SIZE = 1_000


def job_ids_with_messages(stale_after_s: float = 300, page_size: int = PAGE_SIZE) -> frozenset[str] | None:
    """The ids of the jobs that have a live message in the broker: waiting in the queue, or
    delivered to a worker and not yet acknowledged.

    Exact, read in pages. On Redis: the queue's lists, then the `unacked` hash (a message moves
    from the first to the second, so it is seen in one of them). A delivered message counts only
    while a live worker can still be holding it: delivered less than `stale_after_s` ago, or
    due (its countdown's ETA) less than that ago. Workers take one message per free process and
    run it at once, so an older one is held by a worker that died; Redis would hand it back only
    after the visibility timeout (an hour). On the embedded SQLite broker: the queue's visible
    rows (that transport forgets a message once a worker takes it). None for brokers that
    cannot be read this way (RabbitMQ, memory): then nothing should guess.
    """
    from worker.celery_app import app

    with app.connection_for_read() as connection:
        channel = connection.default_channel
        driver = connection.transport.driver_type
        if driver == "redis":
            payloads = _redis_payloads(channel, page_size, time.time() - stale_after_s)
        elif driver == "sql":
            payloads = _sqlalchemy_payloads(channel, page_size)
        else:
            return None
        return frozenset(_job_ids(payloads))


def _redis_payloads(channel, page_size: int, live_since: float) -> Iterator[str]:
    client = channel.client
    for priority in channel.priority_steps:
        key = channel._q_for_pri(QUEUE_NAME, priority)
        for start in range(0, client.llen(key), page_size):
            yield from client.lrange(key, start, start + page_size - 1)
    delivered = dict(client.zscan_iter(channel.unacked_index_key, count=page_size))  # tag -> delivery time
    for tag, value in client.hscan_iter(channel.unacked_key, count=page_size):
        envelope = json.loads(value)  # [message, exchange, routing key]
        message = envelope[0] if isinstance(envelope, list) and envelope else {}
        if max(delivered.get(tag, 0.0), _eta(message)) >= live_since:
            yield json.dumps(message)


def _eta(message: dict) -> float:
    """When a countdown message is due (epoch seconds), 0 when it has none."""
    eta = (message.get("headers") or {}).get("eta") if isinstance(message, dict) else None
    try:
        return datetime.fromisoformat(eta).timestamp() if eta else 0.0
    except (TypeError, ValueError):
        return 0.0


def _sqlalchemy_payloads(channel, page_size: int) -> Iterator[str]:
    messages, queues = channel.message_cls, channel.queue_cls
    session = channel.session
    query = (
        session.query(messages.id, messages.payload)
        .join(queues, messages.queue_id == queues.id)
        .filter(queues.name == QUEUE_NAME, messages.visible.is_(True))
        .order_by(messages.id)
    )
    last_id = 0
    try:
        while page := query.filter(messages.id > last_id).limit(page_size).all():
            last_id = page[-1][0]
            yield from (payload for _, payload in page)
    finally:
        session.rollback()  # end the read: the channel's session lives on


def _job_ids(payloads: Iterable[str | bytes]) -> Iterator[str]:
    """The task id (our job id) in each kombu message envelope, for generate_video messages."""
    for payload in payloads:
        try:
            headers = json.loads(payload).get("headers") or {}
        except (ValueError, AttributeError):
            continue
        if headers.get("task") == TASK_NAME and isinstance(headers.get("id"), str):
            yield headers["id"]
