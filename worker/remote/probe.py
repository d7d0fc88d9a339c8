"""`spendsense-video probe`: does the configured server speak the Videos API? Costs nothing.

Only free requests are made (list, retrieve of an id that cannot exist, and one
request with a wrong key); nothing is ever created. Each check says plainly
what is wrong and what to change. Listing is optional (gateways such as
LiteLLM's proxy do not pass it on): without it the probe warns that crash
recovery is limited instead of failing the server. A server that looks like a
LiteLLM proxy gets a warning about what that means for cost (docs/gateways.md).
"""

from __future__ import annotations

from collections.abc import Mapping
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
    client = openai.OpenAI(
        base_url=base_url,
        api_key=settings.video_api_key.get_secret_value(),
        timeout=settings.video_api_timeout_s,
        max_retries=0,
    )
    try:
        checks.append(_list_check(client, base_url))
        if checks[-1].verdict != "fail":
            retrieve, headers = _retrieve_check(client)
            checks.append(retrieve)
            checks.append(_auth_check(base_url, settings.video_api_timeout_s))
            checks += _gateway_checks(headers)
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
        return Check(
            "list GET /videos",
            "fail",
            f"{base_url}/videos does not exist (404): check the base URL, which usually ends in /v1",
        )
    except openai.APIConnectionError as exc:
        return Check("list GET /videos", "fail", f"cannot reach {base_url}: {exc}")
    except openai.APIStatusError as exc:
        return Check(
            "list GET /videos",
            "warn",
            f"listing is not available (answered {exc.status_code}), so crash recovery is limited: a create "
            "whose answer was lost cannot be looked up, so the job falls back to the local renderer rather "
            "than risk paying twice",
        )
    except (openai.OpenAIError, ValueError) as exc:
        return Check("list GET /videos", "fail", f"the reply is not a Videos API list: {type(exc).__name__}")
    return Check("list GET /videos", "ok", f"answered with a video list ({len(page.data)} item(s) on page 1)")


def _retrieve_check(client: openai.OpenAI) -> tuple[Check, Mapping[str, str]]:
    """The check, and the answer's headers (which say whether a gateway answered)."""
    name = "retrieve GET /videos/{id}"
    try:
        response = client.videos.with_raw_response.retrieve(PROBE_VIDEO_ID)
    except openai.NotFoundError as exc:
        headers = exc.response.headers
        if isinstance(exc.body, dict) and "message" in exc.body:
            return Check(name, "ok", "an unknown id gives 404 with an OpenAI error body"), headers
        return Check(name, "warn", "404 for an unknown id, but not in OpenAI's error shape"), headers
    except openai.APIStatusError as exc:
        headers = exc.response.headers
        if _litellm_marks(headers):
            return Check(
                name,
                "warn",
                f"an id the gateway did not issue gives {exc.status_code}, not 404 (LiteLLM's "
                "proxy cannot route it); ids it issued work",
            ), headers
        return Check(name, "fail", f"unexpected answer for an unknown id: {exc.status_code}"), headers
    except (openai.OpenAIError, ValueError) as exc:
        return Check(name, "fail", f"unexpected answer for an unknown id: {exc}"), {}
    return Check(name, "fail", "the server returned a video for an id that cannot exist"), response.headers


def _gateway_checks(headers: Mapping[str, str]) -> list[Check]:
    """A LiteLLM proxy marks its answers with `x-litellm-*` headers; say what it changes."""
    marks = _litellm_marks(headers)
    if not marks:
        return []
    version = headers.get("x-litellm-version")
    return [
        Check(
            "gateway",
            "warn",
            f"this looks like a LiteLLM proxy{f' {version}' if version else ''} ({marks[0]}): it retries a failed "
            "create upstream on its own unless its config sets router_settings.num_retries: 0 (each retry can "
            "be a paid video), and it drops the Idempotency-Key header, so only our own ledger prevents paying "
            "twice; see docs/gateways.md",
        )
    ]


def _litellm_marks(headers: Mapping[str, str]) -> list[str]:
    return sorted(name for name in headers if name.lower().startswith("x-litellm"))


def _auth_check(base_url: str, timeout_s: float) -> Check:
    stranger = openai.OpenAI(
        base_url=base_url, api_key="sk-spendsense-probe-wrong-key", timeout=timeout_s, max_retries=0
    )
    try:
        stranger.videos.list(limit=1)
    except openai.AuthenticationError:
        return Check("authentication", "ok", "a wrong key is refused with 401")
    except openai.APIStatusError as exc:  # refused all the same (LiteLLM's proxy without a key database: 400)
        if 400 <= exc.status_code < 500:
            return Check("authentication", "ok", f"a wrong key is refused ({exc.status_code}, not 401)")
        return Check("authentication", "warn", f"a wrong key gives {exc.status_code}, not 401")
    except (openai.OpenAIError, ValueError) as exc:
        return Check("authentication", "warn", f"a wrong key gives {type(exc).__name__}, not 401")
    finally:
        stranger.close()
    return Check("authentication", "warn", "the server accepts any key: anyone who reaches it can spend money")
