"""The engine's two calls, on the real SpendSense shapes from ../shared/spendsense: queueing videos."""

from __future__ import annotations

import copy
import json
import re

import pytest

from engine_hooks import attach_video_trace, enqueue_videos
from tests.conftest import SHARED_DIR
from tests.engine_calls import TRACE_FILES, engine_call, published_messages
from tests.factories import OUTCOME, event_names, load_job
from worker.jobs import leases, recorder
from worker.settings import reload_settings


@pytest.fixture(autouse=True)
def _empty_queue():
    published_messages()
    yield
    published_messages()


@pytest.mark.parametrize("trace_file", TRACE_FILES, ids=lambda p: p.stem)
def test_real_traces_queue_one_job_per_credit_utilization_recommendation(configured, signals, trace_file):
    trace, user_id, persona, recs, context = engine_call(trace_file, signals)
    wanted = [rec for rec in recs if rec.get("topic") == "credit_utilization"]
    untouched = [copy.deepcopy(rec) for rec in recs if rec.get("topic") != "credit_utilization"]

    job_ids = enqueue_videos(user_id, persona, recs, context)

    assert len(job_ids) == len(wanted)
    assert [rec["video_job_id"] for rec in wanted] == job_ids
    assert all(rec["video_status"] == "queued" for rec in wanted)
    assert [rec for rec in recs if rec.get("topic") != "credit_utilization"] == untouched
    for job_id in job_ids:
        job = load_job(job_id)
        # No accounts in this context: the utilization-only storyboard, from the signal, with the rec's disclaimer.
        assert job.input["figures"]["start_utilization_pct"] == round(signals[user_id]["credit_max_util_pct"])
        assert job.input["figures"]["card"] is None
        assert job.input["disclaimer"] == wanted[0]["disclaimer"]
        assert job.status == "queued" and event_names(job_id) == ["queued"]
    messages = published_messages()
    assert [m.payload[0] for m in messages] == [[job_id] for job_id in job_ids]


def test_messages_carry_only_the_job_id(configured, signals):
    trace, user_id, persona, recs, context = engine_call(SHARED_DIR / "traces" / "user_0034.json", signals)
    [job_id] = enqueue_videos(user_id, persona, recs, context)
    [message] = published_messages()
    args, kwargs, _embed = message.payload
    assert (args, kwargs) == ([job_id], {})
    assert message.headers["task"] == "generate_video" and message.headers["id"] == job_id
    body = message.body.decode() if isinstance(message.body, bytes) else str(message.body)
    wire = json.dumps({**message.headers, "origin": None}) + body
    wire = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", wire)  # ids are random
    for private in (user_id, "94.77", "95", "2385", "High Utilization"):
        assert private not in wire


def test_feature_flag_off_is_a_no_op(configured, monkeypatch, signals):
    monkeypatch.setenv("VIDEO_GENERATION_ENABLED", "false")
    reload_settings()
    trace, user_id, persona, recs, context = engine_call(SHARED_DIR / "traces" / "user_0001.json", signals)
    before = copy.deepcopy(recs)
    assert enqueue_videos(user_id, persona, recs, context) == []
    assert recs == before and published_messages() == []
    assert attach_video_trace(copy.deepcopy(trace)) == trace


def test_sora_enabled_still_turns_it_on(configured, monkeypatch):
    monkeypatch.delenv("VIDEO_GENERATION_ENABLED")
    monkeypatch.setenv("SORA_ENABLED", "1")
    reload_settings()
    recs = [{"topic": "credit_utilization"}]
    assert len(enqueue_videos("user_0001", "High Utilization", recs, {"credit_max_util_pct": 50})) == 1


@pytest.mark.parametrize(
    "context",
    [
        {"signals": {"credit_max_util_pct": 61.2}},
        {"credit_max_util_pct": 61.2},
        {"signals": {"credit": {"current": {"max_utilization_pct": 61.2}}}},
    ],
    ids=["signals-table", "flat", "trace-shape"],
)
@pytest.mark.parametrize("persona", ["High Utilization", "high_utilization"])
def test_accepts_every_shape_the_engine_uses(configured, context, persona):
    recs = [{"topic": "credit_utilization"}]
    [job_id] = enqueue_videos("user_0007", persona, recs, context)
    assert load_job(job_id).input["figures"]["start_utilization_pct"] == 61


@pytest.mark.parametrize(
    ("persona", "context", "message"),
    [
        ("Crypto Whale", {"credit_max_util_pct": 60}, "unknown persona 'Crypto Whale'"),
        ("Savings Builder", {"credit_max_util_pct": 60}, "no video template"),
        ("High Utilization", {}, "credit utilization is missing"),
        ("High Utilization", {"credit_max_util_pct": float("nan")}, "not a finite number"),
        ("High Utilization", {"credit_max_util_pct": -3}, "outside 0–100%"),
        ("High Utilization", {"credit_max_util_pct": 2852.0}, "2852% is outside 0–100%"),
        ("High Utilization", "not a dict", "user_context must be a dict"),
    ],
)
def test_bad_input_is_an_error_on_the_recommendation(configured, persona, context, message):
    recs = [{"topic": "credit_utilization", "title": "t"}, {"topic": "autopay"}]
    assert enqueue_videos("user_0001", persona, recs, context) == []
    assert recs[0]["video_status"] == "invalid" and recs[0]["video_error"].startswith("invalid_input: ")
    assert message in recs[0]["video_error"]
    assert "video_job_id" not in recs[0] and recs[1] == {"topic": "autopay"}
    assert published_messages() == []


def test_non_dict_recommendations_are_skipped_not_fatal(configured):
    recs = ["just a string", None, {"topic": "credit_utilization"}]
    assert len(enqueue_videos("user_0001", "High Utilization", recs, {"credit_max_util_pct": 80})) == 1
    assert recs[:2] == ["just a string", None]
    assert enqueue_videos("user_0001", "High Utilization", "not a list", {}) == []


def test_enqueue_is_idempotent_for_the_same_request(configured):
    first = [{"topic": "credit_utilization"}]
    second = [{"topic": "credit_utilization"}]
    assert enqueue_videos("user_0001", "High Utilization", first, {"credit_max_util_pct": 73}) == enqueue_videos(
        "user_0001", "High Utilization", second, {"credit_max_util_pct": 73.1}
    )
    assert len(published_messages()) == 1


def test_an_identical_finished_video_is_attached_at_once(configured):
    [donor] = enqueue_videos(
        "user_0001", "High Utilization", [{"topic": "credit_utilization"}], {"credit_max_util_pct": 73}
    )
    leases.claim(donor, retries=0, lease_s=60)
    recorder.complete(donor, OUTCOME, attempt=1)
    published_messages()
    recs = [{"topic": "credit_utilization"}]
    [job_id] = enqueue_videos("user_0004", "High Utilization", recs, {"credit_max_util_pct": 73})
    assert job_id != donor and recs[0]["video_status"] == "completed"
    assert recs[0]["video_url"] == OUTCOME.video_url
    assert recs[0]["video_metadata"]["resolution"] == "1280x720"
    assert published_messages() == [], "no render for a video that already exists"
    assert load_job(job_id).reused_from_job_id == donor and event_names(job_id) == ["reused"]


def test_a_failed_job_is_requeued_when_asked_again(configured):
    recs = [{"topic": "credit_utilization"}]
    [job_id] = enqueue_videos("user_0001", "High Utilization", recs, {"credit_max_util_pct": 73})
    recorder.fail(job_id, RuntimeError("boom"), attempt=0)
    published_messages()
    again = [{"topic": "credit_utilization"}]
    assert enqueue_videos("user_0001", "High Utilization", again, {"credit_max_util_pct": 73}) == [job_id]
    assert again[0]["video_status"] == "queued" and len(published_messages()) == 1
    assert event_names(job_id) == ["queued", "failed", "requeued"]


def test_a_new_job_is_one_row_and_one_event_on_every_backend(configured):
    """The one-statement insert (a writable CTE on PostgreSQL) writes exactly what the slower path would."""
    recs = [{"topic": "credit_utilization"}]
    [job_id] = enqueue_videos("user_0001", "High Utilization", recs, {"credit_max_util_pct": 73})
    job = load_job(job_id)
    assert (job.status, job.attempt, job.enqueue_count, job.user_id) == ("queued", 0, 1, "user_0001")
    assert job.input["figures"]["start_utilization_pct"] == 73 and job.created_at.tzinfo is not None
    assert [(e.event, e.status, e.attempt, e.created_at) for e in job.events] == [
        ("queued", "queued", 0, job.created_at)
    ]


def _parquet_row(user_id: str):
    import pandas as pd

    frame = pd.read_parquet(SHARED_DIR / "signals.parquet")
    return frame[frame["user_id"] == user_id]


@pytest.mark.parametrize("shape", ["series", "one-row frame"])
def test_a_row_of_signals_parquet_is_read_as_the_readme_says(configured, shape):
    row = _parquet_row("user_0001")
    signals = row.iloc[0] if shape == "series" else row
    recs = [{"topic": "credit_utilization"}]
    [job_id] = enqueue_videos("user_0001", "High Utilization", recs, {"signals": signals})
    expected = round(float(row.iloc[0]["credit_max_util_pct"]))
    assert load_job(job_id).input["figures"]["start_utilization_pct"] == expected


@pytest.mark.parametrize("value", ["float32", "float64", "int64"])
def test_numpy_scalars_are_numbers(configured, value):
    import numpy as np

    recs = [{"topic": "credit_utilization"}]
    number = getattr(np, value)(73)
    [job_id] = enqueue_videos("user_0001", "High Utilization", recs, {"signals": {"credit_max_util_pct": number}})
    assert load_job(job_id).input["figures"]["start_utilization_pct"] == 73
    accounts = [
        {
            "account_type": "credit",
            "balance_current": np.float64(7385.34),
            "balance_limit": np.int64(10_000),
            "iso_currency_code": "USD",
            "mask": "6342",
        }
    ]
    recs = [{"topic": "credit_utilization"}]
    [job_id] = enqueue_videos("user_0002", "High Utilization", recs, {"accounts": accounts})
    assert load_job(job_id).input["figures"]["card"]["balance"] == 7385


def test_a_table_of_many_users_is_not_one_users_signals(configured):
    import pandas as pd

    recs = [{"topic": "credit_utilization"}]
    frame = pd.read_parquet(SHARED_DIR / "signals.parquet")
    assert enqueue_videos("user_0001", "High Utilization", recs, {"signals": frame}) == []
    assert recs[0]["video_status"] == "invalid" and "expected this user's one row" in recs[0]["video_error"]


def test_warm_up_rehearses_without_writing_or_sending_anything(configured):
    from sqlalchemy import func, select

    from engine_hooks import warm_up
    from worker.db.models import VideoJob, VideoJobEvent
    from worker.db.session import session_scope

    assert warm_up() is True
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(VideoJob)) == 0
        assert session.scalar(select(func.count()).select_from(VideoJobEvent)) == 0
    assert published_messages() == []
    recs = [{"topic": "credit_utilization"}]
    [job_id] = enqueue_videos("user_0001", "High Utilization", recs, {"credit_max_util_pct": 73})
    assert recs[0]["video_status"] == "queued" and event_names(job_id) == ["queued"]
