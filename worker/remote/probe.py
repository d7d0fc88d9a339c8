"""`spendsense-video probe`: does the configured server speak the Videos API? Costs nothing.

Only free requests are made (list, retrieve of an id that cannot exist, and one
request with a wrong key); nothing is ever created. Each check says plainly
what is wrong and what to change.
"""

from __future__ import annotations

from dataclasses import dataclass

import openai

import worker.remote.api  # noqa: F401  (installs the deliberate deprecation-warning filter)
from worker.remote.sunsets import sunset_message
from worker.settings import Settings

#: An id no server will have; retrieving it must give the protocol's 404 error shape.
PROBE_VIDEO_ID = "video_spendsense_probe_does_not_exist"


@dataclass(frozen=True)
class Check:
    name: str
    verdict: str  # "ok", "warn" or "fail"
    detail: str


def probe_server(settings: Settings) -> list[Check]:
    """Run every check against VIDEO_API_BASE_URL with VIDEO_API_KEY and VIDEO_MODEL."""
    base_url, model = settings.video_api_base_url, settings.video_model
    if not base_url or settings.video_api_key is None:
        return [Check("configuration", "fail", "set VIDEO_API_BASE_URL and VIDEO_API_KEY (and VIDEO_MODEL)")]
    checks = [_model_check(model)]
    client = openai.OpenAI(base_url=base_url, api_key=settings.video_api_key.get_secret_value(),
                           timeout=settings.video_api_timeout_s, max_retries=0)
    try:
        checks.append(_list_check(client, base_url))
        if checks[-1].verdict != "fail":
            checks.append(_retrieve_check(client))
            checks.append(_auth_check(base_url, settings.video_api_timeout_s))
    finally:
        client.close()
    return checks


def _model_check(model: str) -> Check:
    if not model:
        return Check("model", "fail", "VIDEO_MODEL is not set")
    if message := sunset_message(model):
        return Check("model", "fail", message)
    return Check("model", "ok", f"{model} has no known shutdown date")


def _list_check(client: openai.OpenAI, base_url: str) -> Check:
    try:
        page = client.videos.list(limit=1)
    except openai.AuthenticationError:
        return Check("list GET /videos", "fail", "the server rejected VIDEO_API_KEY (401)")
    except openai.NotFoundError:
        return Check("list GET /videos", "fail",
                     f"{base_url}/videos does not exist (404): check the base URL, which usually ends in /v1")
    except openai.APIConnectionError as exc:
        return Check("list GET /videos", "fail", f"cannot reach {base_url}: {exc}")
    except openai.APIStatusError as exc:
        return Check("list GET /videos", "fail", f"answered {exc.status_code}: {exc.message}")
    except (openai.OpenAIError, ValueError) as exc:
        return Check("list GET /videos", "fail", f"the reply is not a Videos API list: {type(exc).__name__}")
    return Check("list GET /videos", "ok", f"answered with a video list ({len(page.data)} item(s) on page 1)")


def _retrieve_check(client: openai.OpenAI) -> Check:
    try:
        client.videos.retrieve(PROBE_VIDEO_ID)
    except openai.NotFoundError as exc:
        if isinstance(exc.body, dict) and "message" in exc.body:
            return Check("retrieve GET /videos/{id}", "ok", "an unknown id gives 404 with an OpenAI error body")
        return Check("retrieve GET /videos/{id}", "warn", "404 for an unknown id, but not in OpenAI's error shape")
    except (openai.OpenAIError, ValueError) as exc:
        return Check("retrieve GET /videos/{id}", "fail", f"unexpected answer for an unknown id: {exc}")
    return Check("retrieve GET /videos/{id}", "fail", "the server returned a video for an id that cannot exist")


def _auth_check(base_url: str, timeout_s: float) -> Check:
    stranger = openai.OpenAI(base_url=base_url, api_key="sk-spendsense-probe-wrong-key", timeout=timeout_s,
                             max_retries=0)
    try:
        stranger.videos.list(limit=1)
    except openai.AuthenticationError:
        return Check("authentication", "ok", "a wrong key is refused with 401")
    except (openai.OpenAIError, ValueError) as exc:
        return Check("authentication", "warn", f"a wrong key gives {type(exc).__name__}, not 401")
    finally:
        stranger.close()
    return Check("authentication", "warn", "the server accepts any key: anyone who reaches it can spend money")
