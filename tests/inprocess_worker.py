"""What the in-process test worker runs on: kombu's memory broker and Celery's timer, without their waits.

Out of the box, each message reached the in-process worker up to a second late (kombu's memory
transport sleeps a second between empty polls), and each worker took four to five seconds to stop:
Celery's blocking loop (`celery.worker.loops.synloop`, the one it runs on this transport) waits two
seconds for a message before it looks at its stop flag and once more after it, and the timer thread
sleeps up to a second before it sees its own. A quarter of the suite's time went to those sleeps.

These subclasses only shorten the waits. The queues are still the memory transport's own, shared in
the process, so what the engine publishes on `memory://` reaches this worker unchanged.
"""

from __future__ import annotations

from celery.utils import timer2
from kombu.transport import memory

#: Settings for the in-process worker's app (tests/conftest.py's `celery_config`).
CELERY_SETTINGS = {
    "broker_url": "memory://",
    "broker_transport": f"{__name__}:Transport",
    "worker_timer": f"{__name__}:Timer",
}


class Transport(memory.Transport):
    polling_interval = 0.01
    #: Longest wait for a message before the worker's loop checks whether it should stop.
    longest_wait_s = 0.05

    def drain_events(self, connection, timeout=None):
        if timeout is not None:
            timeout = min(timeout, self.longest_wait_s)
        return super().drain_events(connection, timeout=timeout)


class Timer(timer2.Timer):
    def stop(self) -> None:
        """Wake the timer thread from its idle wait, so it sees the stop flag at once."""
        self._Timer__is_shutdown.set()  # the flag `timer2.Timer.stop` sets, before its wait
        with self.not_empty:
            self.not_empty.notify_all()
        super().stop()
