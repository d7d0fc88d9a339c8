"""A circuit breaker per base URL + model, shared by every worker through the database.

When a server says a model or endpoint is gone, paying jobs should stop asking
it: the breaker opens for VIDEO_BREAKER_COOLDOWN_S and jobs go straight to the
fallback. After the cooldown the next job tries again (half-open); a second
"gone" re-opens it.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from worker.db.models import ProviderCircuitBreaker, utcnow
from worker.db.session import session_scope


def breaker_key(base_url: str, model: str) -> str:
    return hashlib.sha256(f"{base_url.rstrip('/')}\x1f{model}".encode()).hexdigest()


def open_breaker_reason(base_url: str, model: str) -> str | None:
    """Why jobs must skip this endpoint + model now, or None when it may be tried."""
    with session_scope() as session:
        breaker = session.get(ProviderCircuitBreaker, breaker_key(base_url, model))
        if breaker is None or breaker.open_until <= utcnow():
            return None
        return f"circuit open for {model} at {base_url} until {breaker.open_until.isoformat()}: {breaker.reason}"


def trip(base_url: str, model: str, reason: str, cooldown_s: int) -> None:
    """Open (or re-open) the breaker."""
    now, key = utcnow(), breaker_key(base_url, model)
    for _ in range(2):  # a concurrent first insert is fine: update it instead
        try:
            with session_scope() as session:
                breaker = session.get(ProviderCircuitBreaker, key)
                if breaker is None:
                    breaker = ProviderCircuitBreaker(key=key, base_url=base_url, model=model)
                    session.add(breaker)
                breaker.opened_at, breaker.open_until, breaker.reason = now, now + timedelta(seconds=cooldown_s), reason
            return
        except IntegrityError:
            continue


def open_breakers() -> list[ProviderCircuitBreaker]:
    """Every breaker that is open now (for the operator's status output)."""
    with session_scope() as session:
        return list(session.scalars(select(ProviderCircuitBreaker).where(ProviderCircuitBreaker.open_until > utcnow())))
