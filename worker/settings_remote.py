"""The settings of the remote provider (`VIDEO_PROVIDER=openai`): an OpenAI-compatible Videos API.

`worker.settings.Settings` includes these; they are apart only to keep each module about one thing.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings


class RemoteProviderSettings(BaseSettings):
    """The VIDEO_API_*, VIDEO_MODEL, size, timing, cost and budget settings of the remote tier."""

    video_api_base_url: str = Field(
        default="",
        validation_alias=AliasChoices("VIDEO_API_BASE_URL"),
        description="Base URL of the OpenAI-compatible server, e.g. https://litellm.internal/v1.",
    )
    video_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("VIDEO_API_KEY", "SORA_API_KEY", "OPENAI_API_KEY"),
        description="API key (falls back to SORA_API_KEY, then OPENAI_API_KEY). Never logged or stored.",
    )
    video_model: str = Field(
        default="",
        validation_alias=AliasChoices("VIDEO_MODEL"),
        description="Model name the server knows, e.g. veo-3, wan-2.2.",
    )
    video_size: str = Field(
        default="1280x720",
        pattern=r"^\d{3,4}x\d{3,4}$",
        validation_alias=AliasChoices("VIDEO_SIZE"),
        description="Requested WIDTHxHEIGHT; must be at least 1280x720.",
    )
    video_seconds: int = Field(
        default=8,
        ge=5,
        le=10,
        validation_alias=AliasChoices("VIDEO_SECONDS"),
        description="Requested clip length in seconds (5-10).",
    )
    video_api_timeout_s: float = Field(
        default=30.0,
        gt=0,
        validation_alias=AliasChoices("VIDEO_API_TIMEOUT_S"),
        description="Timeout of one HTTP request to the video server.",
    )
    video_poll_deadline_s: int = Field(
        default=1800,
        ge=10,
        validation_alias=AliasChoices("VIDEO_POLL_DEADLINE_S"),
        description="A remote job not finished this long after submission goes to the fallback.",
    )
    video_breaker_cooldown_s: int = Field(
        default=900,
        ge=1,
        validation_alias=AliasChoices("VIDEO_BREAKER_COOLDOWN_S"),
        description="How long jobs skip a removed model/endpoint before trying it again.",
    )
    video_prompt_account_details: bool = Field(
        default=False,
        validation_alias=AliasChoices("VIDEO_PROMPT_ACCOUNT_DETAILS"),
        description="Send the card's mask and amounts to the remote provider in the prompt (off: rounded "
        "percentages only). The local renderer always draws them; it runs here.",
    )
    video_cost_per_second_usd: float | None = Field(
        default=None,
        ge=0,
        validation_alias=AliasChoices("VIDEO_COST_PER_SECOND_USD"),
        description="Price per generated second, for the cost estimate and the budget caps; unset records "
        "cost as unknown.",
    )
    video_budget_usd_per_day: float | None = Field(
        default=None,
        gt=0,
        validation_alias=AliasChoices("VIDEO_BUDGET_USD_PER_DAY"),
        description="Most spent on remote videos per UTC day; a job that would go over is rendered locally.",
    )
    video_budget_usd_per_month: float | None = Field(
        default=None,
        gt=0,
        validation_alias=AliasChoices("VIDEO_BUDGET_USD_PER_MONTH"),
        description="Most spent on remote videos per UTC calendar month, likewise.",
    )

    def check_remote(self) -> None:
        """Raises ValueError for a remote setup that cannot work (called when the remote tier is chosen)."""
        missing = [
            name
            for name, value in (
                ("VIDEO_API_BASE_URL", self.video_api_base_url),
                ("VIDEO_API_KEY", self.video_api_key),
                ("VIDEO_MODEL", self.video_model),
            )
            if not value
        ]
        if missing:
            raise ValueError(f"VIDEO_PROVIDER=openai needs {', '.join(missing)}")
        if not self.video_api_base_url.startswith(("http://", "https://")):
            raise ValueError("VIDEO_API_BASE_URL must start with http:// or https://")
        width, height = (int(part) for part in self.video_size.split("x"))
        if width < 1280 or height < 720:
            raise ValueError(f"VIDEO_SIZE {self.video_size} is under 1280x720")
