"""Keep a running job's claim alive while its worker works: short leases that a dead worker cannot renew.

A claim lasts `VIDEO_LEASE_S` (30 s by default), not the task's time limit. While
the task runs, a daemon thread renews it every third of that, so a slow render or
download keeps its job however long it takes, while the job of a worker that was
killed is free again within one lease: the reconciler re-sends it and the next
claim takes it over. A renewal that finds the job no longer ours (finished, or
taken over after this process stalled for a whole lease) stops the heartbeat.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from worker.jobs import leases

log = logging.getLogger(__name__)


class Heartbeat:
    """`with Heartbeat(job_id, attempt, lease_s):` renews the job's lease until the block ends."""

    def __init__(self, job_id: str, attempt: int, lease_s: float) -> None:
        self.job_id, self.attempt, self.lease_s = job_id, attempt, lease_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{job_id[:8]}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stopped.set()
        self._thread.join(timeout=self.lease_s)

    def _beat(self) -> None:
        while not self._stopped.wait(self.lease_s / 3):
            try:
                if not leases.renew_lease(self.job_id, self.attempt, self.lease_s):
                    return  # finished, or no longer ours
            except Exception as exc:  # the database may come back before the lease runs out
                log.warning("job %s: could not renew its lease: %s", self.job_id, type(exc).__name__)
