"""The fallback chain called as a plain function: where a job resumes, and what a soft time limit in
the remote tier means. Tiers are swapped in through the registry, as any provider would be."""

from __future__ import annotations

import dataclasses

import pytest
from billiard.exceptions import SoftTimeLimitExceeded

from tests.factories import event_names, queued_job
from worker import providers
from worker.errors import TransientVideoError
from worker.fallback_chain import advance, tiers
from worker.jobs import leases
from worker.providers.local import LocalRenderer
from worker.remote import generation
from worker.settings import get_settings

#: Jobs the paid tier was asked to make (any exception it raised would only look like a fallback).
PAID_CALLS: list[str] = []


class PaidTier(LocalRenderer):
    """Stands in for the paid tier, counting every call."""

    name = "openai"

    def produce(self, request, workdir):
        PAID_CALLS.append(request.job_id)
        return super().produce(request, workdir)


@pytest.fixture
def remote(remote_env, sqlite_configured):
    remote_env()
    return get_settings()


def claimed(**changes) -> leases.ClaimedJob:
    job = leases.claim(queued_job(), retries=0, lease_s=60)
    assert isinstance(job, leases.ClaimedJob)
    return dataclasses.replace(job, **changes)


def test_the_chain_is_the_provider_then_local_then_the_poster(remote):
    assert tiers(remote) == ("openai", "local", "poster")


@pytest.mark.parametrize("reached", ["none", "an-unknown-tier"])
def test_a_job_past_the_last_tier_never_goes_back_to_the_paid_one(remote, reached):
    previous = providers.register("openai", PaidTier)
    PAID_CALLS.clear()
    try:
        outcome = advance(claimed(fallback_tier=reached), remote, last_attempt=False)
    finally:
        providers.unregister("openai", restore=previous)
    assert PAID_CALLS == [] and outcome.provider == "local" and outcome.video_key


def test_a_soft_time_limit_in_the_remote_tier_is_retried_not_a_fallback(remote, monkeypatch):
    def overran(*_args):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(generation, "_step", overran)
    job = claimed()
    with pytest.raises(TransientVideoError, match="soft time limit"):
        advance(job, remote, last_attempt=False)
    assert "fallback" not in event_names(job.id)
