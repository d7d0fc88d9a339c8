"""Operating the remote provider: start-up checks, the conformance probe, the status output, the demo."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tests.fake_videos_api import API_KEY
from tests.helpers import run_demo
from worker.ops.overview import overview, render
from worker.remote.breaker import trip
from worker.remote.probe import probe_server
from worker.remote.sunsets import shutdown_date, sunset_message
from worker.settings import SettingsError, get_settings, reload_settings


@pytest.fixture
def remote_settings(remote_env):
    """`remote_settings(**overrides)`: the settings of the remote provider pointed at the fake server."""

    def apply(**overrides: str):
        remote_env(**overrides)
        return get_settings()

    return apply


@pytest.mark.parametrize("missing", ["VIDEO_API_BASE_URL", "VIDEO_MODEL"])
def test_openai_provider_without_its_settings_fails_fast(remote_settings, monkeypatch, missing):
    remote_settings()
    monkeypatch.delenv(missing)
    with pytest.raises(SettingsError, match=f"VIDEO_PROVIDER=openai needs {missing}"):
        reload_settings()


def test_api_key_falls_back_to_sora_then_openai_key_and_never_prints(remote_settings, monkeypatch):
    remote_settings()
    monkeypatch.delenv("VIDEO_API_KEY")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-openai")
    assert reload_settings().video_api_key.get_secret_value() == "sk-from-openai"
    monkeypatch.setenv("SORA_API_KEY", "sk-from-sora")
    settings = reload_settings()
    assert settings.video_api_key.get_secret_value() == "sk-from-sora"
    assert "sk-from-sora" not in repr(settings) and "sk-from-sora" not in str(settings.model_dump())
    monkeypatch.delenv("SORA_API_KEY")
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(SettingsError, match="VIDEO_API_KEY"):
        reload_settings()


def test_small_sizes_and_long_timeouts_are_refused(remote_settings):
    with pytest.raises(SettingsError, match="under 1280x720"):
        remote_settings(VIDEO_SIZE="854x480")
    with pytest.raises(SettingsError, match="VIDEO_API_TIMEOUT_S"):
        remote_settings(VIDEO_SIZE="1920x1080", VIDEO_API_TIMEOUT_S="300")


def test_sunset_registry_knows_sora_and_its_snapshots():
    for model in ("sora-2", "sora-2-pro", "sora-2-2025-10-06", "sora-2-pro-2025-10-06"):
        assert shutdown_date(model) == date(2026, 9, 24)
    assert shutdown_date("sora-20") is None and shutdown_date("wan-2.2") is None
    assert sunset_message("sora-2", today=date(2026, 9, 23)) is None
    assert "shut down on 2026-09-24" in sunset_message("sora-2", today=date(2026, 9, 24))
    assert "shut down" in sunset_message(" Sora-2 ", today=date(2026, 9, 24)), "as sloppily typed in an env file"


def test_probe_passes_a_conforming_server(remote_settings):
    checks = probe_server(remote_settings())
    assert [c.verdict for c in checks] == ["ok", "ok", "ok", "ok"], checks


def test_probe_explains_a_wrong_base_url_a_bad_key_and_a_dead_model(remote_settings, fake):
    wrong_path = probe_server(remote_settings(VIDEO_API_BASE_URL=fake.base_url.removesuffix("/v1")))
    assert any(c.verdict == "fail" and "usually ends in /v1" in c.detail for c in wrong_path)
    bad_key = probe_server(remote_settings(VIDEO_API_KEY="sk-nope"))
    assert any(c.verdict == "fail" and "rejected VIDEO_API_KEY" in c.detail for c in bad_key)
    dead = probe_server(remote_settings(VIDEO_MODEL="sora-2"))
    assert dead[0].verdict == "fail" and "no successor" in dead[0].detail
    assert fake.jobs_created == 0 and sum(fake.create_calls.values()) == 0, "probing never pays"


def test_probe_warns_about_a_server_that_takes_any_key(remote_settings, fake):
    settings = remote_settings()
    fake.api_key = None  # an open server
    checks = probe_server(settings)
    assert [c.verdict for c in checks] == ["ok", "ok", "ok", "warn"]
    assert "accepts any key" in checks[-1].detail


def test_status_lists_counts_and_open_breakers(sqlite_configured):
    trip("http://gateway/v1", "veo-3", "create answered 410: model_not_found", cooldown_s=60)
    text = render(overview())
    assert "jobs: 0 queued, 0 running, 0 completed, 0 failed" in text
    assert "circuit breakers open: 1" in text and "veo-3 at http://gateway/v1" in text


@pytest.mark.slow
def test_demo_on_the_remote_path_stores_videos_locally(fake, tmp_path):
    output, _ = run_demo(
        tmp_path,
        VIDEO_PROVIDER="openai",
        VIDEO_API_BASE_URL=fake.base_url,
        VIDEO_API_KEY=API_KEY,
        VIDEO_MODEL="wan-2.2",
    )
    rows = json.loads((output / "results.json").read_text())
    assert {row["provider"] for row in rows} == {"openai"} and len(rows) == 5
    assert fake.jobs_created == 5 and all(count == 1 for count in fake.create_calls.values())
    for row in rows:
        assert Path(row["video_url"].removeprefix("file://")).is_relative_to(output / "videos")
        trace = json.loads(Path(row["trace_file"]).read_text())
        [rec] = [r for r in trace["recommendations"]["recommendations"] if r["topic"] == "credit_utilization"]
        assert rec["video_metadata"]["provider"] == "openai" and rec["video_metadata"]["remote_id"] in fake.jobs
        assert "submitted" in [e["event"] for e in trace["video_generation_log"]]
