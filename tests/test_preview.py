"""`spendsense-video preview`: a contact sheet of a user's video, from the database or from contexts."""

from __future__ import annotations

from PIL import Image

from engine_hooks import enqueue_videos
from tests.conftest import SHARED_DIR
from tests.storyboards import card_context
from worker.cli import main
from worker.preview import KEY_TIMES_S, TILE

CONTEXTS = SHARED_DIR / "user_contexts_high_utilization.json"


def test_preview_from_engine_contexts_writes_every_key_frame_and_the_poster(tmp_path, capsys):
    out = tmp_path / "sheet.png"
    assert main(["preview", "user_0034", "--contexts", str(CONTEXTS), "--out", str(out)]) == 0
    sheet = Image.open(out)
    rows = -(-(len(KEY_TIMES_S) + 1) // 3)
    assert sheet.width > 3 * TILE[0] and sheet.height > rows * TILE[1]
    assert str(out) in capsys.readouterr().out


def test_preview_from_the_users_newest_job(sqlite_configured, tmp_path):
    recs = [{"topic": "credit_utilization", "disclaimer": "Educational only."}]
    assert enqueue_videos("user_0099", "High Utilization", recs, card_context(7_000, 10_000))
    out = tmp_path / "db.png"
    assert main(["preview", "user_0099", "--out", str(out)]) == 0
    assert Image.open(out).width > 3 * TILE[0]


def test_preview_of_an_unknown_user_says_so(sqlite_configured, tmp_path, capsys):
    assert main(["preview", "nobody", "--out", str(tmp_path / "x.png")]) == 1
    assert "no video job for nobody" in capsys.readouterr().err
    assert main(["preview", "nobody", "--contexts", str(CONTEXTS), "--out", str(tmp_path / "x.png")]) == 1
    assert "nobody is not in" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
