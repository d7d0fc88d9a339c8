"""Commands that set up and check the service: migrate, status, probe."""

from __future__ import annotations

import click


@click.command("migrate", short_help="apply the database migrations")
def migrate_command() -> int:
    """Apply the database migrations to DATABASE_URL (safe to run again)."""
    from worker.db.migrate import upgrade_to_head
    from worker.db.unreachable import located
    from worker.settings import get_settings

    url = get_settings().database_url
    revision = upgrade_to_head(url)
    click.echo(f"video database is at migration {revision} ({located(url)})")
    return 0


@click.command("status", short_help="settings in effect, jobs per state, spend, breakers")
def status_command() -> int:
    """The settings in effect, jobs per state, the oldest unfinished job, spend against the caps,
    open circuit breakers and recent failures."""
    from worker import settings_report
    from worker.db.migrate import ensure_schema_current
    from worker.ops.overview import overview, render
    from worker.settings import get_settings

    click.echo(f"settings:\n{settings_report.render(get_settings())}")
    ensure_schema_current()
    click.echo(render(overview()))
    return 0


@click.command("probe", short_help="check that the remote server speaks the Videos API")
def probe_command() -> int:
    """Check, for free, that VIDEO_API_BASE_URL speaks the Videos API for VIDEO_MODEL."""
    from worker.remote.probe import probe_server
    from worker.settings import get_settings

    settings = get_settings()
    checks = probe_server(settings)
    click.echo(
        f"probing {settings.video_api_base_url or '(no VIDEO_API_BASE_URL)'} for model {settings.video_model or '-'}"
    )
    for check in checks:
        click.echo(f"  [{check.verdict:>4}] {check.name}: {check.detail}")
    failed = any(check.verdict == "fail" for check in checks)
    click.echo(
        "the server does not speak the Videos API as configured" if failed else "the server speaks the Videos API"
    )
    return 1 if failed else 0
