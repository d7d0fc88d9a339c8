"""Settings: defaults, the original plan's aliases, and fail-fast errors naming the variable."""

import pytest

from worker.settings import Settings, SettingsError, get_settings, reload_settings


@pytest.fixture(autouse=True)
def _fresh_settings():
    yield
    get_settings.cache_clear()


def test_defaults_are_the_embedded_setup(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "VIDEO_GENERATION_ENABLED", "VIDEO_STORAGE_DIR", "TRACE_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'video_jobs.sqlite'}"
    assert settings.celery_broker_url == f"sqla+sqlite:///{tmp_path / 'data' / 'broker.sqlite'}"
    assert settings.uses_embedded_broker
    assert settings.video_generation_enabled is False
    assert settings.video_provider == "local"
    assert settings.video_storage_dir == tmp_path / "data" / "videos"
    assert settings.trace_dir == tmp_path / "docs" / "traces"


@pytest.mark.parametrize("name", ["VIDEO_GENERATION_ENABLED", "SORA_ENABLED"])
def test_feature_flag_reads_both_names(monkeypatch, name):
    monkeypatch.delenv("VIDEO_GENERATION_ENABLED", raising=False)
    monkeypatch.setenv(name, "true")
    assert reload_settings().video_generation_enabled is True


def test_redis_is_one_setting_away(monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/3")
    settings = reload_settings()
    assert settings.celery_broker_url == "redis://127.0.0.1:6379/3"
    assert not settings.uses_embedded_broker


@pytest.mark.parametrize(
    ("name", "value", "mentions"),
    [
        ("VIDEO_GENERATION_ENABLED", "maybe", "VIDEO_GENERATION_ENABLED"),
        ("VIDEO_PROVIDER", "sora", "unknown provider 'sora'"),
        ("VIDEO_PUBLIC_BASE_URL", "cdn.example.com/videos", "http://"),
        ("CELERY_BROKER_URL", "redsi://localhost", "scheme 'redsi'"),
        ("DATABASE_URL", "not a url", "DATABASE_URL"),
        ("VIDEO_TASK_TIME_LIMIT_S", "5", "VIDEO_TASK_TIME_LIMIT_S"),
    ],
)
def test_bad_values_fail_fast_naming_the_problem(monkeypatch, name, value, mentions):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match="invalid video worker configuration") as caught:
        reload_settings()
    assert mentions in str(caught.value)


def test_public_base_url_loses_its_trailing_slash(monkeypatch):
    monkeypatch.setenv("VIDEO_PUBLIC_BASE_URL", "https://cdn.example.com/videos/")
    assert reload_settings().video_public_base_url == "https://cdn.example.com/videos"


@pytest.mark.parametrize("scheme", ["postgres://", "postgresql://"])
def test_heroku_style_database_urls_use_psycopg(monkeypatch, scheme):
    monkeypatch.setenv("DATABASE_URL", f"{scheme}u:p@db.example.com:5432/videos")
    assert reload_settings().database_url == "postgresql+psycopg://u:p@db.example.com:5432/videos"


def test_the_demo_never_wipes_a_directory_that_is_not_its_own(tmp_path, capsys):
    from worker.cli import main

    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    assert main(["demo", "--output-dir", str(tmp_path)]) == 2
    assert precious.read_text() == "keep me"
    assert "not an earlier demo's output" in capsys.readouterr().err
