"""The README's main command: the demo, run as a new user runs it."""

import json
from pathlib import Path

import pytest

from tests.helpers import run_demo
from worker.demo import SEED_USER_IDS, demo_users
from worker.render.probe import check_deliverable, probe_video

pytestmark = pytest.mark.slow


def test_demo_leaves_five_playable_videos_and_five_traces(tmp_path):
    output, result = run_demo(tmp_path)
    assert "Demo results" in result.stdout and "5/5" in result.stdout

    rows = json.loads((output / "results.json").read_text())
    users = {user.user_id: user for user in demo_users()}
    assert sorted(row["user_id"] for row in rows) == sorted(users)
    assert {row["status"] for row in rows} == {"completed"}
    for row in rows:  # the figure rendered is the user's own, stated in the results
        card = max(
            (a for a in users[row["user_id"]].context["accounts"] if a["mask"] == row["card_mask"]),
            key=lambda account: account["balance_current"],
        )
        assert row["utilization_pct"] == pytest.approx(100 * card["balance_current"] / card["balance_limit"], abs=0.1)
    for seed in SEED_USER_IDS:
        if seed not in users:
            assert f"{seed} is not a High Utilization user" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 120, "fits a 120-column terminal"
    assert (output / "results.md").read_text().count("| completed |") == 5

    for row in rows:
        video = Path(row["video_url"].removeprefix("file://"))
        probe = check_deliverable(probe_video(video))
        assert (probe.width, probe.height, probe.duration_seconds, probe.frame_count) == (1280, 720, 8.0, 8 * 24)
        assert row["duration_seconds"] == probe.duration_seconds and row["resolution"] == "1280x720"

        trace = json.loads(Path(row["trace_file"]).read_text())
        [rec] = [r for r in trace["recommendations"]["recommendations"] if r["topic"] == "credit_utilization"]
        assert rec["video_url"] == row["video_url"] and rec["video_metadata"]["status"] == "completed"
        assert rec["video_metadata"]["duration_seconds"] == probe.duration_seconds
        assert [e["event"] for e in trace["video_generation_log"]] == ["queued", "started", "completed"]
