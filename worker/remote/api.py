"""The Videos API protocol through the `openai` SDK, with every error put in one of our classes.

SDK retries are off (`max_retries=0`): retries happen in exactly one place,
Celery's autoretry, where they are counted and recorded on the job. That
matters most for `POST /videos`: the SDK would retry a timed-out create
without an idempotency key and could start (and bill) a second job.

The SDK marks the `videos` methods deprecated because OpenAI's own Sora endpoint
was shut down on 2026-09-24. We use them against other servers that speak the
same protocol, so that one warning is silenced here, on purpose, and only here;
`worker.remote.sunsets` is what guards against calling a dead model.
"""

from __future__ import annotations

import functools
import logging
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import openai

from worker.errors import FallbackKind, FallbackNeeded, RemoteGone, RemoteJobForgotten, RemoteRetryable

log = logging.getLogger(__name__)

warnings.filterwarnings(
    "ignore", message="The Sora API is scheduled to permanently shut down", category=DeprecationWarning
)

#: Pages of `GET /videos` read when looking for a job after a crash.
MAX_LOOKUP_PAGES = 10
#: Error codes that mean the model (not the request) is gone.
_GONE_CODES = ("model_not_found", "model_removed", "model_deprecated")


@dataclass(frozen=True)
class RemoteVideo:
    """The fields of the protocol's Video object that we act on."""

    id: str
    status: str
    progress: int
    model: str
    seconds: str
    size: str
    prompt: str | None
    created_at: int
    expires_at: int | None
    error: str | None

    @classmethod
    def from_sdk(cls, video) -> RemoteVideo:
        error = None
        if video.error is not None:
            error = f"{getattr(video.error, 'code', None) or 'error'}: {getattr(video.error, 'message', '') or ''}"
        return cls(
            video.id,
            video.status,
            int(video.progress or 0),
            str(video.model),
            str(video.seconds),
            str(video.size),
            video.prompt,
            int(video.created_at),
            video.expires_at,
            error,
        )


@dataclass(frozen=True)
class SentCreate:
    """What a create of unknown outcome sent, and when it could have reached the server."""

    prompt: str
    model: str
    seconds: int
    size: str
    intent_at: datetime
    since: datetime
    until: datetime
    taken_ids: frozenset[str]  # remote ids other submissions of ours already hold

    def matches(self, video: RemoteVideo) -> bool:
        return (
            video.prompt == self.prompt
            and video.model == self.model
            and (video.seconds == "None" or _number(video.seconds) == self.seconds)
            and video.size in ("None", self.size)
        )


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _nearest(matches: list[RemoteVideo], sent: SentCreate) -> RemoteVideo | None:
    if len(matches) > 1:
        log.warning(
            "lookup: %d listed jobs match a lost create; taking the one created nearest its intent", len(matches)
        )
    return min(matches, key=lambda video: abs(video.created_at - sent.intent_at.timestamp()), default=None)


class VideosApi:
    """One server (base URL + key); each call either returns or raises one of our errors."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float) -> None:
        self.base_url = base_url
        self._api_key = api_key
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0)

    @classmethod
    @functools.lru_cache(maxsize=4)
    def shared(cls, base_url: str, api_key: str, timeout_s: float) -> VideosApi:
        """One client per server per process: keeps connections alive between tasks (a client costs ~20 ms)."""
        return cls(base_url, api_key, timeout_s)

    def create(self, *, prompt: str, model: str, seconds: int, size: str, idempotency_key: str) -> RemoteVideo:
        """POST /videos. Raises RemoteRetryable (outcome may be unknown), RemoteGone or FallbackNeeded."""
        try:
            # seconds and size are free strings: compatible servers accept values the SDK's Literals omit
            video = self._client.videos.create(
                prompt=prompt,
                model=model,
                seconds=cast(Any, str(seconds)),
                size=cast(Any, size),
                extra_headers={"Idempotency-Key": idempotency_key},
            )
        except openai.APIStatusError as exc:
            if exc.status_code in (404, 410) or _code(exc) in _GONE_CODES:
                raise RemoteGone(f"create answered {exc.status_code}: {_describe(exc, self._api_key)}") from None
            raise _classified(exc, "create", self._api_key) from None
        except (openai.OpenAIError, ValueError) as exc:
            raise _classified(exc, "create", self._api_key) from None
        return RemoteVideo.from_sdk(video)

    def retrieve(self, video_id: str) -> tuple[RemoteVideo, float | None]:
        """GET /videos/{id}, with the server's `openai-poll-after-ms` hint in seconds (or None)."""
        try:
            response = self._client.videos.with_raw_response.retrieve(video_id)
            video = response.parse()
        except openai.NotFoundError:
            raise RemoteJobForgotten(f"server has no job {video_id}") from None
        except (openai.OpenAIError, ValueError) as exc:
            raise _classified(exc, "retrieve", self._api_key) from None
        hint = response.headers.get("openai-poll-after-ms")
        return RemoteVideo.from_sdk(video), _seconds(hint, 1000)

    def find(self, sent: SentCreate) -> RemoteVideo | None:
        """Look for the job a create of unknown outcome made (after a crash) instead of creating it again.

        A listed job is ours only if everything we sent matches (prompt, model, and the seconds and
        size where listed), it was created in the window the request could have arrived in, and no
        other submission of ours has claimed its id. Of several, the one created nearest the intent.
        """
        after: str | openai.Omit = openai.omit
        matches: list[RemoteVideo] = []
        try:
            for _ in range(MAX_LOOKUP_PAGES):
                page = self._client.videos.list(order="desc", limit=100, after=after)
                for video in page.data:
                    if video.created_at < sent.since.timestamp():
                        return _nearest(matches, sent)
                    if video.created_at > sent.until.timestamp() or video.id in sent.taken_ids:
                        continue
                    if video.prompt is None:
                        raise RemoteRetryable(
                            "the server's job list omits prompts, so a create with an unknown "
                            "outcome cannot be recognised; not re-sending it"
                        )
                    if sent.matches(RemoteVideo.from_sdk(video)):
                        matches.append(RemoteVideo.from_sdk(video))
                if not page.has_more or not page.data:
                    return _nearest(matches, sent)
                after = page.data[-1].id
        except (openai.OpenAIError, ValueError) as exc:
            raise _classified(exc, "list", self._api_key) from None
        raise RemoteRetryable("lookup read too many pages without reaching the submission time")

    def download(self, video_id: str, destination: Path, variant: str = "video") -> Path:
        """GET /videos/{id}/content into `destination`; 404/410 means the content expired."""
        try:
            # a free string: compatible servers may offer variants the SDK's Literal omits
            content = self._client.videos.download_content(video_id, variant=cast(Any, variant))
        except openai.APIStatusError as exc:
            if exc.status_code in (404, 410):
                gone = _describe(exc, self._api_key)
                raise FallbackNeeded(f"content of {video_id} is gone: {gone}", kind=FallbackKind.EXPIRED) from None
            raise _classified(exc, "download", self._api_key) from None
        except (openai.OpenAIError, ValueError) as exc:
            raise _classified(exc, "download", self._api_key) from None
        content.write_to_file(destination)
        return destination


def _classified(exc: Exception, operation: str, secret: str) -> Exception:
    """Transient: timeouts, connection errors, 429, 5xx, 403 on download, malformed replies. Else permanent."""
    if isinstance(exc, openai.APITimeoutError):
        return RemoteRetryable(f"{operation} timed out")
    if isinstance(exc, openai.APIConnectionError):
        return RemoteRetryable(
            f"{operation} could not connect: {type(exc.__cause__).__name__}", reached_server=_may_have_arrived(exc)
        )
    if isinstance(exc, openai.APIStatusError):
        retry_after = _retry_after(exc)
        if exc.status_code == 429:  # rate limited: the server took nothing
            return RemoteRetryable(
                f"{operation} answered 429: {_describe(exc, secret)}", retry_after, reached_server=False
            )
        if exc.status_code >= 500 or (operation == "download" and exc.status_code == 403):
            return RemoteRetryable(f"{operation} answered {exc.status_code}: {_describe(exc, secret)}", retry_after)
        return FallbackNeeded(
            f"{operation} answered {exc.status_code}: {_describe(exc, secret)}", kind=FallbackKind.PERMANENT
        )
    return RemoteRetryable(f"{operation} gave an unreadable reply: {type(exc).__name__}")


def _may_have_arrived(exc: openai.APIConnectionError) -> bool:
    """False only when the connection itself failed, so the server cannot have seen the request."""
    cause = exc.__cause__
    return not (isinstance(cause, ConnectionRefusedError) or type(cause).__name__ == "ConnectError")


def _retry_after(exc: openai.APIStatusError) -> float | None:
    headers = exc.response.headers
    return _seconds(headers.get("retry-after-ms"), 1000) or _seconds(headers.get("retry-after"), 1)


def _seconds(value: str | None, per_second: int) -> float | None:
    try:
        return float(value) / per_second if value is not None else None
    except ValueError:
        return None


def _code(exc: openai.APIStatusError) -> str | None:
    return getattr(exc, "code", None)


def _describe(exc: openai.APIStatusError, secret: str) -> str:
    """The server's error, with the API key scrubbed out (some gateways echo the key they rejected)."""
    body = exc.body if isinstance(exc.body, dict) else {}
    message = body.get("message") or str(exc)
    code = body.get("code") or _code(exc)
    text = f"{code}: {message}" if code else str(message)
    return text.replace(secret, "[redacted]") if secret else text
