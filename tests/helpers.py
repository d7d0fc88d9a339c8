"""Waiting in tests: one poll loop instead of one per test."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(check: Callable[[], T], timeout_s: float = 30, interval_s: float = 0.1, what: str = "") -> T:
    """Call `check` until it returns something truthy, and return that; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:g} s: {what or getattr(check, '__name__', 'condition')}")
        time.sleep(interval_s)
