"""The ASGI app behind `spendsense-video serve` (Starlette, run by uvicorn)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from worker.settings import Settings
from worker.web.media import stored_object
from worker.web.preview_page import preview_page


def create_app(settings: Settings) -> Starlette:
    """Media from VIDEO_STORAGE_DIR at `/<shard>/<sha256>.<ext>` (file backend) and the preview page at `/`."""
    local_media = not settings.video_storage_url
    routes = [
        Route("/", preview_page(settings, local_media=local_media), methods=["GET", "HEAD"]),
        Route("/healthz", lambda request: PlainTextResponse("ok"), methods=["GET", "HEAD"]),
    ]
    if local_media:
        routes.append(Route("/{shard}/{name}", stored_object(settings.video_storage_dir), methods=["GET", "HEAD"]))
    origins = [origin.strip() for origin in settings.video_cors_origins.split(",") if origin.strip()]
    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "HEAD"],
            allow_headers=["Range"],
            expose_headers=["Content-Range", "Content-Length", "Accept-Ranges", "ETag"],
        )
    ]
    return Starlette(routes=routes, middleware=middleware)
