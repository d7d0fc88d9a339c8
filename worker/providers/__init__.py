"""Provider registry: `VIDEO_PROVIDER` names one of these factories."""

from __future__ import annotations

from collections.abc import Callable

from worker.providers.base import ProducedVideo, VideoProvider, VideoRequest

ProviderFactory = Callable[[], VideoProvider]


def _local() -> VideoProvider:
    from worker.providers.local import LocalRenderer

    return LocalRenderer()


def _poster() -> VideoProvider:
    from worker.providers.poster import PosterRenderer

    return PosterRenderer()


def _openai() -> VideoProvider:
    raise TypeError("the openai provider is remote and step-wise: see worker.remote.generation")


_REGISTRY: dict[str, ProviderFactory] = {"local": _local, "poster": _poster, "openai": _openai}


def register(name: str, factory: ProviderFactory) -> ProviderFactory | None:
    """Add or replace a provider (tests add fakes this way); returns the one replaced."""
    previous = _REGISTRY.get(name)
    _REGISTRY[name] = factory
    return previous


def unregister(name: str, restore: ProviderFactory | None = None) -> None:
    if restore is not None:
        _REGISTRY[name] = restore
    else:
        _REGISTRY.pop(name, None)


def provider_names() -> list[str]:
    return sorted(_REGISTRY)


def get_provider(name: str) -> VideoProvider:
    """A fresh provider instance. Raises KeyError for an unknown name (settings reject those first)."""
    return _REGISTRY[name]()


__all__ = ["ProducedVideo", "VideoProvider", "VideoRequest", "get_provider", "provider_names", "register"]
