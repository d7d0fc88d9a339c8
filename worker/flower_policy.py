"""Flower as we run it: authenticated and read-only.

Flower's HTTP API can start, revoke and rate-limit tasks and shut workers down;
every task here may cost money, so those endpoints are removed before Flower
builds its routes. Loaded from `flowerconfig.py` (`--conf=flowerconfig.py`).
`/metrics` and `/healthcheck` stay unauthenticated, as Flower serves them, so
Flower must only listen on an internal address (127.0.0.1 by default).
"""

from __future__ import annotations

import os
import sys

#: Route prefixes that change state; everything else only reads.
WRITE_ROUTES = (
    "/api/worker/shutdown/",
    "/api/worker/pool/",
    "/api/worker/queue/",
    "/api/task/apply/",
    "/api/task/async-apply/",
    "/api/task/send-task/",
    "/api/task/abort/",
    "/api/task/timeout/",
    "/api/task/rate-limit/",
    "/api/task/revoke/",
)


def make_read_only() -> int:
    """Remove Flower's state-changing routes; returns how many were removed."""
    from flower import urls

    before = len(urls.handlers)
    urls.handlers[:] = [handler for handler in urls.handlers if not _is_write_route(handler)]
    return before - len(urls.handlers)


def require_credentials() -> None:
    """Refuse to serve Flower without basic auth (or OAuth) configured in the environment."""
    if not (os.environ.get("FLOWER_BASIC_AUTH") or os.environ.get("FLOWER_AUTH")):
        print(
            "flower: set FLOWER_BASIC_AUTH=user:password (or FLOWER_AUTH for OAuth); "
            "refusing to serve the task list without authentication",
            file=sys.stderr,
        )
        raise SystemExit(2)


def _is_write_route(handler) -> bool:
    pattern = handler.regex.pattern if hasattr(handler, "regex") else handler[0]
    return pattern.startswith(WRITE_ROUTES)
