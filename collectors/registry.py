"""Source factories by platform name.

Built-in adapters are registered exactly like third-party ones: through the
``complaintwatch.sources`` entry-point group declared in ``pyproject.toml``. A factory is
a callable ``(SourceSpec) -> Source``. Factories load lazily, one platform at a time, so
a broken or missing third-party adapter cannot stop the others.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from collectors.base import Source, SourceSpec

Factory = Callable[[SourceSpec], Source]
ENTRY_POINT_GROUP = "complaintwatch.sources"


@cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def platforms() -> list[str]:
    """Names of every registered platform."""
    return sorted(_entry_points())


@cache
def factory(platform: str) -> Factory:
    """The factory registered for ``platform``; ValueError naming the known ones otherwise."""
    try:
        entry_point = _entry_points()[platform]
    except KeyError:
        known = ", ".join(platforms()) or "none"
        raise ValueError(f"unknown platform {platform!r} (known: {known})") from None
    loaded: Factory = entry_point.load()
    return loaded


def build_source(spec: SourceSpec) -> Source:
    return factory(spec.platform)(spec)


def required_secrets(platform: str) -> tuple[str, ...]:
    """Secret names (lowercase) the platform's adapter needs; read from ``REQUIRED_SECRETS``.

    The config layer reads each from ``COMPLAINTWATCH_<PLATFORM>_<NAME>`` (upper case) and
    refuses to start when one is missing for an enabled source.
    """
    module = sys.modules[factory(platform).__module__]
    return tuple(getattr(module, "REQUIRED_SECRETS", ()))


def optional_secrets(platform: str) -> tuple[str, ...]:
    module = sys.modules[factory(platform).__module__]
    return tuple(getattr(module, "OPTIONAL_SECRETS", ()))
