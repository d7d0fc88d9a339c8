"""The HTTP face of the fake Videos API: routes, per-request faults, OpenAI-shaped bodies.

The state it answers from (jobs, faults, counters) lives in `tests.fake_videos_api`.
"""

from __future__ import annotations

import email.parser
import json
import re
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from tests.fake_media import sample_mp4, sample_thumbnail

if TYPE_CHECKING:
    from tests.fake_videos_api import FakeJob, FakeVideosServer, Fault

_VIDEO_PATH = re.compile(r"^/v1/videos/(?P<id>[^/]+)(?P<content>/content)?$")


class VideosHandler(BaseHTTPRequestHandler):
    """One request: check the key, apply an injected fault, then answer as the protocol does."""

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
            if not self.fake.list_supported:
                return self._error(400, "bad_request", "LLM Provider NOT provided")
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
        self._json(
            200,
            {
                "object": "list",
                "data": data,
                "has_more": False,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            },
        )

    def _content(self, job: FakeJob, fault: Fault | None) -> None:
        if self.fake.describe(job)["status"] != "completed":
            return self._error(409, "video_not_ready", "Video is not ready")
        if self.fake.content_expired:
            return self._error(410, "video_expired", "The video content has expired")
        variant = re.search(r"variant=(\w+)", self.path)
        if variant and variant[1] == "thumbnail":
            if not self.fake.thumbnails:
                return self._error(404, "not_found", "This video has no thumbnail")
            if self.fake.thumbnail_is_video:
                return self._send(200, sample_mp4(int(job.seconds), job.size), "video/mp4")
            return self._send(200, sample_thumbnail(), "image/jpeg")
        data = sample_mp4(int(job.seconds), job.size)
        if fault is not None and fault.kind == "truncate":
            data = data[: len(data) // 2]
        self._send(200, data, "video/mp4")

    def _error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        self._json(
            status,
            {"error": {"message": message, "type": "invalid_request_error", "code": code, "param": None}},
            headers,
        )

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
