"""`spendsense-video`: the operator's command line (migrate, status, list, retry, requeue-stuck, probe, preview,
serve, verify-urls, demo)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.exc import OperationalError

from worker.db.migrate import SchemaNotCurrentError
from worker.settings import SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="spendsense-video", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations to DATABASE_URL")
    commands.add_parser("status", help="jobs per state, oldest unfinished job, spend against the caps, "
                                  "circuit breakers, recent failures")
    commands.add_parser("probe", help="check, for free, that VIDEO_API_BASE_URL speaks the Videos API")
    listing = commands.add_parser("list", help="recent jobs, newest first")
    listing.add_argument("--user", help="only this user's jobs")
    listing.add_argument("--state", choices=["queued", "running", "completed", "failed"])
    listing.add_argument("--limit", type=int, default=50)
    retry = commands.add_parser("retry", help="re-queue failed jobs")
    retry.add_argument("job_ids", nargs="*", metavar="JOB_ID")
    retry.add_argument("--failed", action="store_true", help="every failed job")
    commands.add_parser("requeue-stuck", help="re-send messages of stuck jobs and rewrite lagging traces, now")
    preview = commands.add_parser("preview", help="write a contact sheet of a user's video's key frames (PNG)")
    preview.add_argument("user_id", metavar="USER_ID")
    preview.add_argument("--contexts", type=Path,
                         help="JSON of engine user contexts (user id → persona, signals, accounts); "
                              "default: the user's newest job in DATABASE_URL")
    preview.add_argument("--out", type=Path, default=Path("storyboard.png"), help="where to write the PNG")
    serve = commands.add_parser("serve", help="serve stored videos over HTTP (file backend) and the preview page")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    serve.add_argument("--port", type=int, default=8000)
    verify = commands.add_parser("verify-urls", help="request every video, poster and captions URL in the traces")
    verify.add_argument("user_ids", nargs="*", metavar="USER_ID", help="default: every trace in TRACE_DIR")
    demo = commands.add_parser("demo", help="render videos for five sample users with a real worker")
    demo.add_argument("--output-dir", type=Path, default=Path("data/demo"),
                      help="where the demo keeps its database, broker, videos and traces (wiped first)")
    demo.add_argument("--timeout-s", type=float, default=300.0, help="give up waiting after this long")
    demo.add_argument("--serve", action="store_true",
                      help="then serve the videos and the preview page on http://127.0.0.1:PORT until Ctrl-C")
    demo.add_argument("--port", type=int, default=8000, help="port for --serve")
    args = parser.parse_args(argv)
    try:
        if args.command == "migrate":
            return _migrate()
        if args.command == "status":
            return _status()
        if args.command == "probe":
            return _probe()
        if args.command in ("list", "retry", "requeue-stuck"):
            return _operate(args)
        if args.command == "preview":
            return _preview(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "verify-urls":
            return _verify_urls(args)
        from worker.demo import run_demo

        return run_demo(args.output_dir, timeout_s=args.timeout_s, serve_port=args.port if args.serve else None)
    except (SettingsError, SchemaNotCurrentError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:  # the database cannot be reached: one line, never a traceback
        from worker.db.unreachable import explain
        from worker.settings import get_settings

        print(f"error: {explain(exc, get_settings().database_url)}", file=sys.stderr)
        return 2


def _migrate() -> int:
    from worker.db.migrate import upgrade_to_head
    from worker.db.unreachable import located
    from worker.settings import get_settings

    url = get_settings().database_url
    revision = upgrade_to_head(url)
    print(f"video database is at migration {revision} ({located(url)})")
    return 0


def _status() -> int:
    from worker.db.migrate import ensure_schema_current
    from worker.jobs.overview import overview, render

    ensure_schema_current()
    print(render(overview()))
    return 0


def _operate(args: argparse.Namespace) -> int:
    from worker.db.migrate import ensure_schema_current
    from worker.jobs import operations
    from worker.settings import get_settings

    ensure_schema_current()
    if args.command == "list":
        jobs = operations.list_jobs(args.user, args.state, args.limit)
        for job in jobs:
            print(operations.format_job(job))
        print(f"{len(jobs)} job(s)")
        return 0
    if args.command == "retry":
        if not args.job_ids and not args.failed:
            print("error: name job ids, or --failed", file=sys.stderr)
            return 2
        requeued = operations.retry_jobs(args.job_ids, all_failed=args.failed)
        print(f"re-queued {len(requeued)} job(s)" + "".join(f"\n  {job_id}" for job_id in requeued))
        return 0 if requeued or args.failed else 1
    print(operations.requeue_stuck(get_settings()).summary())
    return 0


def _preview(args: argparse.Namespace) -> int:
    from worker.errors import InvalidVideoInput
    from worker.preview import PreviewError, write_preview

    try:
        path = write_preview(args.user_id, args.out, args.contexts)
    except (PreviewError, InvalidVideoInput, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from worker.db.migrate import ensure_schema_current
    from worker.settings import get_settings
    from worker.web.app import create_app

    settings = get_settings()
    ensure_schema_current()
    where = settings.video_storage_url or settings.video_storage_dir
    print(f"serving {where} and the preview page on http://{args.host}:{args.port}/ "
          f"(set VIDEO_PUBLIC_BASE_URL=http://{args.host}:{args.port} so traces carry these URLs)")
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")
    return 0


def _verify_urls(args: argparse.Namespace) -> int:
    from worker.settings import get_settings
    from worker.verify_urls import render_rows, verify_traces

    rows = verify_traces(get_settings(), args.user_ids)
    print(render_rows(rows))
    failed = [row for row in rows if not row.ok]
    print(f"{len(rows)} URL(s) checked, {len(failed)} failed")
    return 1 if failed or not rows else 0


def _probe() -> int:
    from worker.remote.probe import probe_server
    from worker.settings import get_settings

    settings = get_settings()
    checks = probe_server(settings)
    print(f"probing {settings.video_api_base_url or '(no VIDEO_API_BASE_URL)'} for model {settings.video_model or '-'}")
    for check in checks:
        print(f"  [{check.verdict:>4}] {check.name}: {check.detail}")
    failed = any(check.verdict == "fail" for check in checks)
    print("the server does not speak the Videos API as configured" if failed else "the server speaks the Videos API")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
