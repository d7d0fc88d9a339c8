"""A request never seen before, written in one statement: the engine's hot path.

`INSERT … SELECT … WHERE NOT EXISTS (finished twin) ON CONFLICT DO NOTHING` writes the new
`queued` job and, on PostgreSQL, its `queued` event (`recorder.QUEUED_EVENT`) in the same round
trip, without BEGIN or COMMIT; SQLite takes a short transaction. Every other write of job state is
`worker.jobs.recorder`'s.
"""

from __future__ import annotations

import typing
from functools import lru_cache
from typing import Any

from sqlalchemy import Insert, Table, bindparam, cast, exists, func, literal, select
from sqlalchemy import insert as sql_insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from worker.db.models import VideoJob, VideoJobEvent
from worker.db.session import autocommit_session, get_engine, session_scope
from worker.jobs.recorder import QUEUED_EVENT
from worker.jobs.reuse import REUSABLE


def insert_if_new(values: dict[str, Any]) -> int | None:
    """Write the job and its `queued` event unless this request's job or a finished twin exists.

    On PostgreSQL that is one statement, sent on its own (one round trip, no BEGIN or COMMIT);
    SQLite takes a short transaction. Returns None when nothing was written, else how many other
    jobs the user has.
    """
    if get_engine().dialect.name == "postgresql":
        with autocommit_session() as session:
            return insert(session, values)
    with session_scope() as session:
        return insert(session, values)


def insert(session: Session, values: dict[str, Any]) -> int | None:
    dialect = session.get_bind().dialect.name
    statement, with_event = _statement(dialect, tuple(values))
    row = session.execute(statement, values).first()
    if row is None:
        return None
    if with_event:
        return row.earlier_jobs
    session.execute(
        sql_insert(typing.cast(Table, VideoJobEvent.__table__)),
        {**QUEUED_EVENT, "job_id": values["id"], "created_at": values["created_at"]},
    )
    earlier_jobs = session.scalar(select(func.count()).where(VideoJob.user_id == values["user_id"]))
    assert earlier_jobs is not None  # count() always answers one row
    return earlier_jobs - 1


@lru_cache(maxsize=4)
def _statement(dialect: str, columns: tuple[str, ...]) -> tuple[Insert, bool]:
    """`INSERT … SELECT … WHERE NOT EXISTS (twin) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`.

    The same request already queued, or an identical video already made, inserts nothing (and
    the caller takes the slower path). On PostgreSQL a writable CTE adds the `queued` event in
    the same statement and counts the user's earlier jobs (the second value returned is True);
    SQLite has none, so the caller does both in the same transaction. Built once per process:
    only the parameters change.
    """
    # Declared as FromClause by DeclarativeBase; a declarative class's __table__ is always a Table.
    jobs, events = typing.cast(Table, VideoJob.__table__), typing.cast(Table, VideoJobEvent.__table__)
    on_postgresql = dialect == "postgresql"

    def param(column):  # PostgreSQL infers no type for a bare parameter in a SELECT list
        bound = bindparam(column.name, type_=column.type)
        return cast(bound, column.type) if on_postgresql else bound

    no_twin = ~exists().where(jobs.c.prompt_hash == bindparam("prompt_hash"), REUSABLE)
    new_job = (
        (postgresql.insert if on_postgresql else sqlite.insert)(jobs)
        .from_select(list(columns), select(*(param(jobs.c[name]) for name in columns)).where(no_twin))
        .on_conflict_do_nothing(index_elements=[jobs.c.idempotency_key])
        .returning(jobs.c.id)
    )
    if not on_postgresql:
        return new_job, False
    inserted = new_job.cte("new_job")
    # Sees the table as it was before this statement, so the new job is not counted.
    earlier_jobs = select(func.count()).where(jobs.c.user_id == bindparam("user_id")).scalar_subquery()
    event_values = [literal(value, events.c[name].type) for name, value in QUEUED_EVENT.items()]
    with_event = (
        sql_insert(events)
        .from_select(
            ["job_id", *QUEUED_EVENT, "created_at"],
            select(inserted.c.id, *event_values, cast(bindparam("created_at"), events.c.created_at.type)),
        )
        .returning(events.c.job_id, earlier_jobs.label("earlier_jobs"))
        .add_cte(inserted)
    )
    return with_event, True
