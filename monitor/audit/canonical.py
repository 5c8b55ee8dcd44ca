"""Canonical JSON: one byte sequence per value, so a hash of it can be re-computed anywhere.

Sorted keys, no whitespace, UTF-8 (no ``\\u`` escapes for non-ASCII), datetimes as ISO-8601
UTC with microseconds and a ``Z``, enums as their value. NaN and infinities are refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

GENESIS_HASH = "0" * 64


def iso_utc(value: datetime) -> str:
    """``2026-11-21T09:30:00.000000Z``; naive datetimes are refused (their zone is unknown)."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: audit times must be timezone-aware")
    return value.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"  # drop "+00:00"


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple | set | frozenset):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"{type(value).__name__} value {value!r} cannot go into the audit log")


def canonical_json(value: Any) -> str:
    """The canonical text of ``value`` (see the module docstring)."""
    try:
        return json.dumps(
            value,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=_default,
        )
    except ValueError as exc:
        raise ValueError(f"cannot serialise for the audit log: {exc}") from None


def sha256_hex(data: str | bytes) -> str:
    """SHA-256 of text (as UTF-8) or bytes, as 64 lowercase hex digits."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def json_sha256(value: Any) -> str:
    """SHA-256 of the canonical JSON of ``value``."""
    return sha256_hex(canonical_json(value))
