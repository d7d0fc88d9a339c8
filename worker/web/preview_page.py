"""The preview page at `/`: one card per user, newest first, for the product team and support.

Read-only: it reads `video_jobs` and its events and mints URLs from the stored
keys; it never calls the engine and has no form or action. Anonymous visitors
are refused (`VIDEO_PREVIEW_AUTH`, HTTP basic auth, like Flower), and it shows
error types, never error messages, which may carry server internals.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.templating import Jinja2Templates

from worker.db.models import VideoJob
from worker.db.session import session_scope
from worker.jobs import reader
from worker.prompts import UtilizationFigures
from worker.prompts.figures import percent_label
from worker.settings import Settings
from worker.storage.urls import JobUrls, job_urls

#: Users per page.
PAGE_SIZE = 10
#: Log entries shown per user (newest first).
LOG_ENTRIES = 12
_TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))


@dataclass(frozen=True)
class UserCard:
    user_id: str
    job: VideoJob
    urls: JobUrls
    figures: dict[str, str]
    log: list[dict[str, Any]]


def preview_page(settings: Settings, *, local_media: bool):
    """The page's endpoint; `local_media` serves file-backend objects from this server (`/<key>`)."""

    async def endpoint(request: Request) -> Response:
        refusal = _refuse(request, settings)
        if refusal is not None:
            return refusal
        page = max(_int(request.query_params.get("page"), 1), 1)
        cards, total = user_cards(page, local_media=local_media)
        pages = max(-(-total // PAGE_SIZE), 1)
        response = _TEMPLATES.TemplateResponse(
            request,
            "preview.html",
            {
                "cards": cards,
                "page": page,
                "pages": pages,
                "total": total,
            },
        )
        response.headers.update(
            {"cache-control": "no-store", "referrer-policy": "no-referrer", "x-content-type-options": "nosniff"}
        )
        return response

    return endpoint


def user_cards(page: int, *, local_media: bool) -> tuple[list[UserCard], int]:
    newest = func.max(VideoJob.created_at)
    with session_scope() as session:
        total = session.scalar(select(func.count(func.distinct(VideoJob.user_id)))) or 0
        users = list(
            session.scalars(
                select(VideoJob.user_id)
                .group_by(VideoJob.user_id)
                .order_by(newest.desc(), VideoJob.user_id)
                .limit(PAGE_SIZE)
                .offset((page - 1) * PAGE_SIZE)
            )
        )
    cards = []
    for user_id in users:
        events = reader.user_events(user_id)
        job = max((job for _, job in events), key=lambda j: j.created_at)
        urls = _local_urls(job) if local_media else job_urls(job)
        log = [
            {
                "at": event.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                "event": event.event,
                "status": event.status,
                "attempt": event.attempt,
                "error": event.error_type,
                "tier": (event.detail or {}).get("tier"),
            }
            for event, _ in reversed(events[-LOG_ENTRIES:])
        ]
        cards.append(UserCard(user_id, job, urls, _figures(job), log))
    return cards, total


def _figures(job: VideoJob) -> dict[str, str]:
    try:
        figures = UtilizationFigures.from_dict((job.input or {})["figures"])
    except (KeyError, TypeError):
        return {}
    shown = {"utilization": percent_label(figures.start_utilization_pct)}
    if figures.card is not None:
        card = figures.card
        shown.update(
            card=f"•••• {card.mask}" if card.mask else "mask not shown",
            balance=card.money(card.balance),
            limit=card.money(card.limit),
            **{"pay down": card.money(card.pay_down)},
        )
    if (job.input or {}).get("card_note"):
        shown["note"] = job.input["card_note"]
    return shown


def _local_urls(job: VideoJob) -> JobUrls:
    def local(key: str | None) -> str | None:
        return f"/{key}" if key else None

    return JobUrls(local(job.video_key), local(job.poster_key), local(job.captions_key), None)


def _refuse(request: Request, settings: Settings) -> Response | None:
    if settings.video_preview_auth is None:
        return PlainTextResponse("the preview page is off: set VIDEO_PREVIEW_AUTH=user:password", status_code=503)
    expected = base64.b64encode(settings.video_preview_auth.get_secret_value().encode()).decode()
    given = request.headers.get("authorization", "").removeprefix("Basic ").strip()
    if not secrets.compare_digest(given.encode(), expected.encode()):
        return PlainTextResponse(
            "sign in", status_code=401, headers={"www-authenticate": 'Basic realm="SpendSense videos", charset="UTF-8"'}
        )
    return None


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
