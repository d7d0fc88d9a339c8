"""`spendsense-video verify-urls`: every URL in the traces answers 200 with what it claims, or the command fails."""

from __future__ import annotations

import json

from engine_hooks import save_trace
from tests.asgi_server import free_port
from tests.factories import load_job
from tests.preview_site import render_users
from worker.cli import main
from worker.settings import reload_settings
from worker.traces import trace_path
from worker.web.app import create_app


def test_every_url_answers_until_an_object_is_deleted(sqlite_configured, monkeypatch, capsys):
    from tests.asgi_server import serving

    port = free_port()
    monkeypatch.setenv("VIDEO_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
    settings = reload_settings()
    [job_id] = render_users(("user_0034",))
    save_trace(
        {
            "user_id": "user_0034",
            "recommendations": {"recommendations": [{"topic": "credit_utilization", "video_job_id": job_id}]},
        }
    )
    trace = json.loads(trace_path("user_0034", settings).read_text())
    assert trace["recommendations"]["recommendations"][0]["video_url"].startswith(f"http://127.0.0.1:{port}/")
    with serving(create_app(settings), port=port):
        assert main(["verify-urls"]) == 0
        out = capsys.readouterr().out
        assert "3 URL(s) checked, 0 failed" in out and "8 s 1280x720" in out
        (settings.video_storage_dir / load_job(job_id).video_key).unlink()
        assert main(["verify-urls", "user_0034"]) == 1
        out = capsys.readouterr().out
    assert "404" in out and "FAIL" in out and "1 failed" in out


def test_a_trace_with_nothing_to_check_fails(sqlite_configured, capsys):
    assert main(["verify-urls", "nobody"]) == 1
    assert "unreadable" in capsys.readouterr().out
