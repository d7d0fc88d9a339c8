"""A hard time budget for the hooks' I/O, and a process-local breaker for sick services.

The engine must never wait on us. Database and broker calls run on a small
pool of daemon threads; the engine's thread waits at most the budget and then
goes on. A call that overran keeps going in the background (its result is
recorded in the database, where the reconciler finds it), and the service it
was talking to is skipped for `VIDEO_HOOK_BACKOFF_S`: calls in that window
answer in microseconds instead of waiting again. At most `MAX_IN_FLIGHT` calls
run at once, so a hung service cannot pile up threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
#: Calls allowed to run at once; beyond that the services are taken as sick.
MAX_IN_FLIGHT = 4
DATABASE, BROKER = "database", "broker"

_executor = ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT, thread_name_prefix="video-hook")
_slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)
_open_until: dict[str, float] = {}
_lock = threading.Lock()
#: Bumped by `reset`: a call that overran before it may not trip a breaker after it.
_generation = 0


class ServiceUnavailable(RuntimeError):
    """A service failed, overran the budget, or is in its back-off window. `service` names it."""

    def __init__(self, service: str, reason: str, job_id: str | None = None) -> None:
        super().__init__(f"{service}: {reason}")
        self.service, self.reason, self.job_id = service, reason, job_id


class Stage:
    """Which service a budgeted call is talking to right now (so an overrun blames the right one),
    and the job it has written, if any (so an overrun still tells the engine which job to ask for)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.job_id: str | None = None


def sick(*services: str) -> str | None:
    """The first of `services` still in its back-off window, if any."""
    now = time.monotonic()
    with _lock:
        return next((service for service in services if _open_until.get(service, 0.0) > now), None)


def trip(service: str, backoff_s: float, generation: int | None = None) -> None:
    """Skip `service` for `backoff_s`; a late verdict from before the last `reset` is ignored."""
    with _lock:
        if generation is None or generation == _generation:
            _open_until[service] = time.monotonic() + backoff_s


def reset() -> None:
    """Forget every back-off, including the verdicts of calls still running (tests; a restarted
    engine process starts with none)."""
    global _generation
    with _lock:
        _open_until.clear()
        _generation += 1


def within_budget(call: Callable[[Stage], T], *, first: str, budget_ms: float, backoff_s: float) -> T:
    """Run `call(stage)` on a hook thread and wait at most `budget_ms` for it.

    `call` sets `stage.service` as it moves from one service to the next.

    Raises:
        ServiceUnavailable: the service was already in back-off, the call overran, or no thread was free.
        Exception: whatever `call` raised in time (the caller classifies it).
    """
    if not _slots.acquire(blocking=False):
        raise ServiceUnavailable(first, "too many hook calls still waiting on a slow service")
    stage = Stage(first)

    def run() -> T:
        try:
            return call(stage)
        finally:
            _slots.release()

    try:
        future = _executor.submit(run)
    except RuntimeError:  # interpreter shutting down
        _slots.release()
        raise ServiceUnavailable(first, "the hook pool is shut down") from None
    try:
        return future.result(timeout=budget_ms / 1000)
    except FutureTimeout:
        service, generation = stage.service, _generation
        trip(service, backoff_s)
        future.add_done_callback(lambda done: _settle(done, service, stage, backoff_s, generation))
        log.warning(
            "video hook: the %s did not answer within %.0f ms; skipping it for up to %.0f s",
            service,
            budget_ms,
            backoff_s,
        )
        raise ServiceUnavailable(service, "did not answer in time", stage.job_id) from None


def _settle(done, blamed: str, stage: Stage, backoff_s: float, generation: int) -> None:
    """An overrun call finished in the background. Merely slow (a cold start) clears the back-off; a
    failure (a hang ends in a driver timeout) backs off the service it failed on, from now."""
    with _lock:
        if generation != _generation:
            return
        _open_until.pop(blamed, None)
    if done.exception() is not None:
        trip(stage.service, backoff_s, generation)
