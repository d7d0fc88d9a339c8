"""A preview site with real videos: jobs for a few real SpendSense users, rendered by the local renderer.

Used by the browser test and by `python -m tests.preview_site --screenshot docs/preview.png`
(`make docs-images`), which writes the picture README shows; the test run itself never does.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import tempfile
from pathlib import Path

from tests.conftest import SHARED_DIR

USERS = ("user_0034", "user_0059", "user_0001")
PREVIEW_AUTH = "support:preview-only"


def authorization() -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(PREVIEW_AUTH.encode()).decode()}


def render_users(users: tuple[str, ...] = USERS) -> list[str]:
    """Queue each user's video as the engine would, then run its job in this process."""
    from engine_hooks import enqueue_videos
    from worker.tasks import generate_video

    contexts = json.loads((SHARED_DIR / "user_contexts_high_utilization.json").read_text())
    job_ids = []
    for user_id in users:
        recs = [
            {
                "topic": "credit_utilization",
                "disclaimer": "This is educational content, not financial advice. "
                "Consult a licensed advisor for personalized guidance.",
            }
        ]
        [job_id] = enqueue_videos(user_id, contexts[user_id]["persona"], recs, contexts[user_id])
        generate_video.apply(args=[job_id], task_id=job_id)
        job_ids.append(job_id)
    return job_ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshot", type=Path, required=True, help="PNG to write")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="preview-site-"))
    os.environ.update(
        {
            "DATABASE_URL": f"sqlite:///{workdir / 'jobs.sqlite'}",
            "CELERY_BROKER_URL": "memory://",
            "VIDEO_STORAGE_DIR": str(workdir / "videos"),
            "TRACE_DIR": str(workdir / "traces"),
            "VIDEO_GENERATION_ENABLED": "true",
            "VIDEO_PREVIEW_AUTH": PREVIEW_AUTH,
        }
    )
    from tests.asgi_server import serving
    from tests.browser import Browser, chromium_path
    from worker.db.migrate import upgrade_to_head
    from worker.settings import reload_settings
    from worker.web.app import create_app

    settings = reload_settings()
    upgrade_to_head(settings.database_url)
    render_users()
    executable = chromium_path()
    if executable is None:
        print("chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 1
    with serving(create_app(settings)) as base, Browser(executable) as browser:
        browser.open(f"{base}/", headers=authorization())
        browser.wait_for("document.querySelector('video') && document.querySelector('video').readyState >= 2")
        browser.evaluate("document.querySelector('video').currentTime = 7.0")
        browser.wait_for("document.querySelector('video').readyState >= 2 && !document.querySelector('video').seeking")
        args.screenshot.parent.mkdir(parents=True, exist_ok=True)
        browser.screenshot(args.screenshot)
    print(f"wrote {args.screenshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
