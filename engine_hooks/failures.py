"""What a failed hook call means: a stable code for the engine, and a log line without driver text.

The engine sees `<code>: <sentence>` (`engine_hooks.outcomes`); the operator's log
sees the kind of failure, never a driver's message (it can carry hosts, ports,
database names and values). Classifying a failure also trips the breaker of the
service that failed, so the next calls skip it (`engine_hooks.budget`).
"""

from __future__ import annotations

from engine_hooks.budget import BROKER, DATABASE, ServiceUnavailable, trip
from worker.settings import SettingsError


def failure_code(exc: BaseException, backoff_s: float) -> tuple[str, str | None]:
    """The engine-facing code for a failed call (tripping the sick service), and a job id if one exists."""
    from sqlalchemy.exc import SQLAlchemyError

    from engine_hooks.enqueue import PublishError
    from worker.db.schema import SchemaNotCurrentError

    if isinstance(exc, ServiceUnavailable):
        return f"{exc.service}_unavailable", exc.job_id
    if isinstance(exc, SchemaNotCurrentError):
        return "schema_outdated", None
    if isinstance(exc, PublishError):
        trip(BROKER, backoff_s)
        return "broker_unavailable", exc.job_id
    if isinstance(exc, SQLAlchemyError):
        trip(DATABASE, backoff_s)
    return "database_unavailable", None


def describe(exc: BaseException) -> str:
    """For the operator's log: the kind of failure, never a driver's text (it can carry hosts and values)."""
    from worker.db.schema import SchemaNotCurrentError

    if isinstance(exc, ServiceUnavailable):
        return f"the {exc.service} {exc.reason}"
    if isinstance(exc, (SchemaNotCurrentError, SettingsError)):
        return str(exc)
    return type(exc).__name__
