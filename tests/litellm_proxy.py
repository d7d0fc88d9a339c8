"""A real LiteLLM proxy for the conformance tests, in its own virtual environment (as in production,
where it is a separate service), in front of the fake Videos API server.

The environment is built once per machine under SPENDSENSE_LITELLM_VENV (default
~/.cache/spendsense-video/litellm-<version>) and reused after that.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.helpers import wait_until

#: The newest release that installs here; pinned, since the quirks docs/gateways.md lists are its own.
LITELLM_VERSION = "1.108.7"
MASTER_KEY = "sk-spendsense-proxy-test"
VENV = Path(
    os.environ.get(
        "SPENDSENSE_LITELLM_VENV", Path.home() / ".cache" / "spendsense-video" / f"litellm-{LITELLM_VERSION}"
    )
)
CONFIG = """\
model_list:
  - model_name: {model}
    litellm_params:
      model: openai/{model}
      api_base: {upstream}
      api_key: {upstream_key}
router_settings:
  num_retries: 0
litellm_settings:
  num_retries: 0
general_settings:
  master_key: {master_key}
"""


def install() -> Path:
    """The proxy's `litellm` command, installing it first if this machine has none. Raises on failure.

    Under a file lock: parallel test processes (pytest-xdist) wait for one install instead of racing."""
    command = VENV / "bin" / "litellm"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / f"{VENV.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not command.exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
            subprocess.run(
                [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", f"litellm[proxy]=={LITELLM_VERSION}"],
                check=True,
                timeout=1200,
            )
    return command


class LiteLLMProxy:
    """`litellm --config …` on a loopback port, forwarding `model` to `upstream` (a Videos API base URL)."""

    def __init__(self, command: Path, upstream: str, upstream_key: str, model: str, port: int, workdir: Path) -> None:
        config = workdir / "litellm.yaml"
        config.write_text(
            CONFIG.format(model=model, upstream=upstream, upstream_key=upstream_key, master_key=MASTER_KEY)
        )
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self.log = workdir / "litellm.log"
        # Its own service: none of our settings (DATABASE_URL would turn on its key database).
        env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
        env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"})
        self.process = subprocess.Popen(
            [str(command), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )

    def wait_until_ready(self, timeout_s: float = 120) -> None:
        def answers() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError("the LiteLLM proxy exited:\n" + self.log.read_text()[-3000:])
            try:
                with urllib.request.urlopen(self.base_url.removesuffix("/v1") + "/health/liveliness", timeout=2):
                    return True
            except OSError:
                return False

        wait_until(answers, timeout_s, interval_s=0.5, what="the LiteLLM proxy answers")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
