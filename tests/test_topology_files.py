"""compose.yaml, the Procfile and the Dockerfile describe one topology, and the delivery settings hold."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from honcho.environ import parse_procfile

from worker.celery_app import celery_config, visibility_timeout_s
from worker.remote.generation import MAX_POLL_S
from worker.settings import Settings
from worker.tasks import LEASE_GRACE_S, RETRY_BACKOFF_MAX_S, STORAGE_BACKOFF_MAX_S, generate_video

ROOT = Path(__file__).resolve().parents[1]
PROCFILE = dict(parse_procfile((ROOT / "Procfile").read_text()).processes)
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]


def test_procfile_has_every_process_type():
    assert set(PROCFILE) == {"release", "worker", "maintenance", "beat", "flower"}
    assert PROCFILE["release"] == "spendsense-video migrate"
    assert "--task-events" in PROCFILE["worker"] and "--conf=flowerconfig.py" in PROCFILE["flower"]
    assert all("${" in PROCFILE[name] for name in ("worker", "beat", "flower")), "configured from the environment"
    assert "--queues=video-maintenance" in PROCFILE["maintenance"] and "--queues" not in PROCFILE["worker"], (
        "the maintenance worker consumes only the reconciler's lane; video workers consume every queue"
    )


@pytest.mark.parametrize(
    ("service", "process"),
    [
        ("migrate", "release"),
        ("worker", "worker"),
        ("beat", "beat"),
        ("maintenance", "maintenance"),
        ("flower", "flower"),
    ],
)
def test_compose_runs_the_procfile_commands(service, process):
    assert SERVICES[service]["entrypoint"] == ["sh", "-c"]
    [command] = SERVICES[service]["command"]
    # Compose would substitute ${...} from the host; `$$` leaves it to the container's shell.
    assert "${" not in command.replace("$${", "")
    assert command.replace("$$", "$") == PROCFILE[process]
    if process != "release":
        assert command.startswith("exec "), "the process, not sh, must get SIGTERM"


def test_compose_services_start_in_order_on_healthy_dependencies():
    assert {"redis", "postgres", "migrate", "worker", "maintenance", "beat", "flower"} <= set(SERVICES)
    for service in ("redis", "postgres"):
        assert SERVICES[service]["healthcheck"]["test"]
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert SERVICES["migrate"]["restart"] == "no"
    for service in ("worker", "maintenance", "beat"):
        assert SERVICES[service]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert SERVICES[service]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_named_volumes_keep_the_database_the_objects_and_the_scratch():
    assert set(COMPOSE["volumes"]) == {"pgdata", "videos", "objects"}
    assert "pgdata:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]
    assert "objects:/data" in SERVICES["minio"]["volumes"]
    assert SERVICES["worker"]["environment"]["VIDEO_STORAGE_DIR"].startswith("/data")
    assert "videos:/data" in SERVICES["worker"]["volumes"]


def test_worker_and_beat_store_videos_in_the_object_store_once_its_bucket_exists():
    bucket = SERVICES["create-bucket"]
    assert bucket["depends_on"]["minio"]["condition"] == "service_healthy" and bucket["restart"] == "no"
    assert "mc mb --ignore-existing store/videos" in bucket["command"][0]
    assert "anonymous" not in bucket["command"][0], "objects are never public"
    assert SERVICES["minio"]["healthcheck"]["test"]
    for service in ("worker", "beat"):
        env = SERVICES[service]["environment"]
        assert env["VIDEO_STORAGE_URL"] == "s3://videos/spendsense"
        assert env["AWS_ENDPOINT_URL"] == "http://minio:9000" and env["AWS_SECRET_ACCESS_KEY"].startswith("${")
        assert SERVICES[service]["depends_on"]["create-bucket"]["condition"] == "service_completed_successfully"
        Settings(**{key: value for key, value in env.items() if not value.startswith("$")})  # valid settings
    assert all(port.startswith("127.0.0.1:") for port in SERVICES["minio"]["ports"])


def test_the_procfile_documents_the_storage_variables():
    text = (ROOT / "Procfile").read_text()
    for variable in ("VIDEO_STORAGE_URL", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "VIDEO_PUBLIC_BASE_URL"):
        assert variable in text


def test_flower_is_local_only_and_needs_credentials_from_the_environment():
    flower = SERVICES["flower"]
    assert all(port.startswith("127.0.0.1:") for port in flower["ports"])
    assert flower["environment"]["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")
    assert "ports" not in SERVICES["worker"] and "ports" not in SERVICES["postgres"]


def test_the_image_contains_what_the_commands_need():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for needed in ("worker", "engine_hooks", "migrations", "flowerconfig.py", "pip install ."):
        assert needed in dockerfile


@pytest.mark.parametrize("time_limit_s", [10, 600, 3600])
def test_delivery_settings_keep_their_invariants(time_limit_s):
    settings = Settings(CELERY_BROKER_URL="redis://127.0.0.1:6379/0", VIDEO_TASK_TIME_LIMIT_S=time_limit_s)
    config = celery_config(settings)
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["task_retry_on_worker_lost"], "a lost worker costs a bounded retry, not an endless loop"
    assert config["worker_prefetch_multiplier"] == 1
    broker_vt = config["broker_transport_options"]["visibility_timeout"]
    assert broker_vt == visibility_timeout_s(settings)
    assert not any(name.startswith("result_") for name in config), "no result backend: status lives in video_jobs"
    longest_countdown_s = max(RETRY_BACKOFF_MAX_S, STORAGE_BACKOFF_MAX_S, MAX_POLL_S, time_limit_s + LEASE_GRACE_S)
    assert broker_vt > longest_countdown_s and broker_vt > config["task_time_limit"]
    assert 0 < config["task_soft_time_limit"] < config["task_time_limit"] == time_limit_s
    assert config["worker_soft_shutdown_timeout"] > 0 and config["worker_enable_soft_shutdown_on_idle"]
    assert config["worker_send_task_events"], "Flower sees workers' events"
    assert not config["task_send_sent_event"], "the engine publishes one message per job, nothing else"
    assert config["task_serializer"] == "json" and config["accept_content"] == ["json"]
    assert config["task_ignore_result"], "status lives in video_jobs, never in a result backend"
    assert generate_video.max_retries == 3 and generate_video.acks_late
