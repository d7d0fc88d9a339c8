"""A fake OpenAI-compatible Videos API server, spoken to over HTTP by the real `openai` SDK.

Same paths and JSON shapes as the protocol (`POST /v1/videos`, `GET /v1/videos`,
`GET /v1/videos/{id}`, `GET /v1/videos/{id}/content`), a render model with a
latency and a concurrency limit, fault injection, and counters that let tests
prove a job was created at most once per idempotency key.

Start it by hand for local development:

    python -m tests.fake_videos_api --port 8765 --latency-s 3 --concurrency 50
    VIDEO_PROVIDER=openai VIDEO_API_BASE_URL=http://127.0.0.1:8765/v1 VIDEO_API_KEY=sk-fake ...
"""

from __future__ import annotations

import argparse
import email.parser
import heapq
import json
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fake_media import sample_mp4, sample_thumbnail

API_KEY = "sk-fake-test-key"
_VIDEO_PATH = re.compile(r"^/v1/videos/(?P<id>[^/]+)(?P<content>/content)?$")


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
    failing_prompts: dict[str, dict[str, str]] = field(default_factory=dict)  # substring -> error
    content_expired: bool = False
    honour_idempotency: bool = True  # False: a repeated key creates (and bills) another job
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
        handler = type("Handler", (_Handler,), {"fake": self})
        self._http = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()

    @property
    def base_url(self) -> str:
        assert self._http is not None
        return f"http://127.0.0.1:{self._http.server_address[1]}/v1"

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
                id=f"video_{uuid.uuid4().hex[:24]}", model=fields.get("model", "sora-2"), prompt=fields["prompt"],
                seconds=str(fields.get("seconds", "4")), size=fields.get("size", "720x1280"), created_at=now,
                starts_at=starts, ends_at=starts + self.latency_s,
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
            "id": job.id, "object": "video", "model": job.model, "prompt": job.prompt, "seconds": job.seconds,
            "size": job.size, "status": status, "progress": progress, "created_at": int(job.created_at),
            "completed_at": int(job.ends_at) if status in ("completed", "failed") else None,
            "expires_at": int(job.ends_at + 3600) if status == "completed" else None,
            "error": job.fail_with if status == "failed" else None, "remixed_from_video_id": None,
        }

    def poll_after_ms(self, job: FakeJob) -> int:
        return max(int((job.ends_at - time.time()) * 1000), 100)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeVideosServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes; don't wait 40 ms between

    def log_message(self, *_args: Any) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.fake.requests[(method, re.sub(r"/video_\w+", "/{id}", path))] += 1
        if self.fake.api_key is not None and self.headers.get("Authorization") != f"Bearer {self.fake.api_key}":
            return self._error(401, "invalid_api_key", "Incorrect API key provided")
        fault = self.fake.take_fault(method, path)
        if fault is not None and fault.kind == "status":
            headers = {"Retry-After": str(fault.retry_after_s)} if fault.retry_after_s is not None else {}
            return self._error(fault.status, fault.code, f"injected {fault.status}", headers)
        if fault is not None and fault.kind in ("hang", "drop"):
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "drop":
            self.close_connection = True
            return None
        if fault is not None and fault.kind == "malformed":
            return self._send(200, b'{"id": "video_', "application/json")
        if method == "POST" and path == "/v1/videos":
            return self._create(body, fault)
        if method == "GET" and path == "/v1/videos":
            return self._list()
        match = _VIDEO_PATH.match(path)
        if method == "GET" and match:
            job = self.fake.jobs.get(match["id"])
            if job is None:
                return self._error(404, "not_found", f"Video '{match['id']}' not found")
            if match["content"]:
                return self._content(job, fault)
            return self._json(200, self.fake.describe(job), {"openai-poll-after-ms": str(self.fake.poll_after_ms(job))})
        return self._error(404, "not_found", f"Unknown path {path}")

    def _create(self, body: bytes, fault: Fault | None) -> None:
        fields = _form_fields(self.headers.get("Content-Type", ""), body)
        if not fields.get("prompt"):
            return self._error(400, "invalid_request_error", "prompt is required")
        if fields.get("model") in self.fake.removed_models:
            return self._error(410, "model_not_found", f"The model '{fields['model']}' has been removed")
        job, _created = self.fake.create(fields, self.headers.get("Idempotency-Key"))
        if fault is not None and fault.kind == "hang_after_create":
            time.sleep(fault.seconds)
        self._json(200, self.fake.describe(job))

    def _list(self) -> None:
        data = [self.fake.describe(job) for job in sorted(self.fake.jobs.values(), key=lambda j: -j.created_at)]
        self._json(200, {"object": "list", "data": data, "has_more": False,
                         "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None})

    def _content(self, job: FakeJob, fault: Fault | None) -> None:
        if self.fake.describe(job)["status"] != "completed":
            return self._error(409, "video_not_ready", "Video is not ready")
        if self.fake.content_expired:
            return self._error(410, "video_expired", "The video content has expired")
        variant = re.search(r"variant=(\w+)", self.path)
        if variant and variant[1] == "thumbnail":
            return self._send(200, sample_thumbnail(), "image/jpeg")
        data = sample_mp4(int(job.seconds), job.size)
        if fault is not None and fault.kind == "truncate":
            data = data[: len(data) // 2]
        self._send(200, data, "video/mp4")

    def _error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        self._json(status, {"error": {"message": message, "type": "invalid_request_error", "code": code,
                                      "param": None}}, headers)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _send(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass


def _form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """Fields of a multipart/form-data (what the SDK sends) or JSON body."""
    if content_type.startswith("application/json"):
        return {key: str(value) for key, value in json.loads(body or b"{}").items()}
    message = email.parser.BytesParser().parsebytes(
        f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body
    )
    fields = {}
    for part in message.get_payload() if message.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[name] = part.get_payload(decode=True).decode()
    return fields


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible Videos API server")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-s", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--api-key", default=API_KEY)
    args = parser.parse_args()
    server = FakeVideosServer(latency_s=args.latency_s, concurrency=args.concurrency, api_key=args.api_key)
    server.start(args.port)
    print(f"fake Videos API on {server.base_url} (key {args.api_key!r}); Ctrl-C stops it")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
