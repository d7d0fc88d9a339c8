"""Bring the production topology up as local processes, from the Procfile's own commands.

They run against the machine's real Redis (a database number claimed for the test) and
PostgreSQL (a database of the test's own); see tests/topology_fixtures.py. Each process runs in its own
process group so a test can SIGKILL one (and its pool children) the way a crash would.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from honcho.environ import parse_procfile

from worker.worker_process import ChildProcess

ROOT = Path(__file__).resolve().parents[1]


def procfile_commands() -> dict[str, str]:
    return dict(parse_procfile((ROOT / "Procfile").read_text()).processes)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Topology:
    """Processes started from Procfile commands with one shared environment (`ChildProcess` each)."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        # The Procfile names console scripts (celery, spendsense-video): use this interpreter's.
        self.env = {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}
        self.log_dir = log_dir
        self.commands = procfile_commands()
        self.processes: dict[str, ChildProcess] = {}

    def run(self, name: str, timeout_s: float = 120) -> subprocess.CompletedProcess:
        """Run a one-shot process type (release) to completion."""
        return subprocess.run(
            self.commands[name], shell=True, env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s
        )

    def start(self, name: str, label: str | None = None) -> ChildProcess:
        """Start process type `name`; a second one of the same type needs its own `label` (its node
        name and log file)."""
        label = label or name
        command = self.commands[name].replace(f"--hostname={name}@", f"--hostname={label}@")
        child = ChildProcess(command, self.env, self.log_dir / f"{label}.log", cwd=ROOT, signal_group=True)
        self.processes[label] = child.start()
        return child

    def log_text(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_for_log(self, name: str, text: str, timeout_s: float = 60) -> None:
        self.processes[name].wait_for_log(text, timeout_s)

    def kill(self, name: str) -> None:
        """SIGKILL the process type and every child (a crash, not a shutdown)."""
        self.processes.pop(name).kill()

    def stop(self, name: str, grace_s: float = 30) -> None:
        self.processes.pop(name).stop(grace_s)

    def stop_all(self) -> None:
        """Every process shuts down at once (one SIGTERM each), then each is waited for."""
        for child in self.processes.values():
            child.terminate()
        for name in list(self.processes):
            self.stop(name)
