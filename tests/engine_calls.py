"""What the real engine hands the hooks, from the shipped SpendSense traces, and what reached the broker."""

from __future__ import annotations

import json
from functools import lru_cache

import pyarrow.parquet as pq

from tests.conftest import SHARED_DIR
from worker.celery_app import app

TRACE_FILES = [SHARED_DIR / "traces" / f"{user}.json" for user in ("user_0001", "user_0003", "user_0034")]


@lru_cache(maxsize=1)
def signals_by_user() -> dict[str, dict]:
    """Each user's row of the shipped signals.parquet."""
    return {row["user_id"]: row for row in pq.read_table(SHARED_DIR / "signals.parquet").to_pylist()}


def engine_call(trace_file, signals=None):
    """The arguments the real engine has when it calls enqueue_videos for this user."""
    signals = signals or signals_by_user()
    trace = json.loads(trace_file.read_text())
    user_id = trace["user_id"]
    recs = trace["recommendations"]["recommendations"]
    return trace, user_id, trace["persona_assignment"]["persona"], recs, {"signals": signals[user_id]}


def published_messages() -> list:
    """Take every message off the test broker's `celery` queue."""
    messages = []
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        while (message := channel.basic_get("celery", no_ack=True)) is not None:
            messages.append(message)
    return messages
