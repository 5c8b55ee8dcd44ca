"""Reddit source through praw: read-only client credentials, or script auth with a user's password.

Collect, ``mode = "search"`` (default): ``subreddit("all" | "a+b").search(q, sort="new", time_filter=…)``.
Collect, ``mode = "stream"``: new submissions (``/r/a+b/new``) then new comments (``/r/a+b/comments``) of
the chosen subreddits, by listing polls that return (never praw's blocking ``stream`` generators).
Every listing is walked the same way: newest first, page by page with ``after``, until a thing no newer
than the newest one the previous sweep saw (ids are base-36 counters, so "newer" is a number comparison).
We do not page with ``before=<newest fullname>``: once that anchor is deleted Reddit answers an empty
listing for ever. The cursor (JSON) keeps, per listing, ``since`` (newest id of the last finished sweep),
``top`` (newest id of this sweep) and ``after`` (where this sweep stands), plus the listings still to
walk in this sweep, so a crash between pages resumes on the next page: nothing skipped, nothing twice.
Reddit search indexes new posts with a delay, so a post indexed after a newer one was seen can be missed
in search mode; stream mode does not have that gap.

Re-check: ``reddit.info(fullnames=[≤100])`` (one ``GET /api/info``), mapped per docs/platforms.md:

==============================================================  ======================================
observed                                                        status
==============================================================  ======================================
t3 ``removed_by_category`` ``deleted`` / ``author``             deleted_by_author (stated)
t3 ``moderator`` / ``automod_filtered`` (flag ``mod_queue``)    removed_by_moderator (stated)
t3 ``reddit``, ``anti_evil_ops``, ``community_ops``,            removed_by_platform (stated)
``content_takedown``, ``copyright_takedown``, ``legal_operations``
t3/t1 author ``[deleted]`` with the content intact              author_deactivated
t1 body ``[deleted]`` and author ``[deleted]``                  deleted_by_author (stated)
t1/t3 body ``[removed]``                                        removed_by_moderator (mod, automod or spam)
t1 body ``[ Removed by Reddit …``                               removed_by_platform (stated)
fullname absent from ``/api/info``                              unknown (not a deletion)
otherwise                                                       live
==============================================================  ======================================

Suspension is invisible in content, so authors are checked with ``GET /user/{name}/about/``: with
``check_authors = "missing"`` (default) only the authors of things that came back absent or removed
(``unknown``, ``removed_by_moderator``, ``removed_by_platform``); with ``"all"`` every author. Each author
is asked once per ``lookup`` (and reused for ``author_cache_s``). ``is_suspended: true`` → author
``suspended``, and a thing that is absent or bears only the ambiguous ``[removed]`` marker becomes
``author_suspended``; platform-stated removals keep their status. A 404 → author ``unknown`` (deleted or
shadowbanned, Reddit does not say which). The author's name comes from the ``PostRef`` (a removed thing
shows ``[deleted]``), else from the thing. Calls per lookup: ⌈N/100⌉ + authors checked (+ a token POST
about once a day).

Errors: 429 → ``RateLimited`` (reset from ``x-ratelimit-reset``, seconds from now, or ``Retry-After``); a
response with ``x-ratelimit-remaining: 0`` makes the next call raise ``RateLimited`` before prawcore would
sleep; 5xx, 408, timeouts and connection errors → ``TransientError`` at once (the requestor answers them
before prawcore's in-process retry-with-sleep: back-off belongs to the pipeline); malformed JSON →
``TransientError``; 401/403, a refused token (``invalid_grant``) → ``AuthFailed``; other 4xx (an unknown
subreddit redirects) → ``SourceError``. An expired token is refreshed by prawcore on the 401.

Secrets: ``client_id``, ``client_secret`` (env ``COMPLAINTWATCH_REDDIT_CLIENT_ID`` / ``_CLIENT_SECRET``);
optional ``username`` and ``password`` (both, for script auth). ``api_base_url`` (a path-less root such as
``http://127.0.0.1:8082``) replaces praw's ``reddit_url``, ``oauth_url`` and ``short_url``.

Options:
  ``subreddits`` (list, default ``["all"]``): where to search or which subreddits to stream.
  ``mode`` (``"search"`` | ``"stream"``, default ``"search"``); stream needs named subreddits.
  ``time_filter`` (``hour|day|week|month|year|all``, default ``day``): search window.
  ``page_size`` (int 1–100, default 100): things per listing request.
  ``filter_terms`` (bool, default false): in stream mode keep only things naming a term or handle.
  ``check_authors`` (``"missing"`` | ``"all"``, default ``"missing"``): see above.
  ``user_agent`` (str, default ``python:complaintwatch:0.1 (by /u/<username>)``).
  ``timeout`` (int seconds, default 30), ``author_cache_s`` (float seconds, default 300; 0 = off).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import praw
import prawcore
import requests
from praw.models import Comment

from collectors._http import RateBudget, TtlCache, header_int, options_from, seconds_reset
from collectors.base import (
    AuthFailed,
    AuthorStatus,
    BrandQuery,
    LookupResult,
    Mention,
    Page,
    PostRef,
    PostStatus,
    RateLimited,
    SourceError,
    SourceSpec,
    StatusObservation,
    TransientError,
)

REQUIRED_SECRETS = ("client_id", "client_secret")
OPTIONAL_SECRETS = ("username", "password")

REDDIT_URL, OAUTH_URL, SHORT_URL = "https://www.reddit.com", "https://oauth.reddit.com", "https://redd.it"
MAX_IDS = 100
MAX_QUERY_CHARS = 512
BUDGET_KEY = "api"  # Reddit counts every call of one OAuth client against one window
SUBREDDIT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]{1,20}")
TIME_FILTERS = ("hour", "day", "week", "month", "year", "all")
LISTINGS = {"search": ("search",), "stream": ("submissions", "comments")}

AUTHOR_CATEGORIES = {"deleted", "author"}
MODERATOR_CATEGORIES = {"moderator", "automod_filtered"}
PLATFORM_CATEGORIES = {
    "reddit",
    "anti_evil_ops",
    "community_ops",
    "content_takedown",
    "copyright_takedown",
    "legal_operations",
}
#: Statuses whose authors ``check_authors = "missing"`` looks up.
CHECKED_WHEN_MISSING = {PostStatus.UNKNOWN, PostStatus.REMOVED_BY_MODERATOR, PostStatus.REMOVED_BY_PLATFORM}


@dataclass(frozen=True)
class RedditOptions:
    subreddits: tuple[str, ...] = ("all",)
    mode: str = "search"
    time_filter: str = "day"
    page_size: int = 100
    filter_terms: bool = False
    check_authors: str = "missing"
    user_agent: str = ""
    timeout: int = 30
    author_cache_s: float = 300.0

    def __post_init__(self) -> None:
        bad = [name for name in self.subreddits if name != "all" and not SUBREDDIT_NAME.fullmatch(name)]
        if bad or not self.subreddits:
            raise ValueError(
                f"option subreddits needs subreddit names (no r/ prefix), got {list(self.subreddits)}"
            )
        if self.mode not in LISTINGS:
            raise ValueError(f"option mode must be 'search' or 'stream', got {self.mode!r}")
        if self.mode == "stream" and "all" in self.subreddits:
            raise ValueError("option mode 'stream' needs named subreddits, not 'all'")
        if self.time_filter not in TIME_FILTERS:
            raise ValueError(
                f"option time_filter must be one of {', '.join(TIME_FILTERS)}, got {self.time_filter!r}"
            )
        if not 1 <= self.page_size <= 100:
            raise ValueError(f"option page_size must be between 1 and 100, got {self.page_size}")
        if self.check_authors not in ("missing", "all"):
            raise ValueError(f"option check_authors must be 'missing' or 'all', got {self.check_authors!r}")
        if self.timeout <= 0 or self.author_cache_s < 0:
            raise ValueError("options timeout must be > 0 and author_cache_s >= 0")

    @property
    def multireddit(self) -> str:
        return "all" if "all" in self.subreddits else "+".join(self.subreddits)


def build(spec: SourceSpec) -> RedditSource:
    """Factory registered as the ``reddit`` entry point."""
    options = options_from(spec, RedditOptions)
    missing = [name for name in REQUIRED_SECRETS if not spec.secrets.get(name)]
    if missing:
        raise ValueError(f"source {spec.name!r} (reddit): secret(s) {', '.join(missing)} missing")
    if bool(spec.secrets.get("username")) != bool(spec.secrets.get("password")):
        raise ValueError(f"source {spec.name!r} (reddit): script auth needs both username and password")
    return RedditSource(spec.secrets, spec.api_base_url or None, options)


# -- transport -------------------------------------------------------------------------------


class Traffic:
    """What the requestor saw: calls sent, responses (kept for evidence) and the rate-limit window."""

    def __init__(self) -> None:
        self.calls = 0
        self.responses: list[requests.Response] = []
        self.budget = RateBudget("reddit")

    def seen(self, response: requests.Response) -> None:
        self.responses.append(response)
        headers = response.headers
        remaining = header_int(headers, "x-ratelimit-remaining")
        self.budget.record(BUDGET_KEY, remaining, seconds_reset(headers, "x-ratelimit-reset"))

    def children(self) -> dict[str, dict[str, Any]]:
        """Every Listing child in the responses kept, by fullname, exactly as Reddit sent it."""
        found: dict[str, dict[str, Any]] = {}
        for response in self.responses:
            body = _json_or_none(response)
            listing = body.get("data") if isinstance(body, dict) and body.get("kind") == "Listing" else None
            for child in (listing or {}).get("children") or []:
                name = (child.get("data") or {}).get("name")
                if name:
                    found[name] = child
        return found


class ObservingRequestor(prawcore.Requestor):
    """prawcore's requestor, plus call counting, header reading and immediate 5xx/network errors."""

    def __init__(self, *args: Any, traffic: Traffic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.traffic = traffic

    def request(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> requests.Response:
        self.traffic.calls += 1
        url = args[1] if len(args) > 1 else kwargs.get("url", "")
        try:
            response = super().request(*args, timeout=timeout, **kwargs)
        except prawcore.RequestException as exc:
            raise TransientError(f"reddit {url}: {exc.original_exception!r}") from exc
        self.traffic.seen(response)
        if response.status_code >= 500 or response.status_code == 408:
            raise TransientError(f"reddit {url}: {response.status_code} {response.reason}")
        return response


# -- the cursor ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Walk:
    """One listing's position: ``since`` = newest id of the last finished sweep."""

    since: str | None = None
    top: str | None = None
    after: str | None = None


@dataclass(frozen=True)
class SweepCursor:
    todo: tuple[str, ...]
    walks: Mapping[str, Walk] = field(default_factory=dict)

    def encode(self) -> str:
        walks = {name: {k: v for k, v in vars(w).items() if v} for name, w in self.walks.items()}
        return json.dumps({"todo": list(self.todo), "walks": walks}, sort_keys=True)

    @classmethod
    def decode(cls, cursor: str | None, listings: tuple[str, ...]) -> SweepCursor:
        """The saved position; listings of another mode are dropped, a finished sweep starts over."""
        if not cursor:
            return cls(listings, {name: Walk() for name in listings})
        try:
            values = json.loads(cursor)
            saved = {name: Walk(**w) for name, w in values["walks"].items()}
            todo = tuple(name for name in values["todo"] if name in listings)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ValueError(f"reddit cursor is not one this adapter wrote: {cursor!r}") from exc
        return cls(todo or listings, {name: saved.get(name, Walk()) for name in listings})


def _newer(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if int(a, 36) >= int(b, 36) else b


# -- the source ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Content:
    """What the thing itself shows."""

    status: PostStatus
    stated: bool = False
    author_status: AuthorStatus | None = None  # set when the content already tells
    detail: str = ""
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuthorView:
    status: AuthorStatus
    evidence: Mapping[str, Any]


class RedditSource:
    """The ``Source`` for Reddit: see the module docstring."""

    platform = "reddit"
    lookup_batch = MAX_IDS

    def __init__(self, secrets: Mapping[str, str], api_base_url: str | None, options: RedditOptions) -> None:
        self.options = options
        self.traffic = Traffic()
        self.authors: TtlCache[AuthorView] = TtlCache(options.author_cache_s)
        username = secrets.get("username") or None
        script_auth = {"username": username, "password": secrets["password"]} if username else {}
        root = api_base_url.rstrip("/") if api_base_url else None  # prawcore concatenates and urljoins
        self.reddit = praw.Reddit(
            client_id=secrets["client_id"],
            client_secret=secrets["client_secret"],
            **script_auth,
            user_agent=options.user_agent
            or f"python:complaintwatch:0.1 (by /u/{username or 'complaintwatch'})",
            reddit_url=root or REDDIT_URL,
            oauth_url=root or OAUTH_URL,
            short_url=root or SHORT_URL,
            check_for_updates=False,
            timeout=options.timeout,
            requestor_class=ObservingRequestor,
            requestor_kwargs={"traffic": self.traffic},
        )

    # -- collect ---------------------------------------------------------------------------
    def search(self, query: BrandQuery, cursor: str | None) -> Page:
        """One page of one listing; ``exhausted`` once every listing of the sweep reached known ground."""
        listings = LISTINGS[self.options.mode]
        state = SweepCursor.decode(cursor, listings)
        name = state.todo[0]
        things, walk, done = self._walk_page(self._listing(name, query), state.walks[name])
        raw = self.traffic.children()
        mentions = [_mention(thing, raw) for thing in things]
        if self.options.mode == "stream" and self.options.filter_terms:
            mentions = [m for m in mentions if _names_brand(m.text, query)]
        todo = state.todo[1:] if done else state.todo
        following = SweepCursor(todo or listings, {**state.walks, name: walk})
        return Page(mentions, following.encode(), exhausted=not todo, request=self._provenance(name))

    def _provenance(self, listing: str) -> dict[str, Any]:
        last = self.traffic.responses[-1] if self.traffic.responses else None
        if last is None:
            return {"listing": listing}
        return {"listing": listing, "method": "GET", "url": last.url, "status": last.status_code}

    def _listing(self, name: str, query: BrandQuery) -> Callable[[dict[str, str | int]], Iterator[Any]]:
        subreddit = self.reddit.subreddit(self.options.multireddit)
        size = self.options.page_size
        if name == "search":
            text = build_query(query)
            return lambda params: subreddit.search(
                text,
                sort="new",
                syntax="lucene",
                time_filter=self.options.time_filter,
                limit=size,
                params=params,
            )
        if name == "submissions":
            return lambda params: subreddit.new(limit=size, params=params)
        return lambda params: subreddit.comments(limit=size, params=params)

    def _walk_page(
        self, listing: Callable[[dict[str, str | int]], Iterator[Any]], walk: Walk
    ) -> tuple[list[Any], Walk, bool]:
        """Up to one page of things newer than ``walk.since``; the new walk; whether the sweep is done."""
        things: list[Any] = []
        seen = 0
        reached_known = False
        self._before_call()
        with self._translated_errors("listing"):
            params: dict[str, str | int] = {"after": walk.after} if walk.after else {}
            for thing in listing(params):
                seen += 1
                if walk.since is not None and int(thing.id, 36) <= int(walk.since, 36):
                    reached_known = True
                    break
                things.append(thing)
        top = walk.top or (things[0].id if things else None)
        if reached_known or seen < self.options.page_size:
            return things, Walk(since=_newer(top, walk.since)), True
        return things, Walk(since=walk.since, top=top, after=things[-1].fullname), False

    # -- re-check --------------------------------------------------------------------------
    def lookup(self, posts: Sequence[PostRef]) -> LookupResult:
        """Status of each post: one call per 100 things, plus one per author checked."""
        calls_before = self.traffic.calls
        found: dict[str, tuple[Any, dict[str, Any]]] = {}
        for start in range(0, len(posts), MAX_IDS):
            chunk = [ref.native_id for ref in posts[start : start + MAX_IDS]]
            self._before_call()
            with self._translated_errors("/api/info"):
                things = list(self.reddit.info(fullnames=chunk))
            raw = self.traffic.children()
            found.update({thing.fullname: (thing, raw.get(thing.fullname, {})) for thing in things})
        contents = {ref.native_id: _content(found.get(ref.native_id)) for ref in posts}
        wanted = [
            self._author_name(ref, found) for ref in posts if self._wants_author(contents[ref.native_id])
        ]
        names = {name.lower(): name for name in wanted if name}  # Reddit names are case-insensitive
        authors = {key: self._author(name) for key, name in sorted(names.items())}
        observations = [
            _observation(
                ref,
                contents[ref.native_id],
                found.get(ref.native_id, (None, {}))[1],
                authors.get(self._author_name(ref, found).lower()),
            )
            for ref in posts
        ]
        return LookupResult(observations=observations, calls=self.traffic.calls - calls_before)

    def _wants_author(self, content: Content) -> bool:
        if content.author_status is not None:
            return False  # the content already shows the account is gone
        return self.options.check_authors == "all" or content.status in CHECKED_WHEN_MISSING

    @staticmethod
    def _author_name(ref: PostRef, found: Mapping[str, tuple[Any, dict[str, Any]]]) -> str:
        name = ref.author_handle.removeprefix("u/").removeprefix("/u/")
        if not name and ref.native_id in found:
            author = vars(found[ref.native_id][0]).get("author")
            name = str(author) if author is not None else ""
        return "" if name == "[deleted]" else name

    def _author(self, name: str) -> AuthorView:
        """``GET /user/{name}/about/`` once per author (and per ``author_cache_s``)."""
        cached = self.authors.get(name.lower())
        if cached is not None:
            return cached
        self._before_call()
        redditor = self.reddit.redditor(name)
        checked_at = datetime.now(UTC).isoformat(timespec="seconds")
        with self._translated_errors("/user/about"):
            try:
                suspended = bool(getattr(redditor, "is_suspended", False))
            except prawcore.NotFound as exc:  # deleted or shadowbanned: Reddit does not say which
                missing = {"status": 404, "body": _json_or_none(exc.response)}
                view = AuthorView(
                    AuthorStatus.UNKNOWN, {"author_about": missing, "author_checked_at": checked_at}
                )
            else:
                about = _json_or_none(self.traffic.responses[-1]) if self.traffic.responses else None
                status = AuthorStatus.SUSPENDED if suspended else AuthorStatus.ACTIVE
                view = AuthorView(status, {"author_about": about, "author_checked_at": checked_at})
        self.authors.put(name.lower(), view)
        return view

    # -- HTTP ------------------------------------------------------------------------------
    def _before_call(self) -> None:
        self.traffic.budget.check(BUDGET_KEY)
        self.traffic.responses.clear()

    @contextmanager
    def _translated_errors(self, what: str) -> Iterator[None]:
        """Turn prawcore/requests exceptions into the adapter's exceptions."""
        where = f"reddit {what}"
        try:
            yield
        except prawcore.TooManyRequests as exc:
            headers = exc.response.headers
            reset_at = seconds_reset(headers, "x-ratelimit-reset") or seconds_reset(headers, "retry-after")
            self.traffic.budget.record(BUDGET_KEY, 0, reset_at)
            raise RateLimited(f"{where}: 429 too many requests", reset_at) from exc
        except prawcore.OAuthException as exc:
            raise AuthFailed(f"{where}: token refused ({exc.error}): check the reddit credentials") from exc
        except prawcore.BadJSON as exc:
            raise TransientError(f"{where}: malformed JSON") from exc
        except prawcore.ResponseException as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise AuthFailed(f"{where}: {status}: check the reddit credentials and subreddits") from exc
            if status >= 500:
                raise TransientError(f"{where}: {status}") from exc
            raise SourceError(f"{where}: {status} {exc.response.reason}") from exc
        except (prawcore.RequestException, requests.exceptions.JSONDecodeError) as exc:
            raise TransientError(f"{where}: {exc!r}") from exc


# -- mapping ---------------------------------------------------------------------------------


def _unique(words: list[str]) -> list[str]:
    """``words`` without case-insensitive repeats, first spelling kept."""
    kept: dict[str, str] = {}
    for word in words:
        kept.setdefault(word.lower(), word)
    return list(kept.values())


def build_query(query: BrandQuery) -> str:
    """Reddit search syntax: the brand's terms and handles (without @) OR-ed."""
    candidates = [*query.terms, *(h.lstrip("@") for h in query.handles)]
    words = _unique(candidates)
    if not words:
        raise ValueError(f"brand {query.brand!r} has neither terms nor handles to search Reddit for")
    text = " OR ".join(f'"{w}"' if " " in w else w for w in words)
    if len(text) > MAX_QUERY_CHARS:
        raise ValueError(
            f"Reddit query for brand {query.brand!r} is {len(text)} characters; the limit is 512"
        )
    return text


def _names_brand(text: str, query: BrandQuery) -> bool:
    lowered = text.lower()
    return any(word.lower().lstrip("@") in lowered for word in (*query.terms, *query.handles))


def _json_or_none(response: requests.Response | None) -> Any:
    try:
        return response.json() if response is not None else None
    except ValueError:
        return None


def _mention(thing: Any, raw: Mapping[str, dict[str, Any]]) -> Mention:
    data = vars(thing)
    author = data.get("author")
    is_comment = isinstance(thing, Comment)
    text = (
        data.get("body", "")
        if is_comment
        else "\n\n".join(p for p in (data.get("title"), data.get("selftext")) if p)
    )
    return Mention(
        platform="reddit",
        native_id=thing.fullname,
        author_id=str(data.get("author_fullname") or ""),
        author_handle=str(author) if author is not None else "[deleted]",
        text=str(text),
        url=f"https://www.reddit.com{data.get('permalink', '')}",
        created_at=datetime.fromtimestamp(float(data["created_utc"]), UTC),
        lang=None,
        raw=raw.get(thing.fullname, {}),
        reply_to_id=data.get("parent_id") if is_comment else None,
    )


def _content(found: tuple[Any, dict[str, Any]] | None) -> Content:
    """The status the thing itself shows (before any author check)."""
    if found is None:
        return Content(PostStatus.UNKNOWN, detail="absent from /api/info (private, banned or never existed)")
    data = vars(found[0])
    author_gone = data.get("author") is None  # praw turns "[deleted]" into None
    if isinstance(found[0], Comment):
        return _comment_content(str(data.get("body") or ""), author_gone)
    category = data.get("removed_by_category")
    if category in AUTHOR_CATEGORIES:
        return Content(PostStatus.DELETED_BY_AUTHOR, stated=True, detail=f"removed_by_category={category}")
    if category in MODERATOR_CATEGORIES:
        flags = ("mod_queue",) if category == "automod_filtered" else ()
        return Content(
            PostStatus.REMOVED_BY_MODERATOR, True, detail=f"removed_by_category={category}", flags=flags
        )
    if category in PLATFORM_CATEGORIES:
        return Content(PostStatus.REMOVED_BY_PLATFORM, stated=True, detail=f"removed_by_category={category}")
    if category:
        return Content(PostStatus.UNKNOWN, detail=f"unrecognised removed_by_category={category}")
    return _comment_content(str(data.get("selftext") or ""), author_gone)


def _comment_content(body: str, author_gone: bool) -> Content:
    if body.startswith("[ Removed by Reddit"):
        return Content(PostStatus.REMOVED_BY_PLATFORM, stated=True, detail="body: [ Removed by Reddit ]")
    if body == "[deleted]" and author_gone:
        return Content(PostStatus.DELETED_BY_AUTHOR, stated=True, detail="body and author: [deleted]")
    if body == "[removed]":
        return Content(
            PostStatus.REMOVED_BY_MODERATOR, detail="body: [removed] (moderator, automod or spam filter)"
        )
    if author_gone:
        return Content(PostStatus.AUTHOR_DEACTIVATED, False, AuthorStatus.DEACTIVATED, "author: [deleted]")
    return Content(PostStatus.LIVE)


def _observation(
    ref: PostRef, content: Content, raw: Mapping[str, Any], author: AuthorView | None
) -> StatusObservation:
    status, stated, detail = content.status, content.stated, content.detail
    suspended = author is not None and author.status is AuthorStatus.SUSPENDED
    if suspended and not stated and status in (PostStatus.UNKNOWN, PostStatus.REMOVED_BY_MODERATOR):
        status, stated, detail = PostStatus.AUTHOR_SUSPENDED, True, f"{detail}; author is_suspended"
    if content.author_status is not None:
        author_status = content.author_status
    else:
        author_status = author.status if author is not None else AuthorStatus.UNKNOWN
    evidence: dict[str, Any] = {"thing": dict(raw)} if raw else {"info": "fullname absent from /api/info"}
    if author is not None:
        evidence.update(author.evidence)
    return StatusObservation(
        native_id=ref.native_id,
        status=status,
        author_status=author_status,
        evidence=evidence,
        detail=detail.lstrip("; "),
        platform_stated=stated,
        flags=content.flags,
    )
