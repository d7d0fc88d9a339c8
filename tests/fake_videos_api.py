"""A fake OpenAI-compatible Videos API server, spoken to over HTTP by the real `openai` SDK.

Same paths and JSON shapes as the protocol (`POST /v1/videos`, `GET /v1/videos`,
`GET /v1/videos/{id}`, `GET /v1/videos/{id}/content`), a render model with a
latency and a concurrency limit, fault injection, and counters that let tests
prove a job was created at most once per idempotency key.

Start it by hand for local development (`--help` lists the fault options):

    python -m tests.fake_videos_api --port 8765 --latency-s 3 --concurrency 50
    VIDEO_PROVIDER=openai VIDEO_API_BASE_URL=http://127.0.0.1:8765/v1 VIDEO_API_KEY=sk-fake-test-key ...
"""

from __future__ import annotations

import argparse
import heapq
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from tests.fake_media import sample_mp4
from tests.fake_videos_http import VideosHandler

API_KEY = "sk-fake-test-key"
#: The model the tests ask for (any name works; a sunset one such as sora-2 is refused by the worker).
MODEL = "wan-2.2"


@dataclass
class Fault:
    """Answer the next `count` matching requests with a failure instead of the real response.

    kind: "status" (send `status` with an OpenAI error body), "hang" (sleep `seconds`
    then answer normally, so a hung create still creates its job, late), "malformed" (200
    with a broken JSON body), "truncate" (content cut in half), "hang_after_create" (create
    the job, then sleep before answering), "drop" (sleep `seconds`, then close the connection
    without handling the request: a proxy that gave up before forwarding it).
    """

    method: str
    path: str  # regex matched against the path
    kind: str
    count: int = 1
    status: int = 500
    seconds: float = 0.0
    retry_after_s: int | None = None
    code: str = "server_error"


@dataclass
class FakeJob:
    id: str
    model: str
    prompt: str
    seconds: str
    size: str
    created_at: float
    starts_at: float
    ends_at: float
    fail_with: dict[str, str] | None = None


@dataclass
class FakeVideosServer:
    """The server's state; `start()` serves it on a loopback port in a background thread."""

    latency_s: float = 0.5
    concurrency: int = 50
    api_key: str | None = API_KEY  # None: an open server that takes any key
    removed_models: set[str] = field(default_factory=set)
    thumbnails: bool = True  # False: the thumbnail variant answers 404, as on servers without one
    failing_prompts: dict[str, dict[str, str]] = field(default_factory=dict)  # substring -> error
    content_expired: bool = False
    honour_idempotency: bool = True  # False: a repeated key creates (and bills) another job
    list_supported: bool = True  # False: GET /videos answers 400, as through LiteLLM's proxy
    thumbnail_is_video: bool = False  # True: the thumbnail variant answers with the MP4 (LiteLLM's proxy)
    id_length: int = 30  # ids are `video_` + hex up to this many characters (a gateway's wrapped id: 234)
    faults: list[Fault] = field(default_factory=list)
    create_calls: Counter = field(default_factory=Counter)  # per Idempotency-Key (None: no key)
    jobs: dict[str, FakeJob] = field(default_factory=dict)
    on_create: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: list[float] = []
        self._by_key: dict[str, str] = {}
        self.requests: Counter = Counter()
        self.jobs_created = 0  # paid renders started, across restarts
        self._http: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------
    def start(self, port: int = 0) -> FakeVideosServer:
        sample_mp4(8, "1280x720")  # encode the usual clip now, not inside a client's timeout
        handler = type("Handler", (VideosHandler,), {"fake": self})
        self._http = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()

    @property
    def base_url(self) -> str:
        assert self._http is not None
        return f"http://127.0.0.1:{self._http.server_address[1]}/v1"

    def client_env(self, **overrides: str) -> dict[str, str]:
        """The settings that point a worker at this server (VIDEO_PROVIDER=openai), plus `overrides`."""
        return {
            "VIDEO_PROVIDER": "openai",
            "VIDEO_API_BASE_URL": self.base_url,
            "VIDEO_API_KEY": self.api_key or API_KEY,
            "VIDEO_MODEL": MODEL,
            **overrides,
        }

    def forget_all(self) -> None:
        """Simulate a server restart that loses its in-memory jobs (SGLang, vLLM-Omni)."""
        with self._lock:
            self.jobs.clear()
            self._by_key.clear()
            self._slots.clear()

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    # -- behaviour -------------------------------------------------------------
    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.count > 0 and fault.method == method and re.search(fault.path, path):
                    fault.count -= 1
                    return fault
        return None

    def create(self, fields: dict[str, str], key: str | None) -> tuple[FakeJob, bool]:
        with self._lock:
            self.create_calls[key] += 1
            if self.honour_idempotency and key in self._by_key and self._by_key[key] in self.jobs:
                return self.jobs[self._by_key[key]], False
            now = time.time()
            while len(self._slots) >= self.concurrency and self._slots[0] <= now:
                heapq.heappop(self._slots)
            starts = now if len(self._slots) < self.concurrency else heapq.heappop(self._slots)
            job = FakeJob(
                id=("video_" + "".join(uuid.uuid4().hex for _ in range(8)))[: self.id_length],
                model=fields.get("model", "sora-2"),
                prompt=fields["prompt"],
                seconds=str(fields.get("seconds", "4")),
                size=fields.get("size", "720x1280"),
                created_at=now,
                starts_at=starts,
                ends_at=starts + self.latency_s,
                fail_with=next((err for text, err in self.failing_prompts.items() if text in fields["prompt"]), None),
            )
            heapq.heappush(self._slots, job.ends_at)
            self.jobs[job.id] = job
            self.jobs_created += 1
            if key is not None:
                self._by_key[key] = job.id
        self.on_create.set()
        return job, True

    def describe(self, job: FakeJob) -> dict[str, Any]:
        now = time.time()
        if now < job.starts_at:
            status, progress = "queued", 0
        elif now < job.ends_at:
            status, progress = "in_progress", int(100 * (now - job.starts_at) / max(job.ends_at - job.starts_at, 1e-6))
        else:
            status, progress = ("failed" if job.fail_with else "completed"), 100
        return {
            "id": job.id,
            "object": "video",
            "model": job.model,
            "prompt": job.prompt,
            "seconds": job.seconds,
            "size": job.size,
            "status": status,
            "progress": progress,
            "created_at": int(job.created_at),
            "completed_at": int(job.ends_at) if status in ("completed", "failed") else None,
            "expires_at": int(job.ends_at + 3600) if status == "completed" else None,
            "error": job.fail_with if status == "failed" else None,
            "remixed_from_video_id": None,
        }

    def poll_after_ms(self, job: FakeJob) -> int:
        return max(int((job.ends_at - time.time()) * 1000), 100)


def parse_fault(text: str) -> Fault:
    """`METHOD:PATH:KIND[:COUNT[:STATUS]]` (PATH a regex without colons) as a Fault."""
    method, path, kind, *rest = text.split(":")
    count = int(rest[0]) if rest else 1
    return Fault(method.upper(), path, kind, count, *([int(rest[1])] if len(rest) > 1 else []))


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible Videos API server")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-s", type=float, default=3.0, help="how long one render takes")
    parser.add_argument("--concurrency", type=int, default=50, help="renders at once; the rest queue")
    parser.add_argument("--api-key", default=API_KEY, help="the key clients must send (default: %(default)s)")
    parser.add_argument("--open", action="store_true", help="accept any key")
    parser.add_argument(
        "--fail-prompt",
        action="append",
        default=[],
        metavar="TEXT",
        help="jobs whose prompt contains TEXT fail on the server (repeatable)",
    )
    parser.add_argument(
        "--removed-model",
        action="append",
        default=[],
        metavar="MODEL",
        help="creates for MODEL answer 410 model_not_found (repeatable)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="METHOD:PATH:KIND[:COUNT[:STATUS]]",
        help="inject a Fault, e.g. POST:/v1/videos$:status:2:503 (repeatable)",
    )
    parser.add_argument("--content-expired", action="store_true", help="downloads answer 410 video_expired")
    parser.add_argument("--no-thumbnails", action="store_true", help="the thumbnail variant answers 404")
    parser.add_argument("--thumbnail-is-video", action="store_true", help="the thumbnail variant sends the MP4")
    parser.add_argument("--no-list", action="store_true", help="GET /videos answers 400")
    parser.add_argument("--ignore-idempotency", action="store_true", help="a repeated key creates another job")
    parser.add_argument("--id-length", type=int, default=30, help="length of video ids (a gateway's: 234)")
    args = parser.parse_args()
    server = FakeVideosServer(
        latency_s=args.latency_s,
        concurrency=args.concurrency,
        api_key=None if args.open else args.api_key,
        removed_models=set(args.removed_model),
        thumbnails=not args.no_thumbnails,
        failing_prompts={
            text: {"code": "server_error", "message": f"render failed on {text!r}"} for text in args.fail_prompt
        },
        content_expired=args.content_expired,
        honour_idempotency=not args.ignore_idempotency,
        list_supported=not args.no_list,
        thumbnail_is_video=args.thumbnail_is_video,
        id_length=args.id_length,
        faults=[parse_fault(text) for text in args.fault],
    )
    server.start(args.port)
    print(f"fake Videos API on {server.base_url} (key {args.api_key!r}); Ctrl-C stops it")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
