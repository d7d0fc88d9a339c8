"""Providers that fail on purpose, swapped into the registry for one test: each is one class and one
`register` line, as a new provider is."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from worker import providers
from worker.errors import PermanentVideoError, TransientVideoError
from worker.providers.local import LocalRenderer
from worker.providers.poster import PosterRenderer
from worker.settings import Settings, reload_settings

ATTEMPTS: Counter[str] = Counter()


class FlakyRenderer(LocalRenderer):
    """Fails with a transient error on the first `failures` attempts of each job."""

    name = "flaky"
    failures = 2

    def produce(self, request, workdir):
        ATTEMPTS[request.job_id] += 1
        if ATTEMPTS[request.job_id] <= self.failures:
            raise TransientVideoError(f"provider busy (attempt {ATTEMPTS[request.job_id]})")
        return super().produce(request, workdir)


class AlwaysBusy(FlakyRenderer):
    name = "always_busy"
    failures = 99


class Refusing(LocalRenderer):
    name = "refusing"

    def produce(self, request, workdir):
        ATTEMPTS[request.job_id] += 1
        raise PermanentVideoError("content policy refused the prompt")


class BrokenPoster(PosterRenderer):
    def produce(self, request, workdir):
        raise OSError(5, "Input/output error")  # a broken drawing; a full disk would wait for storage


class SlowRenderer(LocalRenderer):
    """Takes several leases' time to render."""

    name = "slow"
    seconds = 4.0

    def produce(self, request, workdir):
        time.sleep(self.seconds)
        return super().produce(request, workdir)


class FullDisk:
    """`shutil.copyfile` for the file store that fills the disk on the first `failures` copies:
    part of the file is written, then ENOSPC, as a real full disk does."""

    def __init__(self, failures: int) -> None:
        self.failures, self.calls = failures, 0
        self.copy = shutil.copyfile

    def __call__(self, source, target):
        self.calls += 1
        if self.calls <= self.failures:
            Path(target).write_bytes(Path(source).read_bytes()[:4096])
            raise OSError(28, "No space left on device")
        return self.copy(source, target)


@contextmanager
def using_provider(cls: type, monkeypatch) -> Iterator[Settings]:
    """Workers of this test use provider `cls` as the first tier (in the registry's `local` entry) until the
    block ends."""
    previous = providers.register("local", cls)
    with monkeypatch.context() as patched:
        patched.setenv("VIDEO_PROVIDER", "local")
        try:
            yield reload_settings()
        finally:
            providers.unregister("local", restore=previous)
