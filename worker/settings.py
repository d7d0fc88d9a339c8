"""The one place configuration is read.

Every setting comes from an environment variable (or a `.env` file in the working
directory) and is validated when it is first loaded, so a bad value stops the
worker at start-up instead of failing a job an hour later. Relative paths are
resolved against the working directory once, so the engine and a worker started
from the same directory always agree on where the database and files are.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from worker.setting_errors import describe, masked_url
from worker.settings_remote import RemoteProviderSettings

#: Where the embedded default keeps its SQLite files when nothing else is configured.
DEFAULT_DATA_DIR = Path("data")
#: What `VIDEO_PROVIDER` may name: the first tier of the fallback chain (`worker.providers` holds
#: each one's factory; the poster is a fallback tier only, never a provider to choose).
ProviderName = Literal["local", "openai"]
#: The providers that call a paid remote service: they need the VIDEO_API_* settings.
REMOTE_PROVIDERS = frozenset({"openai"})
#: Brokers Celery can reach without extra plugins; anything else is a typo.
KNOWN_BROKER_SCHEMES = ("sqla+sqlite", "sqla+postgresql", "redis", "rediss", "amqp", "pyamqp", "memory", "filesystem")


class SettingsError(RuntimeError):
    """Configuration is missing or invalid; the message says which variable to fix."""


class Settings(RemoteProviderSettings):
    """Typed view of the environment. Field docs double as the README's table."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("DATABASE_URL"),
        description="SQLAlchemy URL of the video_jobs database (default: SQLite file data/video_jobs.sqlite).",
    )
    celery_broker_url: str = Field(
        default="",
        validation_alias=AliasChoices("CELERY_BROKER_URL"),
        description="Broker URL (default: embedded SQLite broker data/broker.sqlite; redis://... for production).",
    )
    video_generation_enabled: bool = Field(
        default=False,
        validation_alias=AliasChoices("VIDEO_GENERATION_ENABLED", "SORA_ENABLED"),
        description="Feature flag: false makes the engine hooks a no-op (SORA_ENABLED is honoured too).",
    )
    video_provider: ProviderName = Field(
        default="local",
        validation_alias=AliasChoices("VIDEO_PROVIDER"),
        description="Which provider makes videos: `local` (embedded renderer) or `openai` (a Videos API server).",
    )
    video_storage_dir: Path = Field(
        default=DEFAULT_DATA_DIR / "videos",
        validation_alias=AliasChoices("VIDEO_STORAGE_DIR"),
        description="Directory where finished videos and posters are stored, content-addressed.",
    )
    video_storage_url: str = Field(
        default="",
        validation_alias=AliasChoices("VIDEO_STORAGE_URL"),
        description="Object store for finished files: empty keeps them in VIDEO_STORAGE_DIR; s3://bucket/prefix "
        "uses any S3-compatible store (credentials and AWS_ENDPOINT_URL from the AWS variables).",
    )
    video_public_base_url: str = Field(
        default="",
        validation_alias=AliasChoices("VIDEO_PUBLIC_BASE_URL"),
        description="URL prefix that serves stored objects by key (a CDN, a bucket website, or "
        "`spendsense-video serve`); empty gives presigned URLs on S3 and file:// URLs otherwise.",
    )
    video_s3_presign_endpoint_url: str = Field(
        default="",
        validation_alias=AliasChoices("VIDEO_S3_PRESIGN_ENDPOINT_URL"),
        description="The object store's address as viewers reach it, when workers use an internal one "
        "(AWS_ENDPOINT_URL=http://minio:9000); presigned URLs are signed for this host.",
    )
    video_url_ttl_s: int = Field(
        default=604_800,
        ge=1,
        le=604_800,
        validation_alias=AliasChoices("VIDEO_URL_TTL_S"),
        description="How long a presigned URL works (at most 7 days, S3's own limit).",
    )
    video_cors_origins: str = Field(
        default="",
        validation_alias=AliasChoices("VIDEO_CORS_ORIGINS"),
        description="Comma-separated origins `serve` allows to fetch videos from a page (CORS).",
    )
    video_preview_auth: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("VIDEO_PREVIEW_AUTH"),
        description="user:password for the preview page of `serve`; without it the page refuses everyone.",
    )
    trace_dir: Path = Field(
        default=Path("docs/traces"),
        validation_alias=AliasChoices("TRACE_DIR"),
        description="Directory of the engine's per-user trace JSON files, updated when jobs finish.",
    )
    hook_budget_ms: float = Field(
        default=50.0,
        gt=0,
        le=10_000,
        validation_alias=AliasChoices("VIDEO_HOOK_BUDGET_MS"),
        description="Longest the engine's hooks wait on the database, the broker or a trace lock per call.",
    )
    hook_backoff_s: float = Field(
        default=30.0,
        ge=0,
        validation_alias=AliasChoices("VIDEO_HOOK_BACKOFF_S"),
        description="After a failure or an overrun, the hooks skip that service for this long (per engine process).",
    )
    broker_connect_timeout_s: float = Field(
        default=30.0,
        gt=0,
        validation_alias=AliasChoices("VIDEO_BROKER_CONNECT_TIMEOUT_S"),
        description="A worker that cannot reach the broker for this long at start-up stops (unless --wait-for-broker).",
    )
    task_time_limit_s: int = Field(
        default=600,
        ge=10,
        validation_alias=AliasChoices("VIDEO_TASK_TIME_LIMIT_S"),
        description="Hard limit for one run of generate_video (a soft limit fires shortly before).",
    )
    lease_s: int = Field(
        default=30,
        ge=3,
        validation_alias=AliasChoices("VIDEO_LEASE_S"),
        description="How long a worker's claim on a job lasts unless renewed; a live worker renews it every "
        "third of that, so a dead worker's jobs are free again within this long.",
    )
    # -- the reconciler (run by beat) ------------------------------------------------------------
    reconcile_interval_s: int = Field(
        default=60,
        ge=1,
        validation_alias=AliasChoices("VIDEO_RECONCILE_INTERVAL_S"),
        description="How often beat runs the reconciler.",
    )
    stuck_after_s: int = Field(
        default=300,
        ge=1,
        validation_alias=AliasChoices("VIDEO_STUCK_AFTER_S"),
        description="A queued job untouched this long (beyond what the broker queue still holds) gets its "
        "message re-sent; a running job, as soon as its lease has ended.",
    )
    max_enqueues: int = Field(
        default=6,
        ge=1,
        validation_alias=AliasChoices("VIDEO_MAX_ENQUEUES"),
        description="Messages sent for one job (first one included) before a job that keeps losing them fails.",
    )
    degraded_retry_after_s: int = Field(
        default=1800,
        ge=1,
        validation_alias=AliasChoices("VIDEO_DEGRADED_RETRY_AFTER_S"),
        description="A job that ended with only a poster (degraded) is taken back up this long after it "
        "finished, twice as long after each further try.",
    )
    degraded_retries: int = Field(
        default=3,
        ge=0,
        validation_alias=AliasChoices("VIDEO_DEGRADED_RETRIES"),
        description="How many times the reconciler takes a degraded job back up (0: only by `retry`).",
    )

    @field_validator("video_provider", mode="before")
    @classmethod
    def _known_provider(cls, value: object) -> object:
        names = get_args(ProviderName)
        value = value.strip().lower() if isinstance(value, str) else value
        if value not in names:
            raise ValueError(f"unknown provider {value!r}; choose one of {', '.join(names)}")
        return value

    @field_validator("video_storage_url")
    @classmethod
    def _storage_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and (not value.startswith("s3://") or not value.removeprefix("s3://").split("/")[0]):
            raise ValueError("must be empty (files in VIDEO_STORAGE_DIR) or s3://bucket[/prefix]")
        return value

    @field_validator("video_public_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _resolve_defaults(self) -> Settings:
        self.video_storage_dir = self.video_storage_dir.expanduser().resolve()
        self.trace_dir = self.trace_dir.expanduser().resolve()
        if not self.database_url:
            self.database_url = _sqlite_url(DEFAULT_DATA_DIR / "video_jobs.sqlite")
        for short in ("postgres://", "postgresql://"):  # Heroku's form; psycopg 3 is our driver
            if self.database_url.startswith(short):
                self.database_url = "postgresql+psycopg://" + self.database_url.removeprefix(short)
        if not self.celery_broker_url:
            self.celery_broker_url = "sqla+" + _sqlite_url(DEFAULT_DATA_DIR / "broker.sqlite")
        try:
            make_url(self.database_url)
        except Exception as exc:
            raise ValueError(f"DATABASE_URL is not a SQLAlchemy URL: {exc}") from None
        scheme = self.celery_broker_url.split("://", 1)[0]
        if scheme not in KNOWN_BROKER_SCHEMES:
            raise ValueError(
                f"CELERY_BROKER_URL={masked_url(self.celery_broker_url)!r} has the scheme {scheme!r}: "
                f"use one of {', '.join(KNOWN_BROKER_SCHEMES)}"
            )
        if self.uses_remote_provider:
            self.check_remote()
            if self.video_api_timeout_s * 3 >= self.task_time_limit_s:
                raise ValueError("VIDEO_API_TIMEOUT_S must be under a third of VIDEO_TASK_TIME_LIMIT_S")
        capped = self.video_budget_usd_per_day or self.video_budget_usd_per_month
        if capped and self.video_cost_per_second_usd is None:
            raise ValueError(
                "a VIDEO_BUDGET_USD_PER_* cap needs VIDEO_COST_PER_SECOND_USD: without a price "
                "the spend cannot be measured, so the cap could not hold"
            )
        return self

    @property
    def uses_remote_provider(self) -> bool:
        """Whether the first tier is a paid remote service (decided here only)."""
        return self.video_provider in REMOTE_PROVIDERS

    @property
    def uses_embedded_broker(self) -> bool:
        return self.celery_broker_url.startswith("sqla+sqlite")


class _FeatureFlag(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    enabled: bool = Field(default=False, validation_alias=AliasChoices("VIDEO_GENERATION_ENABLED", "SORA_ENABLED"))


def feature_enabled() -> bool:
    """The feature flag; off means off even when other settings are broken (then only the flag is read)."""
    try:
        return get_settings().video_generation_enabled
    except SettingsError:
        pass
    try:
        return _FeatureFlag().enabled
    except ValidationError:
        return True  # an unreadable flag: let the full settings explain the error


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.expanduser().resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Load and validate settings once per process.

    Raises:
        SettingsError: a variable is invalid; the message names it.
    """
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(f"invalid video worker configuration: {describe(exc)}") from None


def reload_settings() -> Settings:
    """Forget the cached settings (tests and the demo change the environment)."""
    get_settings.cache_clear()
    return get_settings()
