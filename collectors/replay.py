"""The bundled replay source: a fictional stream of brand mentions replayed in accelerated story time.

It needs no credentials and no network, and it speaks the same ``Source`` interface as the real
platforms. Posts (``posts.jsonl``) become visible when story time reaches their ``at`` offset;
moderation events (``events.jsonl``: deletions, removals, suspensions ...) change what ``lookup``
reports from their ``at`` offset on. Story time runs ``speed`` times faster than real time from
``t0``, which is kept in the source's persistent state so a restart resumes the same story.

Options: ``path`` (a directory holding posts.jsonl and events.jsonl, relative to the config file; default:
the bundled data), ``speed`` (story seconds per real second, default 60) and ``page_size`` (default 100).
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from itertools import islice
from pathlib import Path
from types import MappingProxyType
from typing import Any

from collectors.base import (
    AuthorStatus,
    BrandQuery,
    LookupResult,
    Mention,
    Page,
    PostRef,
    PostStatus,
    SourceError,
    SourceSpec,
    StatusObservation,
)

PLATFORM = "replay"
REQUIRED_SECRETS: tuple[str, ...] = ()  # no credentials: that is the point of the replay source
OPTIONAL_SECRETS: tuple[str, ...] = ()
URL_BASE = "https://replay.complaintwatch.invalid"
POSTS_FILE = "posts.jsonl"
EVENTS_FILE = "events.jsonl"
DEFAULT_SPEED = 60.0
DEFAULT_PAGE_SIZE = 100
OPTIONS = ("path", "speed", "page_size")
CURSOR_VERSION = "v1"

POST_EVENTS = ("deleted_by_author", "removed_by_moderator", "removed_by_platform", "restored")
AUTHOR_EVENTS = ("suspended", "deactivated", "protected", "active")
#: The post states under which the post itself is gone, whatever its author's state.
POST_GONE = {
    "deleted_by_author": PostStatus.DELETED_BY_AUTHOR,
    "removed_by_moderator": PostStatus.REMOVED_BY_MODERATOR,
    "removed_by_platform": PostStatus.REMOVED_BY_PLATFORM,
}
#: The author states that hide a live post.
AUTHOR_HIDES = {
    "suspended": PostStatus.AUTHOR_SUSPENDED,
    "deactivated": PostStatus.AUTHOR_DEACTIVATED,
    "protected": PostStatus.AUTHOR_PROTECTED,
}
PLATFORM_STATED = {PostStatus.REMOVED_BY_MODERATOR, PostStatus.REMOVED_BY_PLATFORM}


class ReplayDataError(SourceError):
    """A replay data file is missing, unreadable or malformed (the message names file and line)."""


class ReplayConfigError(SourceError, ValueError):
    """A replay option, the stored story start or a cursor is not usable (a ValueError like other options)."""


# ---------------------------------------------------------------- the timeline


@dataclass(frozen=True)
class ReplayPost:
    id: str
    brand: str
    author_id: str
    author_handle: str
    lang: str | None
    at: float
    text: str
    reply_to: str | None
    raw: Mapping[str, Any]  # the record exactly as stored

    @property
    def order(self) -> tuple[float, str]:
        """Story order: by time, then by id."""
        return (self.at, self.id)


@dataclass(frozen=True)
class ReplayEvent:
    at: float
    status: str  # a post event (POST_EVENTS) or an author event (AUTHOR_EVENTS)
    post_id: str | None = None
    author_id: str | None = None
    line: int = 0  # the events.jsonl line, which also orders events at the same time

    def as_evidence(self) -> dict[str, Any]:
        subject = {"post_id": self.post_id} if self.post_id else {"author_id": self.author_id}
        return {"at": self.at, **subject, "status": self.status}


class Timeline:
    """All posts and all events in story order, as loaded from one directory."""

    def __init__(self, posts: Sequence[ReplayPost], events: Sequence[ReplayEvent], source: str) -> None:
        self.posts = tuple(sorted(posts, key=lambda p: p.order))
        self.events = tuple(sorted(events, key=lambda e: (e.at, e.line)))
        self.source = source
        self.by_id: Mapping[str, ReplayPost] = MappingProxyType({post.id: post for post in self.posts})
        self._by_post: dict[str, list[ReplayEvent]] = {}
        self._by_author: dict[str, list[ReplayEvent]] = {}
        for event in self.events:
            if event.post_id is not None:
                self._by_post.setdefault(event.post_id, []).append(event)
            else:
                self._by_author.setdefault(event.author_id or "", []).append(event)

    def events_for(self, post: ReplayPost) -> list[ReplayEvent]:
        """Every event that concerns the post, its own and its author's, in story order."""
        own = self._by_post.get(post.id, [])
        author = self._by_author.get(post.author_id, [])
        return sorted([*own, *author], key=lambda e: (e.at, e.line))


def load_timeline(path: str | Path | None = None) -> Timeline:
    """Parse and validate posts.jsonl and events.jsonl from ``path`` (default: the bundled data)."""
    if path is None:
        return _bundled_timeline()
    return _load(Path(path))


@cache
def _bundled_timeline() -> Timeline:
    return _load(files("collectors") / "replay_data")


def _load(directory: Traversable | Path) -> Timeline:
    posts = _read_posts(directory / POSTS_FILE)
    events = _read_events(directory / EVENTS_FILE, {p.id: p for p in posts})
    return Timeline(posts, events, source=str(directory))


def _records(file: Traversable | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, JSON object) for each non-blank line; any problem names the file and line."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ReplayDataError(f"{file}: cannot read replay data ({reason})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReplayDataError(
                f"{file}:{number}: invalid JSON ({exc.msg} at column {exc.colno})"
            ) from None
        if not isinstance(record, dict):
            raise ReplayDataError(f"{file}:{number}: expected a JSON object, got {type(record).__name__}")
        yield number, record


def _field(record: Mapping[str, Any], name: str, kinds: tuple[type, ...], where: str) -> Any:
    """``record[name]`` if it is one of ``kinds`` (a bool is not a number) and not an empty string."""
    if name not in record:
        raise ReplayDataError(f"{where}: missing field {name!r}")
    value = record[name]
    if isinstance(value, bool) or not isinstance(value, kinds) or value == "":
        raise ReplayDataError(f"{where}: field {name!r} has a bad value {value!r}")
    return value


def _story_time(record: Mapping[str, Any], where: str) -> float:
    at = _field(record, "at", (int, float), where)
    if not math.isfinite(at) or at < 0:
        raise ReplayDataError(f"{where}: field 'at' must be story seconds >= 0, got {at!r}")
    return float(at)


def _read_posts(file: Traversable | Path) -> list[ReplayPost]:
    posts: list[ReplayPost] = []
    first_line: dict[str, int] = {}
    handles: dict[str, str] = {}
    replies: list[tuple[str, str, str]] = []
    for number, record in _records(file):
        where = f"{file}:{number}"
        post = ReplayPost(
            id=_field(record, "id", (str,), where),
            brand=_field(record, "brand", (str,), where),
            author_id=_field(record, "author_id", (str,), where),
            author_handle=_field(record, "author_handle", (str,), where),
            lang=_field(record, "lang", (str, type(None)), where),
            at=_story_time(record, where),
            text=_field(record, "text", (str,), where),
            reply_to=_field(record, "reply_to", (str, type(None)), where),
            raw=MappingProxyType(record),
        )
        if post.id in first_line:
            raise ReplayDataError(f"{where}: duplicate id {post.id!r} (first on line {first_line[post.id]})")
        if handles.setdefault(post.author_id, post.author_handle) != post.author_handle:
            raise ReplayDataError(
                f"{where}: author {post.author_id!r} is {handles[post.author_id]!r} elsewhere, "
                f"{post.author_handle!r} here"
            )
        if "expect" in record and not isinstance(record["expect"], dict):
            raise ReplayDataError(f"{where}: field 'expect' must be an object")
        first_line[post.id] = number
        if post.reply_to is not None:
            replies.append((where, post.id, post.reply_to))
        posts.append(post)
    for where, _post_id, parent in replies:
        if parent not in first_line:
            raise ReplayDataError(f"{where}: reply_to {parent!r} is not a post in {file}")
    return posts


def _read_events(file: Traversable | Path, posts: Mapping[str, ReplayPost]) -> list[ReplayEvent]:
    authors = {post.author_id for post in posts.values()}
    events = []
    for number, record in _records(file):
        where = f"{file}:{number}"
        at = _story_time(record, where)
        if ("post_id" in record) == ("author_id" in record):
            raise ReplayDataError(f"{where}: an event names exactly one of 'post_id' or 'author_id'")
        if "post_id" in record:
            events.append(_post_event(record, at, where, number, posts))
        else:
            events.append(_author_event(record, at, where, number, authors))
    return events


def _post_event(
    record: Mapping[str, Any], at: float, where: str, line: int, posts: Mapping[str, ReplayPost]
) -> ReplayEvent:
    post_id = _field(record, "post_id", (str,), where)
    status = _field(record, "status", (str,), where)
    if status not in POST_EVENTS:
        raise ReplayDataError(f"{where}: bad status {status!r} (expected one of {', '.join(POST_EVENTS)})")
    if post_id not in posts:
        raise ReplayDataError(f"{where}: post_id {post_id!r} is not in {POSTS_FILE}")
    if at < posts[post_id].at:
        raise ReplayDataError(f"{where}: event at {at:g} comes before its post (at {posts[post_id].at:g})")
    return ReplayEvent(at=at, status=status, post_id=post_id, line=line)


def _author_event(
    record: Mapping[str, Any], at: float, where: str, line: int, authors: set[str]
) -> ReplayEvent:
    author_id = _field(record, "author_id", (str,), where)
    status = _field(record, "author_status", (str,), where)
    if status not in AUTHOR_EVENTS:
        raise ReplayDataError(
            f"{where}: bad author_status {status!r} (expected one of {', '.join(AUTHOR_EVENTS)})"
        )
    if author_id not in authors:
        raise ReplayDataError(f"{where}: author_id {author_id!r} has no post in {POSTS_FILE}")
    return ReplayEvent(at=at, status=status, author_id=author_id, line=line)


# ---------------------------------------------------------------- statuses


@dataclass(frozen=True)
class PostState:
    """What the replay platform knows of one post at one story time."""

    post_state: str  # "live" or a post event
    author_state: str  # "active" or an author event
    applied: tuple[ReplayEvent, ...]

    @property
    def status(self) -> PostStatus:
        if self.post_state in POST_GONE:
            return POST_GONE[self.post_state]
        return AUTHOR_HIDES.get(self.author_state, PostStatus.LIVE)

    @property
    def author_status(self) -> AuthorStatus:
        return AuthorStatus(self.author_state)


def state_at(events: Sequence[ReplayEvent], story_time: float) -> PostState:
    """Apply the events (one post's and its author's, in story order) that happened by ``story_time``."""
    post_state, author_state = "live", "active"
    applied = tuple(e for e in events if e.at <= story_time)
    for event in applied:
        if event.post_id is not None:
            post_state = event.status
        else:
            author_state = event.status
    return PostState(post_state, author_state, applied)


def expected_history(post_id: str, timeline: Timeline | None = None) -> list[str]:
    """The statuses a perfect observer of ``post_id`` would record, in order.

    Starts with ``live``; each change of the observable status follows, with ``restored`` for a
    post that becomes visible again after being gone (as the audit log derives it).
    """
    timeline = timeline or load_timeline()
    post = timeline.by_id.get(post_id)
    if post is None:
        raise KeyError(f"no post {post_id!r} in {timeline.source}")
    events = timeline.events_for(post)
    history: list[str] = [PostStatus.LIVE.value]
    current = PostStatus.LIVE
    for event in events:
        status = state_at(events, event.at).status
        if status != current:
            history.append(PostStatus.RESTORED.value if status is PostStatus.LIVE else status.value)
            current = status
    return history


def expected_final_statuses(timeline: Timeline | None = None) -> dict[str, str]:
    """For every post, the last status a perfect observer records (``live`` if nothing happened)."""
    timeline = timeline or load_timeline()
    return {post.id: expected_history(post.id, timeline)[-1] for post in timeline.posts}


# ---------------------------------------------------------------- the clock


class StoryClock:
    """Maps real time to story time; the story start ``t0`` lives in the source's persistent state."""

    def __init__(self, state: MutableMapping[str, str], speed: float, clock: Callable[[], datetime]) -> None:
        self.state = state
        self.speed = speed
        self.clock = clock
        if "t0" in state:
            self._parse_t0(state["t0"])  # fail at build time, not at the first collection

    @property
    def t0(self) -> datetime:
        if "t0" not in self.state:
            self.state["t0"] = _utc(self.clock()).isoformat()
        return self._parse_t0(self.state["t0"])

    def story_now(self) -> float:
        return (_utc(self.clock()) - self.t0).total_seconds() * self.speed

    def real_time(self, story_seconds: float) -> datetime:
        return self.t0 + timedelta(seconds=story_seconds / self.speed)

    @staticmethod
    def _parse_t0(value: str) -> datetime:
        try:
            parsed = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise ReplayConfigError(f"replay state 't0' is not an ISO 8601 timestamp: {value!r}") from None
        if parsed.tzinfo is None:
            raise ReplayConfigError(f"replay state 't0' has no time zone: {value!r}")
        return parsed.astimezone(UTC)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ReplayConfigError(f"the replay clock returned a naive datetime: {moment!r}")
    return moment.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- cursors


def encode_cursor(post: ReplayPost) -> str:
    """An opaque position: just after ``post`` in story order."""
    return f"{CURSOR_VERSION}:{post.at!r}:{post.id}"


def decode_cursor(cursor: str) -> tuple[float, str]:
    version, _, rest = cursor.partition(":")
    at_text, _, post_id = rest.partition(":")
    try:
        at = float(at_text)
    except ValueError:
        at = math.nan
    if version != CURSOR_VERSION or not post_id or not math.isfinite(at):
        raise ReplayConfigError(f"not a replay cursor: {cursor!r}")
    return (at, post_id)


# ---------------------------------------------------------------- the source


def _slug(brand: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", brand.casefold()).strip("-")


class ReplaySource:
    """A ``Source`` over a replayed timeline: search pages through visible posts, lookup reports states."""

    platform = PLATFORM
    lookup_batch = 100

    def __init__(self, spec: SourceSpec, clock: Callable[[], datetime] | None = None) -> None:
        options = dict(spec.options)
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ReplayConfigError(
                f"source {spec.name!r}: unknown replay option(s) {', '.join(unknown)} "
                f"(known: {', '.join(OPTIONS)})"
            )
        self.name = spec.name
        self.page_size = int(_option_number(options, "page_size", DEFAULT_PAGE_SIZE, spec.name, integer=True))
        speed = _option_number(options, "speed", DEFAULT_SPEED, spec.name, integer=False)
        path = options.get("path")
        if path is not None and not isinstance(path, str | Path):
            raise ReplayConfigError(
                f"source {spec.name!r}: replay option 'path' must be a directory path, got {path!r}"
            )
        if path is not None and spec.base_dir is not None:
            path = spec.base_dir / Path(path).expanduser()  # an absolute path stays as it is
        self.timeline = load_timeline(path)
        self.clock = StoryClock(spec.state, speed, clock or _now)
        self._keys = [post.order for post in self.timeline.posts]

    def search(self, query: BrandQuery, cursor: str | None) -> Page:
        """The next page of posts matching ``query`` that story time has reached, after ``cursor``."""
        story_now = self.clock.story_now()
        start = bisect_right(self._keys, decode_cursor(cursor)) if cursor else 0
        matches = self._visible_matches(query, start, story_now)
        page = list(islice(matches, self.page_size))
        more = next(matches, None) is not None
        next_cursor = encode_cursor(page[-1]) if page else cursor
        request = {
            "url": f"{URL_BASE}/search",
            "params": {
                "brand": query.brand,
                "terms": list(query.terms),
                "handles": list(query.handles),
                "languages": list(query.languages),
                "cursor": cursor,
                "limit": self.page_size,
            },
            "story_time": story_now,
            "returned": len(page),
        }
        return Page([self._mention(p) for p in page], next_cursor, exhausted=not more, request=request)

    def lookup(self, posts: Sequence[PostRef]) -> LookupResult:
        """The status of each post at the current story time (``unknown`` for ids not in the data)."""
        story_now = self.clock.story_now()
        observations = [self._observe(ref.native_id, story_now) for ref in posts]
        return LookupResult(observations, calls=math.ceil(len(posts) / self.lookup_batch))

    def _visible_matches(self, query: BrandQuery, start: int, story_now: float) -> Iterator[ReplayPost]:
        brand = query.brand.casefold()
        needles = [t.casefold() for t in (*query.terms, *query.handles) if t]
        languages = set(query.languages)
        for post in self.timeline.posts[start:]:
            if post.at > story_now:
                return
            if languages and post.lang not in languages:
                continue
            text = post.text.casefold()
            if post.brand.casefold() == brand or any(needle in text for needle in needles):
                yield post

    def _mention(self, post: ReplayPost) -> Mention:
        return Mention(
            platform=PLATFORM,
            native_id=post.id,
            author_id=post.author_id,
            author_handle=post.author_handle,
            text=post.text,
            url=f"{URL_BASE}/{_slug(post.brand)}/{post.id}",
            created_at=self.clock.real_time(post.at),
            lang=post.lang,
            raw=dict(post.raw),
            reply_to_id=post.reply_to,
        )

    def _observe(self, post_id: str, story_now: float) -> StatusObservation:
        post = self.timeline.by_id.get(post_id)
        if post is None or post.at > story_now:
            detail = "not in the replay data" if post is None else "not posted yet at this story time"
            evidence = {"replay_story_time": story_now, "post_id": post_id, "error": detail}
            return StatusObservation(
                post_id, PostStatus.UNKNOWN, AuthorStatus.UNKNOWN, evidence, detail=detail
            )
        state = state_at(self.timeline.events_for(post), story_now)
        evidence = {
            "replay_story_time": story_now,
            "post_id": post.id,
            "author_id": post.author_id,
            "post_state": state.post_state,
            "author_state": state.author_state,
            "events_applied": [event.as_evidence() for event in state.applied],
        }
        status = state.status
        return StatusObservation(
            post.id, status, state.author_status, evidence, platform_stated=status in PLATFORM_STATED
        )


def _option_number(
    options: Mapping[str, Any], name: str, default: float, source: str, integer: bool
) -> float:
    """A positive (integer, where asked) option value, or a clear error naming the source and option."""
    value = options.get(name, default)
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    if not ok or (integer and not isinstance(value, int)):
        kind = "a positive integer" if integer else "a positive number"
        raise ReplayConfigError(f"source {source!r}: replay option {name!r} must be {kind}, got {value!r}")
    return float(value)


def build(spec: SourceSpec, clock: Callable[[], datetime] | None = None) -> ReplaySource:
    """The factory registered as the ``replay`` entry point: validates options and data eagerly."""
    return ReplaySource(spec, clock=clock)
