"""The provider registry: each tier of the fallback chain by name (`VIDEO_PROVIDER` picks the first).

A new provider is one module implementing `VideoProvider` and one line here (plus its name in
`worker.settings.ProviderName` if `VIDEO_PROVIDER` may select it). Tests swap fakes in with
`register`.
"""

from __future__ import annotations

from collections.abc import Callable

from worker.providers.base import Pending, ProducedVideo, SharedVideo, Step, VideoProvider, VideoRequest
from worker.settings import Settings

ProviderFactory = Callable[[Settings], VideoProvider]


def _local(settings: Settings) -> VideoProvider:
    from worker.providers.local import LocalRenderer

    return LocalRenderer(settings)


def _poster(settings: Settings) -> VideoProvider:
    from worker.providers.poster import PosterRenderer

    return PosterRenderer(settings)


def _openai(settings: Settings) -> VideoProvider:
    from worker.providers.remote import RemoteProvider

    return RemoteProvider(settings)


_REGISTRY: dict[str, ProviderFactory] = {"local": _local, "poster": _poster, "openai": _openai}


def register(name: str, factory: ProviderFactory) -> ProviderFactory | None:
    """Add or replace a provider (tests swap in fakes this way); returns the one replaced."""
    previous = _REGISTRY.get(name)
    _REGISTRY[name] = factory
    return previous


def unregister(name: str, restore: ProviderFactory | None = None) -> None:
    if restore is not None:
        _REGISTRY[name] = restore
    else:
        _REGISTRY.pop(name, None)


def get_provider(name: str, settings: Settings) -> VideoProvider:
    """A fresh provider for one step. Raises KeyError for an unknown name (settings reject those first)."""
    return _REGISTRY[name](settings)


__all__ = [
    "Pending",
    "ProducedVideo",
    "SharedVideo",
    "Step",
    "VideoProvider",
    "VideoRequest",
    "get_provider",
    "register",
]
