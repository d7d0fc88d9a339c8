"""Commands about the videos themselves: preview, serve, verify-urls, demo."""

from __future__ import annotations

from pathlib import Path

import click

_PATH = click.Path(path_type=Path)


@click.command("preview", short_help="write a PNG of a user's video's key frames")
@click.argument("user_id")
@click.option(
    "--contexts",
    type=_PATH,
    help="JSON of engine user contexts (user id → persona, signals, "
    "accounts); default: the user's newest job in DATABASE_URL",
)
@click.option("--out", type=_PATH, default=Path("storyboard.png"), show_default=True, help="where to write the PNG")
def preview_command(user_id: str, contexts: Path | None, out: Path) -> int:
    """Write a contact sheet of USER_ID's video's key frames (PNG), without a worker."""
    from worker.errors import InvalidVideoInput
    from worker.preview import PreviewError, write_preview

    try:
        path = write_preview(user_id, out, contexts)
    except (PreviewError, InvalidVideoInput, OSError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        return 1
    click.echo(f"wrote {path}")
    return 0


@click.command("serve", short_help="serve stored videos and the preview page over HTTP")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on (loopback only by default)")
@click.option("--port", type=int, default=8000, show_default=True)
def serve_command(host: str, port: int) -> int:
    """Serve stored videos over HTTP (file storage) and the preview page."""
    import uvicorn

    from worker.db.migrate import ensure_schema_current
    from worker.settings import get_settings
    from worker.web.app import create_app

    settings = get_settings()
    ensure_schema_current()
    where = settings.video_storage_url or settings.video_storage_dir
    click.echo(
        f"serving {where} and the preview page on http://{host}:{port}/ "
        f"(set VIDEO_PUBLIC_BASE_URL=http://{host}:{port} so traces carry these URLs)"
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    return 0


@click.command("verify-urls", short_help="request every URL the traces hand out")
@click.argument("user_ids", nargs=-1, metavar="[USER_ID]...")
def verify_urls_command(user_ids: tuple[str, ...]) -> int:
    """Request every video, poster and captions URL in the traces (default: every trace in TRACE_DIR)."""
    from worker.settings import get_settings
    from worker.verify_urls import render_rows, verify_traces

    rows = verify_traces(get_settings(), list(user_ids))
    click.echo(render_rows(rows))
    failed = [row for row in rows if not row.ok]
    click.echo(f"{len(rows)} URL(s) checked, {len(failed)} failed")
    return 1 if failed or not rows else 0


@click.command("demo", short_help="render five users' videos with a real worker")
@click.option(
    "--output-dir",
    type=_PATH,
    default=Path("data/demo"),
    show_default=True,
    help="where the demo keeps its database, broker, videos and traces (wiped first)",
)
@click.option("--timeout-s", type=float, default=300.0, show_default=True, help="give up waiting after this long")
@click.option("--serve", is_flag=True, help="then serve the videos and the preview page until Ctrl-C")
@click.option("--port", type=int, default=8000, show_default=True, help="port for --serve")
def demo_command(output_dir: Path, timeout_s: float, serve: bool, port: int) -> int:
    """Render videos for five SpendSense users with a real worker, on the embedded default."""
    from worker.demo import run_demo

    return run_demo(output_dir, timeout_s=timeout_s, serve_port=port if serve else None)
