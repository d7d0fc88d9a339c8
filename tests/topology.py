"""Bring the production topology up as local processes, from the Procfile's own commands.

They run against the machine's real Redis (a database number claimed for the test) and
PostgreSQL (a database of the test's own); see tests/topology_fixtures.py. Each process runs in its own
process group so a test can SIGKILL one (and its pool children) the way a crash would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from honcho.environ import parse_procfile

ROOT = Path(__file__).resolve().parents[1]


def procfile_commands() -> dict[str, str]:
    return dict(parse_procfile((ROOT / "Procfile").read_text()).processes)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Topology:
    """Processes started from Procfile commands with one shared environment."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        # The Procfile names console scripts (celery, spendsense-video): use this interpreter's.
        self.env = {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}
        self.log_dir = log_dir
        self.commands = procfile_commands()
        self.processes: dict[str, subprocess.Popen] = {}

    def run(self, name: str, timeout_s: float = 120) -> subprocess.CompletedProcess:
        """Run a one-shot process type (release) to completion."""
        return subprocess.run(
            self.commands[name], shell=True, env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s
        )

    def start(self, name: str, label: str | None = None) -> subprocess.Popen:
        """Start process type `name`; a second one of the same type needs its own `label` (its node
        name and log file)."""
        label = label or name
        command = self.commands[name].replace(f"--hostname={name}@", f"--hostname={label}@")
        log = (self.log_dir / f"{label}.log").open("ab")
        process = subprocess.Popen(
            command,
            shell=True,
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self.processes[label] = process
        return process

    def log_text(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_for_log(self, name: str, text: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while text not in self.log_text(name):
            if self.processes[name].poll() is not None:
                raise AssertionError(f"{name} exited:\n{self.log_text(name)[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} never logged {text!r}:\n{self.log_text(name)[-3000:]}")
            time.sleep(0.1)

    def kill(self, name: str) -> None:
        """SIGKILL the process type and every child (a crash, not a shutdown)."""
        process = self.processes.pop(name)
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()

    def stop(self, name: str, grace_s: float = 30) -> None:
        process = self.processes.pop(name)
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=grace_s)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)
