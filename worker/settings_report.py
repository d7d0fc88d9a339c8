"""The settings a worker and the engine must share, as resolved here (secrets masked).

The worker prints them above Celery's banner and `status` prints them first: a worker started
from another directory, or with another DATABASE_URL, shows it at a glance instead of waiting
on jobs it will never see.
"""

from __future__ import annotations

from worker.db.unreachable import located
from worker.setting_errors import masked_url
from worker.settings import Settings


def resolved(settings: Settings) -> list[tuple[str, str]]:
    """(what, where) pairs: database, broker, storage, traces, provider, hooks."""
    return [
        ("database", f"DATABASE_URL={located(settings.database_url)}"),
        ("broker", f"CELERY_BROKER_URL={masked_url(settings.celery_broker_url)}"),
        (
            "storage",
            f"VIDEO_STORAGE_URL={settings.video_storage_url}"
            if settings.video_storage_url
            else f"VIDEO_STORAGE_DIR={settings.video_storage_dir}",
        ),
        ("traces", f"TRACE_DIR={settings.trace_dir}"),
        ("provider", _provider(settings)),
        (
            "hooks",
            "on"
            if settings.video_generation_enabled
            else "off (VIDEO_GENERATION_ENABLED is not true: the engine's hooks do nothing)",
        ),
    ]


def render(settings: Settings) -> str:
    return "\n".join(f"  {what:<9} {where}" for what, where in resolved(settings))


def _provider(settings: Settings) -> str:
    if settings.uses_remote_provider:
        return (
            f"{settings.video_provider}: {settings.video_model} at {masked_url(settings.video_api_base_url)}, "
            "falling back to local, then a poster"
        )
    return "local (embedded renderer), falling back to a poster"
