"""What a `celery worker` checks before it says ready, and what it shows.

Each check ends the process with one line and exit status 2: bad settings, a database it
cannot reach or that is not migrated, a broker that does not answer within
VIDEO_BROKER_CONNECT_TIMEOUT_S (unless `--wait-for-broker`). They run at `celeryd_init`,
before Celery resolves the broker's transport or prints its banner, so none of them is a
traceback or a worker that retries for minutes.
"""

from __future__ import annotations

import logging
import sys

import click
from celery import Celery, signals

from worker.settings import Settings, SettingsError, get_settings

log = logging.getLogger(__name__)

WAIT_FOR_BROKER_OPTION = click.Option(
    ["--wait-for-broker"],
    is_flag=True,
    default=False,
    help="[spendsense-video] keep retrying an unreachable broker instead of stopping after "
    "VIDEO_BROKER_CONNECT_TIMEOUT_S",
)


def install(app: Celery) -> None:
    app.user_options["worker"].add(WAIT_FOR_BROKER_OPTION)
    signals.celeryd_init.connect(_refuse_to_start_unless_ready, weak=False)
    signals.celeryd_after_setup.connect(_show_resolved_settings, weak=False)


def refuse(reason: str) -> None:
    print(f"spendsense-video worker cannot start: {reason}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def _refuse_to_start_unless_ready(instance=None, options=None, **_kwargs) -> None:
    from sqlalchemy.exc import OperationalError

    from worker.db.schema import SchemaNotCurrentError, ensure_schema_current
    from worker.db.session import check_connections_before_use
    from worker.db.unreachable import explain

    check_connections_before_use()
    try:
        settings = get_settings()
        ensure_schema_current(settings.database_url)
    except (SettingsError, SchemaNotCurrentError) as exc:
        refuse(str(exc))
    except OperationalError as exc:
        refuse(explain(exc, settings.database_url))
    if not (options or {}).get("wait_for_broker"):
        _check_broker(instance.app if instance is not None else None, settings)
    if settings.uses_remote_provider:
        import worker.providers.remote  # noqa: F401  (the SDK, loaded once here: pool processes fork with it)
        from worker.remote.sunsets import sunset_message

        if message := sunset_message(settings.video_model):
            log.warning("VIDEO_MODEL: %s; every job will use the fallback without calling the server", message)


def _check_broker(app: Celery | None, settings: Settings) -> None:
    """Connect once, retrying for up to VIDEO_BROKER_CONNECT_TIMEOUT_S; Celery alone would retry for minutes."""
    from worker.setting_errors import masked_url

    if app is None:
        from worker.celery_app import app as default_app

        app = default_app
    timeout_s = settings.broker_connect_timeout_s
    try:
        with app.connection_for_read() as connection:
            connection.ensure_connection(
                max_retries=None, interval_start=0.5, interval_step=1, interval_max=5, timeout=timeout_s
            )
    except Exception as exc:  # kombu's OperationalError, or the driver's own
        refuse(
            f"the broker at CELERY_BROKER_URL={masked_url(settings.celery_broker_url)} did not answer within "
            f"{timeout_s:g} s (VIDEO_BROKER_CONNECT_TIMEOUT_S): {_first_line(exc)}. Check its host and port and "
            "that it runs, or start with --wait-for-broker to wait for it"
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__


def _show_resolved_settings(**_kwargs) -> None:
    """Above Celery's banner: where this worker reads and writes, as the engine's must match."""
    from worker import settings_report

    print(
        f"spendsense-video worker settings (the engine's must match):\n{settings_report.render(get_settings())}",
        flush=True,
    )
