"""The URLs a viewer opens for one job's video, poster and captions, minted now from its keys.

Minting happens whenever a trace is written or the engine is answered, so a
presigned URL handed out is always fresh. Jobs finished before keys were
recorded keep the URLs they were stored with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from worker.db.models import VideoJob
from worker.settings import get_settings
from worker.storage import get_store


@dataclass(frozen=True)
class JobUrls:
    video_url: str | None
    poster_url: str | None
    captions_url: str | None
    #: When the first of them stops working; None when none expires.
    expires_at: datetime | None


def job_urls(job: VideoJob) -> JobUrls:
    store = get_store(get_settings())
    minted = {}
    for kind in ("video", "poster", "captions"):
        key = getattr(job, f"{kind}_key")
        minted[kind] = store.url(key) if key else None
    expiries = [url.expires_at for url in minted.values() if url is not None and url.expires_at is not None]
    return JobUrls(
        video_url=minted["video"].url if minted["video"] else job.video_url,
        poster_url=minted["poster"].url if minted["poster"] else job.poster_url,
        captions_url=minted["captions"].url if minted["captions"] else job.captions_url,
        expires_at=min(expiries) if expiries else None,
    )
