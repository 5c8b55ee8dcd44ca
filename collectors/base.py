"""The one small interface every source implements: the replay source and each platform.

Adapters take and return plain records. They know nothing of the database, the scheduler
or the screen; rate-limit pauses, back-off and cursor persistence live once, in
``monitor.pipeline``. An adapter signals trouble only by raising the exceptions below.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


class PostStatus(StrEnum):
    """What a re-check found out about a post (the shared vocabulary, see docs/architecture.md)."""

    LIVE = "live"
    DELETED_BY_AUTHOR = "deleted_by_author"
    REMOVED_BY_MODERATOR = "removed_by_moderator"
    REMOVED_BY_PLATFORM = "removed_by_platform"
    AUTHOR_SUSPENDED = "author_suspended"
    AUTHOR_DEACTIVATED = "author_deactivated"
    AUTHOR_PROTECTED = "author_protected"
    RESTORED = "restored"  # derived by the audit log, never returned by an adapter
    UNKNOWN = "unknown"


class AuthorStatus(StrEnum):
    """What a re-check found out about the post's author."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    DEACTIVATED = "deactivated"
    PROTECTED = "protected"
    UNKNOWN = "unknown"


#: Post statuses under which the post is no longer publicly visible.
GONE_STATUSES = frozenset(
    {
        PostStatus.DELETED_BY_AUTHOR,
        PostStatus.REMOVED_BY_MODERATOR,
        PostStatus.REMOVED_BY_PLATFORM,
        PostStatus.AUTHOR_SUSPENDED,
        PostStatus.AUTHOR_DEACTIVATED,
        PostStatus.AUTHOR_PROTECTED,
    }
)


@dataclass(frozen=True)
class BrandQuery:
    """What to search for on behalf of one brand."""

    brand: str
    terms: tuple[str, ...]
    handles: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mention:
    """One collected post, normalised, with the raw payload exactly as received."""

    platform: str
    native_id: str
    author_id: str
    author_handle: str
    text: str
    url: str
    created_at: datetime  # timezone-aware UTC
    lang: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    reply_to_id: str | None = None


@dataclass(frozen=True)
class Page:
    """One search call's result. ``next_cursor`` is what to pass next time (None: start over)."""

    mentions: list[Mention]
    next_cursor: str | None
    #: True when the source has nothing more right now (poll again at the next interval).
    exhausted: bool = True
    #: Provenance of the request(s) that produced this page (url, params, status code).
    request: Mapping[str, Any] = field(default_factory=dict)
    #: Posts billed by the platform for this page (X bills per post read).
    billed_reads: int = 0
    #: A span of post times this search can no longer reach (e.g. X's 7-day window expired while
    #: the source was down): recorded as a coverage gap so "not seen" is never read as "not posted".
    missed: tuple[datetime, datetime] | None = None


@dataclass(frozen=True)
class PostRef:
    """What the pipeline knows of a stored post when it asks for its status."""

    native_id: str
    author_id: str
    author_handle: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True)
class StatusObservation:
    """What one lookup saw of one post, with the raw response kept as evidence."""

    native_id: str
    status: PostStatus
    author_status: AuthorStatus
    evidence: Mapping[str, Any] = field(default_factory=dict)
    detail: str = ""
    #: Set when the platform itself states the reason (e.g. Reddit ``removed_by_category``).
    platform_stated: bool = False
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class LookupResult:
    observations: list[StatusObservation]
    calls: int = 0  # HTTP calls this lookup made, for budget accounting
    #: Native ids of the posts the platform billed for this lookup (X bills each post it returns).
    billed: tuple[str, ...] = ()


class SourceError(Exception):
    """Base class for everything an adapter raises on purpose."""


class TransientError(SourceError):
    """A 5xx, a timeout, a network error or malformed data: retry later; never a status."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(TransientError):
    """The platform said 429 (or the budget headers reached zero)."""

    def __init__(self, message: str, reset_at: datetime | None) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class AuthFailed(SourceError):
    """401/403 on our credentials: the source is marked failing until the config changes."""


@runtime_checkable
class Source(Protocol):
    """Every adapter (replay included) has these members.

    Optional: ``lookup_chunk: int``, how many refs the pipeline may hand to one ``lookup`` call
    (default: ``lookup_batch``). An adapter that batches across its own calls inside ``lookup``
    (authors of missing posts) sets it higher, so those calls reach the platform minimum.
    """

    platform: str
    lookup_batch: int  # the platform's maximum ids per status call

    def search(self, query: BrandQuery, cursor: str | None) -> Page: ...

    def lookup(self, posts: Sequence[PostRef]) -> LookupResult: ...


@dataclass(frozen=True)
class SourceSpec:
    """Everything a factory gets to build a source: config, secrets and a small state store."""

    name: str
    platform: str
    brand: str
    api_base_url: str | None
    options: Mapping[str, Any]
    secrets: Mapping[str, str]
    #: Small persistent key-value store owned by this source (kept in the database).
    state: MutableMapping[str, str]
    #: The folder relative paths in ``options`` start from: the config file's (None: the working directory).
    base_dir: Path | None = None
