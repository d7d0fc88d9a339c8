"""The Celery application: broker wiring, delivery settings and start-up checks. No task logic.

Delivery is at-least-once: messages are acknowledged after the task returns
(`task_acks_late`) and handed back if the worker process dies, one message at a
time per process. The database, not the broker, decides whether a delivered
job still needs work (see `worker.jobs.leases.claim`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from celery import Celery, signals
from kombu import Exchange, Queue

from worker import quiet_polls, startup
from worker.messages import MAINTENANCE_QUEUE, QUEUE_NAME, RECONCILE_TASK_NAME, TASK_NAME
from worker.settings import Settings, SettingsError, get_settings

log = logging.getLogger(__name__)

#: Publishing happens inside the engine's request: give up within seconds, never hang it.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.1, "interval_step": 0.2, "interval_max": 0.5}
#: Longer than any countdown we set (retry backoff 60 s, polls 30 s, lease deferrals up to the time
#: limit) and any task run: on Redis an unacknowledged message comes back after this, so a shorter
#: one would run late-acked tasks again and again. (There is no result backend: status lives in video_jobs.)
MIN_VISIBILITY_TIMEOUT_S = 3600
#: On SIGTERM a worker finishes its current tasks for this long, then hands the rest back.
SOFT_SHUTDOWN_TIMEOUT_S = 60
#: Connecting to the broker, and waiting for one answer from Redis, may take this long.
BROKER_CONNECT_TIMEOUT_S = 3
REDIS_SOCKET_TIMEOUT_S = 3
#: How long a process waits for the embedded SQLite broker's write lock.
EMBEDDED_BROKER_BUSY_TIMEOUT_S = 30
#: The soft time limit fires this long before the hard one (at most a quarter of it), so the job can record why.
SOFT_LIMIT_MARGIN_S = 30


def celery_config(settings: Settings) -> dict:
    """The whole Celery configuration, derived from validated settings."""
    config: dict[str, Any] = {
        "broker_url": settings.celery_broker_url,
        # Set for the embedded broker only (below); None falls back to broker_url and its scheme.
        "broker_read_url": None,
        "broker_write_url": None,
        "broker_transport": None,
        "broker_connection_timeout": BROKER_CONNECT_TIMEOUT_S,
        "broker_connection_retry_on_startup": True,
        "task_publish_retry_policy": PUBLISH_RETRY_POLICY,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # A pool process that dies mid-task (OOM, SIGKILL) costs one retry, counted against
        # max_retries, instead of an endless redelivery loop.
        "task_retry_on_worker_lost": True,
        "worker_soft_shutdown_timeout": SOFT_SHUTDOWN_TIMEOUT_S,
        "worker_enable_soft_shutdown_on_idle": True,
        # Video jobs on Celery's default queue; the reconciler on its own lane (see worker.messages).
        # A worker started without -Q consumes both.
        "task_default_queue": QUEUE_NAME,
        "task_queues": [
            Queue(QUEUE_NAME, Exchange(QUEUE_NAME), routing_key=QUEUE_NAME),
            Queue(MAINTENANCE_QUEUE, Exchange(MAINTENANCE_QUEUE), routing_key=MAINTENANCE_QUEUE),
        ],
        "task_routes": {RECONCILE_TASK_NAME: {"queue": MAINTENANCE_QUEUE}},
        "beat_schedule": {
            "reconcile-video-jobs": {
                "task": RECONCILE_TASK_NAME,
                "schedule": float(settings.reconcile_interval_s),
                # A pass nobody ran in time is dropped, not stacked up behind the next ones.
                "options": {"expires": float(settings.reconcile_interval_s)},
            },
        },
        "worker_prefetch_multiplier": 1,
        "task_time_limit": settings.task_time_limit_s,
        "task_soft_time_limit": settings.task_time_limit_s - min(SOFT_LIMIT_MARGIN_S, settings.task_time_limit_s // 4),
        # Workers' events feed Flower, which needs Redis or RabbitMQ. The engine sends one message per
        # job and nothing else: no task-sent event (a second publish on its hot path). Flower learns
        # of a task when a worker receives it; its Broker page shows what is still waiting.
        "task_send_sent_event": False,
        "worker_send_task_events": not settings.uses_embedded_broker,
        "worker_hijack_root_logger": False,
    }
    if settings.celery_broker_url.startswith(("redis://", "rediss://")):
        config["broker_transport_options"] = {
            "visibility_timeout": visibility_timeout_s(settings),
            "socket_connect_timeout": BROKER_CONNECT_TIMEOUT_S,
            "socket_timeout": REDIS_SOCKET_TIMEOUT_S,
        }
    if settings.uses_embedded_broker:
        from worker import embedded_broker
        from worker.db.session import SharedSQLiteConnection

        # The same SQLite file and tables, through a transport with a cheaper publish. Celery lets the
        # CELERY_BROKER_URL variable override `broker_url`, not the read and write URLs it defaults them to.
        config["broker_read_url"] = config["broker_write_url"] = settings.celery_broker_url.removeprefix(
            embedded_broker.URL_PREFIX
        )
        config["broker_transport"] = embedded_broker.TRANSPORT
        broker_file = Path(settings.celery_broker_url.removeprefix("sqla+sqlite:///"))
        broker_file.parent.mkdir(parents=True, exist_ok=True)
        # kombu's SQLAlchemy transport hands its options to create_engine().
        config["broker_transport_options"] = {
            "connect_args": {"timeout": EMBEDDED_BROKER_BUSY_TIMEOUT_S, "factory": SharedSQLiteConnection},
        }
    return config


def visibility_timeout_s(settings: Settings) -> int:
    return max(MIN_VISIBILITY_TIMEOUT_S, 3 * settings.task_time_limit_s)


def create_app() -> Celery:
    application = Celery("spendsense_video", include=["worker.tasks"])
    try:
        application.conf.update(celery_config(get_settings()))
    except SettingsError:
        pass  # importing must not fail (the engine imports this); a worker refuses at celeryd_init, in one line
    return application


app = create_app()
quiet_polls.install(TASK_NAME)
startup.install(app)


@signals.worker_process_init.connect
def _fresh_connections_after_fork(**_kwargs) -> None:
    """Pooled connections must not be shared with the parent process (which already chose pre-ping at celeryd_init).

    `close=False`, as SQLAlchemy documents for a forked child: the child forgets the inherited connections
    without closing them, since they are the parent's."""
    from worker.db.session import dispose_engines

    dispose_engines(close=False)


def reconfigure(settings: Settings) -> None:
    """Re-read broker settings after the environment changed (demo and tests), dropping old connections."""
    from kombu import pools

    app.conf.update(celery_config(settings))
    pools.reset()  # kombu keeps process-wide connection and producer pools
    app._pool = None
    app.amqp._producer_pool = None
