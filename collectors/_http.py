"""Small HTTP helpers shared by the platform adapters.

* ``ApiSession``: a ``requests.Session`` that points a client library at another host (a
  proxy or a local fake), applies a default timeout (tweepy sets none), counts the calls it
  sends and keeps the last response, so adapters can read rate-limit headers the library
  ignores.
* ``RateBudget``: remembers, per endpoint, that the platform said "remaining: 0" and raises
  ``RateLimited`` before the next call instead of letting the library sleep or hit a 429.
* Header parsers for the two reset conventions (epoch seconds, seconds from now).
* ``TtlCache``: keeps author look-ups for a few minutes, so one re-check run asks about each
  author once even when the pipeline hands its posts over in several batches.
* ``options_from``: reads ``spec.options`` into an adapter's options dataclass, with errors
  that name the source and the option.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import MISSING, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import requests

from collectors.base import RateLimited, SourceSpec, TransientError

T = TypeVar("T")
V = TypeVar("V")


class ApiSession(requests.Session):
    """Rewrites ``real_base`` to ``base`` (when given), sets a timeout, counts calls."""

    def __init__(self, real_base: str, base: str | None = None, timeout: float = 30.0) -> None:
        super().__init__()
        self.real_base = real_base.rstrip("/")
        self.base = base.rstrip("/") if base else None
        self.timeout = timeout
        self.calls = 0
        self.last_response: requests.Response | None = None

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.base and url.startswith(self.real_base):
            url = self.base + url[len(self.real_base) :]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        self.calls += 1
        response = super().request(method, url, *args, **kwargs)
        self.last_response = response
        return response


class RateBudget:
    """Per-endpoint memory of an exhausted rate-limit window."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self._spent_until: dict[str, datetime] = {}

    def record(self, endpoint: str, remaining: int | None, reset_at: datetime | None) -> None:
        """Note the headers of one response; a response without them tells nothing."""
        if remaining is None:
            return
        if remaining <= 0 and reset_at is not None:
            self._spent_until[endpoint] = reset_at
        else:
            self._spent_until.pop(endpoint, None)

    def check(self, endpoint: str, now: datetime | None = None) -> None:
        """Raise ``RateLimited`` when the last response on ``endpoint`` spent the window."""
        until = self._spent_until.get(endpoint)
        if until is not None and until > (now or datetime.now(UTC)):
            raise RateLimited(
                f"{self.platform} {endpoint}: rate-limit window spent until {until:%H:%M:%S}Z", until
            )


def header_int(headers: Mapping[str, str], name: str) -> int | None:
    """An integer header (``"598.0"`` accepted); None when absent or not a number."""
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


def epoch_reset(headers: Mapping[str, str], name: str) -> datetime | None:
    """A reset header holding epoch seconds (X, Bluesky)."""
    seconds = header_int(headers, name)
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def seconds_reset(headers: Mapping[str, str], name: str, now: datetime | None = None) -> datetime | None:
    """A reset header holding seconds from now (Reddit, ``Retry-After``)."""
    seconds = header_int(headers, name)
    if seconds is None:
        return None
    return (now or datetime.now(UTC)) + timedelta(seconds=seconds)


class TtlCache(Generic[V]):
    """A dict whose entries expire ``ttl_s`` seconds after they were stored (0 disables it)."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[str, tuple[float, V]] = {}

    def get(self, key: str) -> V | None:
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] >= self.ttl_s:
            return None
        return entry[1]

    def put(self, key: str, value: V) -> None:
        if self.ttl_s > 0:
            self._entries[key] = (time.monotonic(), value)


def options_from(spec: SourceSpec, cls: type[T]) -> T:
    """Build the options dataclass ``cls`` from ``spec.options``, checking names and types.

    The type of each field's default decides what is accepted: a tuple default takes a list
    of strings, a float default takes any number, a bool takes only true/false. Range checks
    live in the dataclass's ``__post_init__`` (raise ValueError there).
    """
    where = f"source {spec.name!r} ({spec.platform})"
    defaults = {f.name: f.default for f in fields(cls) if f.default is not MISSING}  # type: ignore[arg-type]
    unknown = sorted(set(spec.options) - set(defaults))
    if unknown:
        raise ValueError(
            f"{where}: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(defaults))}"
        )
    values = {name: _coerce(where, name, value, defaults[name]) for name, value in spec.options.items()}
    try:
        return cls(**values)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _coerce(where: str, name: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, tuple):
        ok = isinstance(value, list | tuple) and all(isinstance(item, str) for item in value)
        value = tuple(value) if ok else value
    else:
        ok = isinstance(value, type(default))
    if not ok:
        kind = "list of strings" if isinstance(default, tuple) else type(default).__name__
        raise ValueError(f"{where}: option {name} must be a {kind}, got {value!r}")
    return value


def parse_time(value: str) -> datetime:
    """An ISO-8601 time as aware UTC (a time without zone is taken as UTC)."""
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def list_of_dicts(value: Any, where: str) -> list[dict]:
    """``value`` if it is a JSON list of objects; malformed data is a transient error, never a status."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise TransientError(f"{where}: expected a JSON list of objects, got {str(value)[:200]}")
    return value
