"""Keep Celery's per-message log lines from turning one rendering video into a stream of "successes".

A remote job is checked by the task re-publishing itself with a countdown, so
Celery would log "received" and "succeeded: 'polling'" every few seconds for as
long as the server renders. Those two lines are dropped for countdown deliveries
and for the `polling`/`deferred` returns; the task itself logs one line per
remote state change ("the remote video is in progress", "… completed").
"""

from __future__ import annotations

import logging

#: What generate_video returns when it only checked and will check again (as Celery logs it: repr).
QUIET_RETURNS = frozenset({"'polling'", "'deferred'"})
#: The Celery loggers that write one line per message.
PER_MESSAGE_LOGGERS = ("celery.worker.strategy", "celery.app.trace")


class QuietPolls(logging.Filter):
    def __init__(self, task_name: str) -> None:
        super().__init__()
        self.task_name = task_name

    def filter(self, record: logging.LogRecord) -> bool:
        data = getattr(record, "data", None)
        if not isinstance(data, dict) or data.get("name") != self.task_name:
            return True
        if "return_value" in data:  # "succeeded in …: 'polling'"
            return data["return_value"] not in QUIET_RETURNS
        if "eta" in data:  # "received": a countdown delivery is a check (or a retry, which logs its own line)
            return data["eta"] is None
        return True


def install(task_name: str) -> None:
    """Idempotent: the filter is added once per logger."""
    for name in PER_MESSAGE_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, QuietPolls) for existing in logger.filters):
            logger.addFilter(QuietPolls(task_name))
