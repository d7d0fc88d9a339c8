"""`spendsense-video`: the operator's command line.

Every command has `--help`. A configuration error (a bad variable, an unreachable or
unmigrated database) is one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import sys

import click
from sqlalchemy.exc import OperationalError

from worker.cli.jobs import list_command, requeue_stuck_command, retry_command
from worker.cli.service import migrate_command, probe_command, status_command
from worker.cli.videos import demo_command, preview_command, serve_command, verify_urls_command
from worker.db.migrate import SchemaNotCurrentError
from worker.settings import SettingsError

#: Exit status for a configuration the command cannot run with (click uses it for usage errors too).
CONFIGURATION_ERROR = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def cli() -> None:
    """Operate the SpendSense video worker: its database, its jobs, its videos."""


for _command in (
    migrate_command,
    status_command,
    probe_command,
    list_command,
    retry_command,
    requeue_stuck_command,
    preview_command,
    serve_command,
    verify_urls_command,
    demo_command,
):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> int:
    """The console script; returns the exit status (tests call it with argv)."""
    try:
        return cli.main(args=argv, prog_name="spendsense-video", standalone_mode=False) or 0
    except click.ClickException as exc:  # usage errors: click's own message
        exc.show()
        return exc.exit_code
    except click.Abort:
        print("aborted", file=sys.stderr)
        return 1
    except (SettingsError, SchemaNotCurrentError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return CONFIGURATION_ERROR
    except OperationalError as exc:  # the database cannot be reached: one line, never a traceback
        from worker.db.unreachable import explain
        from worker.settings import get_settings

        print(f"error: {explain(exc, get_settings().database_url)}", file=sys.stderr)
        return CONFIGURATION_ERROR
