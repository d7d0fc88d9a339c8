"""Child processes with their output in a log file: a real `celery -A worker worker` for the demo, tests
and benchmarks (`WorkerProcess`), and any other command (`ChildProcess`; the topology tests start the
Procfile's process types with it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Self

#: How long a child gets to finish its current work after SIGTERM before it is killed.
STOP_GRACE_S = 30
#: How often `wait_for_log` reads the log.
LOG_POLL_S = 0.1


class ChildProcess:
    """A command in its own process group (so a crash can be simulated with one SIGKILL), its output
    appended to `log_path`.

    `command` is an argument list, or a shell command line (a Procfile entry). `signal_group`: SIGTERM
    goes to the whole group (a shell and what it started) rather than to the child alone.
    """

    def __init__(
        self,
        command: list[str] | str,
        env: dict[str, str],
        log_path: Path,
        *,
        cwd: Path | None = None,
        signal_group: bool = False,
    ) -> None:
        self.command, self.env, self.log_path, self.cwd = command, env, log_path, cwd
        self.signal_group = signal_group
        self.process: subprocess.Popen[bytes] | None = None
        self._terminated = False

    def start(self) -> Self:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._terminated = False
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                self.command,
                shell=isinstance(self.command, str),
                env=self.env,
                cwd=self.cwd,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, text: str, timeout_s: float = 60) -> None:
        """Return once the log holds `text`. Raises RuntimeError (with the log's end) if the process
        exits first or `timeout_s` passes."""
        deadline = time.monotonic() + timeout_s
        while text not in self.log_text():
            if not self.running():
                raise RuntimeError(f"{self.log_path.stem} exited before logging {text!r}:\n{self.log_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.log_path.stem} never logged {text!r}:\n{self.log_text()[-3000:]}")
            time.sleep(LOG_POLL_S)

    def stop(self, grace_s: float = STOP_GRACE_S) -> int | None:
        """SIGTERM (a warm shutdown) unless `terminate` sent it, then SIGKILL the whole group if it lingers."""
        if self.process is None:
            return None
        self.terminate()
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.kill()
        return self.process.returncode

    def terminate(self) -> None:
        """Send SIGTERM once, without waiting: several processes then shut down side by side."""
        if self.process is None or self.process.poll() is not None or self._terminated:
            return
        self._terminated = True
        try:
            if self.signal_group:
                os.killpg(self.process.pid, signal.SIGTERM)
            else:
                self.process.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL the child and everything it started at once, as a crash would."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class WorkerProcess(ChildProcess):
    """A `celery -A worker worker` child (SIGTERM to the worker itself: Celery's warm shutdown)."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        *,
        concurrency: int = 2,
        name: str = "worker",
        extra_args: tuple[str, ...] = (),
        cwd: Path | None = None,
    ) -> None:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker",
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            "-n",
            f"{name}-{os.getpid()}@%h",
            *extra_args,
        ]
        super().__init__(command, env, log_path, cwd=cwd)
