"""The `video_jobs` table, its event log, and the job status enum.

A job moves through these states::

    (new) ──► queued ──► running ──► completed
      │        │  ▲          │
      │        │  │          ├──► queued     (a transient error, a lost pool process, storage could not
      │        │  │          │                keep the video, or a remote job still rendering)
      │        │  │          └──► failed     (a permanent error, no tier produced anything, retries
      │        │  │                           or storage waits exhausted)
      │        │  └── failed, or completed on the poster tier (re-queued by the engine or an operator)
      │        └──► failed   (the broker refused the message, or lost it VIDEO_MAX_ENQUEUES times)
      └──► completed         (created finished: an identical video already existed, `reused`)

Every row and every change, `queued` rows included, is written through
`worker.jobs.recorder`, and each appends one `video_job_events` row named by
`JobEvent`: the log the trace is built from. A job never leaves `completed`,
except a degraded one (a poster, no video) taken back up.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class JobStatus(enum.StrEnum):
    """Where a job is. `NOT_FOUND` is only ever returned by readers, never stored."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    NOT_FOUND = "not_found"


class JobEvent(enum.StrEnum):
    """What happened to a job: the `event` of a `video_job_events` row."""

    QUEUED = "queued"  # the engine asked for the video
    REUSED = "reused"  # created completed: an identical finished video existed
    ENQUEUE_FAILED = "enqueue_failed"  # the broker refused the job's message
    REQUEUED = "requeued"  # a failed or degraded job was asked for again
    REENQUEUED = "reenqueued"  # the reconciler re-sent a lost message
    STARTED = "started"  # a worker claimed the job
    RETRYING = "retrying"  # a temporary error; Celery delivers it again
    WORKER_LOST = "worker_lost"  # the attempt's pool process died
    STORAGE_UNAVAILABLE = "storage_unavailable"  # made, but storage could not keep it; waits
    FALLBACK = "fallback"  # the job moved down the fallback chain
    SUBMITTING = "submitting"  # the intent to create a paid remote job is committed
    SUBMITTED = "submitted"  # the server's job id is known (created, or found after a crash)
    CREATE_UNCONFIRMED = "create_unconfirmed"  # a create of unknown outcome is not listed yet
    WAITING_FOR_TWIN = "waiting_for_twin"  # an identical job is making this video
    REMOTE_FORGOTTEN = "remote_forgotten"  # the server lost a job it had acknowledged
    CIRCUIT_OPENED = "circuit_opened"  # this job found the endpoint or model gone
    REMOTE_QUEUED = "remote_queued"  # the remote job's status changed (one event per change)
    REMOTE_IN_PROGRESS = "remote_in_progress"
    REMOTE_COMPLETED = "remote_completed"
    REMOTE_FAILED = "remote_failed"
    COMPLETED = "completed"
    FAILED = "failed"

    @classmethod
    def remote(cls, remote_status: str) -> JobEvent:
        """The event for a remote status (the protocol's four; anything else counts as failed)."""
        try:
            return cls(f"remote_{remote_status}")
        except ValueError:
            return cls.REMOTE_FAILED


class SubmissionOutcome(enum.StrEnum):
    """How a paid submission's outcome was learned (`video_remote_submissions.confirmed_by`).

    No value (NULL) means the outcome is unknown: counted as paid, and looked up, never re-created blindly.
    """

    CREATED = "created"  # the create answered: paid
    FOUND = "found"  # looked up on the server after a crash: paid
    REJECTED = "rejected"  # refused with a verdict: free
    UNSENT = "unsent"  # certainly never reached the server: free


TERMINAL_STATES = (JobStatus.COMPLETED, JobStatus.FAILED)
#: The stored status of a job that is not finished.
LIVE_STATUSES = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
#: The last tier of the fallback chain: a poster, no video. A job completed on it is *degraded*:
#: never reused for another request, reported to the engine as `degraded`, and taken back up by
#: `retry` or a new request for it.
POSTER_TIER = "poster"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC timestamps on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use worker.db.models.utcnow()")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class VideoJob(Base):
    """One video for one recommendation of one user."""

    __tablename__ = "video_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: sha256(user, topic, prompt_hash): the same request twice is the same job (unique).
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    persona: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(64))
    template_id: Mapped[str] = mapped_column(String(128))
    template_version: Mapped[str] = mapped_column(String(32))
    prompt_hash: Mapped[str] = mapped_column(String(64), index=True)
    prompt: Mapped[str] = mapped_column(Text)
    #: What the video shows: figures (with the card's mask, balance, limit and currency when known), the
    #: disclaimer, and `card_note` when a card was dropped. Never names, never task arguments.
    input: Mapped[dict[str, Any]] = mapped_column(JSON)

    status: Mapped[str] = mapped_column(String(16), index=True, default=JobStatus.QUEUED.value)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    enqueue_count: Mapped[int] = mapped_column(Integer, default=0)
    #: A running job whose lease has expired may be claimed again (its worker died).
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    wait_seconds: Mapped[float | None] = mapped_column(Float)
    generation_time_seconds: Mapped[float | None] = mapped_column(Float)

    provider: Mapped[str | None] = mapped_column(String(32))
    renderer_version: Mapped[str | None] = mapped_column(String(64))
    fallback_used: Mapped[bool] = mapped_column(Boolean, default=False)
    fallback_tier: Mapped[str | None] = mapped_column(String(32))
    reused_from_job_id: Mapped[str | None] = mapped_column(String(36))
    #: The twin making this job's video remotely, while this job waits for it (`worker.remote.twins`).
    #: Like a remote id, it makes each delivery a check, not an attempt.
    twin_job_id: Mapped[str | None] = mapped_column(String(36))

    video_url: Mapped[str | None] = mapped_column(Text)
    poster_url: Mapped[str | None] = mapped_column(Text)
    #: WebVTT captions of the video, stored beside it.
    captions_url: Mapped[str | None] = mapped_column(Text)
    #: Object keys in the store (`ab/abcd….mp4`); URLs are minted from these when a trace is written.
    #: The *_url columns hold a URL only when it never expires (file:// or VIDEO_PUBLIC_BASE_URL).
    video_key: Mapped[str | None] = mapped_column(String(128))
    poster_key: Mapped[str | None] = mapped_column(String(128))
    captions_key: Mapped[str | None] = mapped_column(String(128))
    #: One paragraph telling the whole video (a text alternative for screen readers).
    description: Mapped[str | None] = mapped_column(Text)
    video_sha256: Mapped[str | None] = mapped_column(String(64))
    file_size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    fps: Mapped[float | None] = mapped_column(Float)
    codec: Mapped[str | None] = mapped_column(String(32))

    error_type: Mapped[str | None] = mapped_column(String(128))
    error_message: Mapped[str | None] = mapped_column(Text)

    #: Remote generation (VIDEO_PROVIDER=openai): the server's job and what was asked of it.
    #: Any length: gateways wrap the upstream id (LiteLLM's proxy makes it 234 characters).
    remote_id: Mapped[str | None] = mapped_column(Text)
    remote_status: Mapped[str | None] = mapped_column(String(16))
    remote_model: Mapped[str | None] = mapped_column(String(128))
    remote_size: Mapped[str | None] = mapped_column(String(16))
    remote_seconds: Mapped[int | None] = mapped_column(Integer)
    poll_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    poll_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: None means unknown (a price was not configured), never "free".
    estimated_cost_usd: Mapped[float | None] = mapped_column(Float)
    fallback_reason: Mapped[str | None] = mapped_column(Text)

    events: Mapped[list[VideoJobEvent]] = relationship(
        back_populates="job", order_by="VideoJobEvent.id", cascade="all, delete-orphan"
    )

    @property
    def is_complete(self) -> bool:
        return self.status in {state.value for state in TERMINAL_STATES}

    @property
    def is_degraded(self) -> bool:
        """Completed, but with a poster instead of a video."""
        return self.status == JobStatus.COMPLETED.value and self.fallback_tier == POSTER_TIER

    @property
    def resolution(self) -> str | None:
        return f"{self.width}x{self.height}" if self.width and self.height else None


class VideoJobEvent(Base):
    """An append-only record of one state change; the trace log is built from these."""

    __tablename__ = "video_job_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("video_jobs.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: What happened: a `JobEvent`.
    event: Mapped[str] = mapped_column(String(32))
    #: The job's status after this event.
    status: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    error_type: Mapped[str | None] = mapped_column(String(128))
    error_message: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    job: Mapped[VideoJob] = relationship(back_populates="events")


class VideoRemoteSubmission(Base):
    """The paid-submission ledger: one row per create call we intend to make.

    The row is committed *before* the create request is sent, under a unique
    idempotency key that is also sent to the server. A row with no `remote_id`
    means the outcome is unknown: recovery looks the job up on the server
    instead of creating it again.
    """

    __tablename__ = "video_remote_submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("video_jobs.id", ondelete="CASCADE"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    base_url: Mapped[str] = mapped_column(String(512))
    model: Mapped[str] = mapped_column(String(128))
    intent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    #: Reserved when the intent is recorded (seconds asked × price), then the seconds the server
    #: reports × price. Counts against the spending caps unless the create was certainly never sent.
    cost_usd: Mapped[float | None] = mapped_column(Float)
    #: Any length: gateways wrap the upstream id (LiteLLM's proxy makes it 234 characters).
    remote_id: Mapped[str | None] = mapped_column(Text)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: How the outcome was learned: a `SubmissionOutcome`; None while it is unknown (counted as paid).
    confirmed_by: Mapped[str | None] = mapped_column(String(16))


class ProviderCircuitBreaker(Base):
    """An endpoint + model that answered "gone"; jobs skip it until `open_until`."""

    __tablename__ = "provider_circuit_breakers"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    base_url: Mapped[str] = mapped_column(String(512))
    model: Mapped[str] = mapped_column(String(128))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    open_until: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)
