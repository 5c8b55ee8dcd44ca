"""X / Twitter source (API v2) through ``tweepy.Client``.

Collect: ``GET /2/tweets/search/recent`` (last 7 days), newest first, ``next_token`` pages.
A sweep starts from ``since_id`` (the newest post of the previous sweep) and walks pages
until X sends no ``next_token``; the ``newest_id`` of the sweep's first page becomes the next
sweep's ``since_id``. The cursor (JSON) holds ``since_id``, ``start_time`` (only when
``since_id`` fell out of the 7-day window, which X refuses with a 400), ``sweep_newest`` and
``next_token``, so a crash between pages resumes on the next page with the very same query:
no post skipped, none read twice.

Re-check: ``GET /2/tweets?ids=`` (≤100 ids), then ONE ``GET /2/users?ids=`` per 100 authors,
only for authors of posts that came back as errors and whose state is not already known
(from the ``includes.users`` of the same call, or a look-up less than ``author_cache_s`` old).
Mapping, per docs/platforms.md "Status mapping (X)":

=========================================  ==========================  =======================
post error                                 author                      status
=========================================  ==========================  =======================
(post in ``data``)                         –                           live (+ flag withheld)
Not Found / ``…/resource-not-found``       live                        deleted_by_author
same                                       "Could not find user…"      author_deactivated
same                                       "User has been suspended…"  author_suspended
Authorization / ``…/not-authorized-…``     ``protected: true``         author_protected
same                                       suspended                   author_suspended
same                                       live, not protected         unknown (maybe removed by X)
any other error                            –                           unknown
=========================================  ==========================  =======================

A post that is neither in ``data`` nor named by an error is not returned (undecided).
Errors are matched only when ``resource_type == "tweet"`` and their id was in our request
(``parameter == "ids"`` or ``resource_id`` ours), and ``type`` is compared by suffix
(``api.twitter.com`` or ``api.x.com``).

Errors: 429 → ``RateLimited`` (reset from ``x-rate-limit-reset``, epoch); a response with
``x-rate-limit-remaining: 0`` makes the next call on that endpoint raise ``RateLimited``
without calling X; 5xx, timeouts, connection errors, malformed JSON → ``TransientError``;
401/403 → ``AuthFailed``; other 4xx → ``SourceError``. tweepy's ``wait_on_rate_limit`` is
off: it would sleep inside the call.

Secrets: ``bearer_token`` (env ``COMPLAINTWATCH_TWITTER_BEARER_TOKEN``). ``api_base_url`` (a proxy or a test
server) replaces ``https://api.twitter.com`` in every URL tweepy builds, through the session (tweepy has no
host setting).

Options:
  ``max_results`` (int, 10–100, default 100): posts per search page.
  ``lang`` (list of ISO 639-1 codes, default: the brand's ``languages``): adds ``lang:xx``.
  ``exclude_retweets`` (bool, default true): adds ``-is:retweet``.
  ``exclude_own_posts`` (bool, default true): adds ``-from:handle`` for the brand's handles
      (X bills every post read; the brand's own posts are not complaints).
  ``timeout`` (float seconds, default 30): per HTTP call.
  ``author_cache_s`` (float seconds, default 300; 0 = off): how long an author look-up is
      reused across ``lookup`` calls.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import requests
import tweepy

from collectors._http import ApiSession, RateBudget, TtlCache, epoch_reset, header_int, options_from
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

REQUIRED_SECRETS = ("bearer_token",)
OPTIONAL_SECRETS: tuple[str, ...] = ()

X_API = "https://api.twitter.com"
SEARCH_ROUTE = "/2/tweets/search/recent"
TWEETS_ROUTE = "/2/tweets"
USERS_ROUTE = "/2/users"
MAX_IDS = 100
MAX_QUERY_CHARS = 512
TWEET_FIELDS = [
    "author_id",
    "created_at",
    "lang",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "withheld",
]
USER_FIELDS = ["username", "name", "protected", "withheld"]
#: X refuses a since_id older than 7 days; keep a margin for clock skew and slow sweeps.
SEARCH_WINDOW = timedelta(days=7) - timedelta(minutes=10)
TWITTER_EPOCH_MS = 1288834974657


@dataclass(frozen=True)
class TwitterOptions:
    max_results: int = 100
    lang: tuple[str, ...] = ()
    exclude_retweets: bool = True
    exclude_own_posts: bool = True
    timeout: float = 30.0
    author_cache_s: float = 300.0

    def __post_init__(self) -> None:
        if not 10 <= self.max_results <= 100:
            raise ValueError(f"option max_results must be between 10 and 100, got {self.max_results}")
        if self.timeout <= 0:
            raise ValueError(f"option timeout must be positive, got {self.timeout}")
        if self.author_cache_s < 0:
            raise ValueError(f"option author_cache_s must be >= 0, got {self.author_cache_s}")


def build(spec: SourceSpec) -> TwitterSource:
    """Factory registered as the ``twitter`` entry point."""
    options = options_from(spec, TwitterOptions)
    token = spec.secrets.get("bearer_token")
    if not token:
        raise ValueError(f"source {spec.name!r} (twitter): secret bearer_token is missing")
    return TwitterSource(token, spec.api_base_url or None, options)


# -- the cursor ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchCursor:
    """Where a sweep stands: ``next_token`` is set only inside a sweep."""

    since_id: str | None = None
    start_time: str | None = None
    sweep_newest: str | None = None
    next_token: str | None = None

    def encode(self) -> str:
        return json.dumps({k: v for k, v in vars(self).items() if v is not None}, sort_keys=True)

    @classmethod
    def decode(cls, cursor: str | None) -> SearchCursor:
        if not cursor:
            return cls()
        try:
            values = json.loads(cursor)
            return cls(**{k: str(v) for k, v in values.items()})
        except (ValueError, TypeError) as exc:
            raise ValueError(f"twitter cursor is not one this adapter wrote: {cursor!r}") from exc


def snowflake_time(post_id: str) -> datetime:
    """When X minted ``post_id`` (ids are time-ordered "snowflakes")."""
    return datetime.fromtimestamp(((int(post_id) >> 22) + TWITTER_EPOCH_MS) / 1000, UTC)


def newer_id(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if int(a) >= int(b) else b


# -- the query -------------------------------------------------------------------------------


def _unique(words: list[str]) -> list[str]:
    """``words`` without case-insensitive repeats, first spelling kept."""
    kept: dict[str, str] = {}
    for word in words:
        kept.setdefault(word.lower(), word)
    return list(kept.values())


def build_query(query: BrandQuery, options: TwitterOptions) -> str:
    """The X search query for a brand: its terms and @handles OR-ed, plus filters."""
    candidates = [f'"{t}"' if " " in t else t for t in query.terms]
    candidates += [f"@{h.lstrip('@')}" for h in query.handles]
    words = _unique(candidates)
    if not words:
        raise ValueError(f"brand {query.brand!r} has neither terms nor handles to search X for")
    parts = [f"({' OR '.join(words)})" if len(words) > 1 else words[0]]
    langs = options.lang or query.languages
    if langs:
        lang_words = [f"lang:{code}" for code in langs]
        parts.append(f"({' OR '.join(lang_words)})" if len(lang_words) > 1 else lang_words[0])
    if options.exclude_retweets:
        parts.append("-is:retweet")
    if options.exclude_own_posts:
        parts += [f"-from:{h.lstrip('@')}" for h in query.handles]
    text = " ".join(parts)
    if len(text) > MAX_QUERY_CHARS:
        raise ValueError(
            f"X search query for brand {query.brand!r} is {len(text)} characters; X allows {MAX_QUERY_CHARS}"
        )
    return text


# -- the source ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorView:
    """What we know of one author: a status, the raw evidence and whether X stated it outright."""

    author_id: str
    status: AuthorStatus
    evidence: Mapping[str, Any] = field(default_factory=dict)
    stated: bool = False


class TwitterSource:
    """The ``Source`` for X: see the module docstring."""

    platform = "twitter"
    lookup_batch = MAX_IDS
    lookup_chunk = 10 * MAX_IDS  # authors of missing posts are looked up together across 10 batches
    bills_lookups = True  # each post returned is a billed read: re-checks count against the read budget

    def __init__(self, bearer_token: str, api_base_url: str | None, options: TwitterOptions) -> None:
        self.options = options
        self.session = ApiSession(X_API, api_base_url, options.timeout)
        self.client = tweepy.Client(bearer_token=bearer_token, return_type=requests.Response)
        self.client.session = self.session
        self.budget = RateBudget("twitter")
        self.authors: TtlCache[AuthorView] = TtlCache(options.author_cache_s)

    # -- collect ---------------------------------------------------------------------------
    def search(self, query: BrandQuery, cursor: str | None) -> Page:
        """One page of recent posts mentioning the brand, newest first."""
        state = self._start_sweep(SearchCursor.decode(cursor))
        params: dict[str, Any] = {
            "max_results": self.options.max_results,
            "expansions": ["author_id"],
            "tweet_fields": TWEET_FIELDS,
            "user_fields": USER_FIELDS,
            "since_id": None if state.start_time else state.since_id,
            "start_time": state.start_time,
            "next_token": state.next_token,
        }
        text = build_query(query, self.options)
        body, response = self._call(SEARCH_ROUTE, lambda: self.client.search_recent_tweets(text, **params))
        tweets = _list(body, "data")
        users = {u.get("id"): u for u in _list(body.get("includes") or {}, "users")}
        mentions = [_mention(tweet, users) for tweet in tweets]
        meta = body.get("meta") or {}
        sweep_newest = state.sweep_newest or meta.get("newest_id")
        if meta.get("next_token"):
            following = SearchCursor(state.since_id, state.start_time, sweep_newest, str(meta["next_token"]))
        else:
            following = SearchCursor(since_id=newer_id(sweep_newest, state.since_id))
        missed = None
        if state.start_time and state.since_id and not state.next_token:  # first page of a late sweep
            missed = (snowflake_time(state.since_id), datetime.fromisoformat(state.start_time))
        return Page(
            mentions=mentions,
            next_cursor=following.encode(),
            exhausted=following.next_token is None,
            request=_provenance(response),
            billed_reads=len(tweets),
            missed=missed,
        )

    def _start_sweep(self, state: SearchCursor) -> SearchCursor:
        """Swap a since_id X would refuse (older than 7 days) for a start_time, once per sweep."""
        if state.next_token or not state.since_id:
            return state
        oldest_allowed = datetime.now(UTC) - SEARCH_WINDOW
        if snowflake_time(state.since_id) >= oldest_allowed:
            return SearchCursor(since_id=state.since_id)
        return SearchCursor(since_id=state.since_id, start_time=oldest_allowed.strftime("%Y-%m-%dT%H:%M:%SZ"))

    # -- re-check --------------------------------------------------------------------------
    def lookup(self, posts: Sequence[PostRef]) -> LookupResult:
        """Status of each post: one call per 100 posts, plus author calls for the missing ones.

        A rate limit or server error part-way keeps what was decided before it (posts seen live,
        missing posts whose author is known: X billed those reads) and leaves the rest undecided;
        only when nothing was decided does the error propagate.
        """
        calls_before = self.session.calls
        known: dict[str, AuthorView] = {}
        found: list[tuple[PostRef, dict[str, Any]]] = []
        gone: list[tuple[PostRef, dict[str, Any]]] = []
        try:
            for chunk in _chunks(posts, MAX_IDS):
                live, errors = self._lookup_posts(chunk, known)
                found += [(ref, live[ref.native_id]) for ref in chunk if ref.native_id in live]
                gone += [
                    (r, errors[r.native_id])
                    for r in chunk
                    if r.native_id not in live and r.native_id in errors
                ]
            self._lookup_authors({ref.author_id for ref, _ in gone if ref.author_id}, known)
        except TransientError:
            gone = [(ref, error) for ref, error in gone if ref.author_id in known]
            if not found and not gone:
                raise
        observations = [_live_observation(ref, tweet, known) for ref, tweet in found]
        observations += [_gone_observation(ref, error, known.get(ref.author_id)) for ref, error in gone]
        return LookupResult(
            observations=observations,
            calls=self.session.calls - calls_before,
            billed=tuple(ref.native_id for ref, _ in found),
        )

    def _lookup_posts(
        self, chunk: Sequence[PostRef], known: dict[str, AuthorView]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        ids = list(dict.fromkeys(ref.native_id for ref in chunk))
        body, _ = self._call(
            TWEETS_ROUTE,
            lambda: self.client.get_tweets(
                ids=ids, expansions=["author_id"], tweet_fields=TWEET_FIELDS, user_fields=USER_FIELDS
            ),
        )
        # An author with a post in ``data`` is neither suspended, deactivated nor protected.
        for user in _list(body.get("includes") or {}, "users"):
            self._remember(_author_from_user(user), known)
        live = {str(t.get("id")): t for t in _list(body, "data")}
        wanted = set(ids)
        errors = {}
        for error in _list(body, "errors"):
            target = _error_target(error, "tweet", "ids", wanted)
            if target is not None:
                errors[target] = error
        return live, errors

    def _lookup_authors(self, author_ids: set[str], known: dict[str, AuthorView]) -> None:
        """One ``GET /2/users`` per 100 authors whose state is not known already."""
        for author_id in author_ids - set(known):
            cached = self.authors.get(author_id)
            if cached is not None:
                known[author_id] = cached
        for chunk in _chunks(sorted(author_ids - set(known)), MAX_IDS):
            body, _ = self._call(
                USERS_ROUTE,
                partial(self.client.get_users, ids=list(chunk), user_fields=USER_FIELDS),
            )
            for user in _list(body, "data"):
                self._remember(_author_from_user(user), known)
            for error in _list(body, "errors"):
                target = _error_target(error, "user", "ids", set(chunk))
                if target is not None:
                    self._remember(_author_from_error(target, error), known)

    def _remember(self, view: AuthorView, known: dict[str, AuthorView]) -> None:
        known[view.author_id] = view
        self.authors.put(view.author_id, view)

    # -- HTTP ------------------------------------------------------------------------------
    def _call(
        self, route: str, send: Callable[[], requests.Response]
    ) -> tuple[dict[str, Any], requests.Response]:
        """Send one request through tweepy; return the JSON body, or raise our exceptions."""
        self.budget.check(route)
        with self._translated_errors(route):
            response = send()
        self._note_budget(route, response)
        try:
            body = response.json()
        except ValueError as exc:
            raise TransientError(f"twitter {route}: malformed JSON ({exc})") from exc
        if not isinstance(body, dict):
            raise TransientError(f"twitter {route}: expected a JSON object, got {type(body).__name__}")
        return body, response

    def _note_budget(self, route: str, response: requests.Response) -> None:
        headers = response.headers
        self.budget.record(
            route, header_int(headers, "x-rate-limit-remaining"), epoch_reset(headers, "x-rate-limit-reset")
        )

    @contextmanager
    def _translated_errors(self, route: str) -> Iterator[None]:
        """Turn tweepy/requests exceptions into the adapter's exceptions."""
        where = f"twitter {route}"
        try:
            yield
        except tweepy.TooManyRequests as exc:
            reset_at = epoch_reset(exc.response.headers, "x-rate-limit-reset")
            self.budget.record(route, 0, reset_at)
            raise RateLimited(f"{where}: 429 rate limit exceeded", reset_at) from exc
        except tweepy.HTTPException as exc:
            self._note_budget(route, exc.response)
            status = exc.response.status_code
            detail = "; ".join(exc.api_messages) or exc.response.reason
            if isinstance(exc, tweepy.TwitterServerError):
                raise TransientError(f"{where}: {status} {detail}") from exc
            if isinstance(exc, tweepy.Unauthorized | tweepy.Forbidden):
                raise AuthFailed(
                    f"{where}: {status} {detail} (check COMPLAINTWATCH_TWITTER_BEARER_TOKEN)"
                ) from exc
            raise SourceError(f"{where}: {status} {detail}") from exc
        except requests.RequestException as exc:
            raise TransientError(f"{where}: {exc.__class__.__name__}: {exc}") from exc


# -- mapping ---------------------------------------------------------------------------------


def _list(body: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    value = body.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise TransientError(f"twitter: malformed response, {key!r} is not a list of objects")
    return value


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _provenance(response: requests.Response) -> dict[str, Any]:
    return {"method": "GET", "url": response.url, "status": response.status_code}


def _mention(tweet: Mapping[str, Any], users: Mapping[str | None, Mapping[str, Any]]) -> Mention:
    try:
        post_id, author_id, text = str(tweet["id"]), str(tweet["author_id"]), str(tweet["text"])
        created_at = datetime.fromisoformat(str(tweet["created_at"]).replace("Z", "+00:00"))
    except (KeyError, ValueError) as exc:
        raise TransientError(f"twitter: malformed post {json.dumps(tweet)[:200]} ({exc!r})") from exc
    author = users.get(author_id) or {}
    handle = str(author.get("username") or "")
    replied_to = [r.get("id") for r in tweet.get("referenced_tweets") or [] if r.get("type") == "replied_to"]
    return Mention(
        platform="twitter",
        native_id=post_id,
        author_id=author_id,
        author_handle=handle,
        text=text,
        url=f"https://x.com/{handle or 'i/web'}/status/{post_id}",
        created_at=created_at.astimezone(UTC),
        lang=tweet.get("lang"),
        raw={"tweet": dict(tweet), "author": dict(author)},
        reply_to_id=str(replied_to[0]) if replied_to else None,
    )


def _error_target(
    error: Mapping[str, Any], resource_type: str, parameter: str, wanted: set[str]
) -> str | None:
    """The id an error entry speaks about, when it is about one of ours; else None."""
    if error.get("resource_type") != resource_type:
        return None
    target = str(error.get("resource_id") or error.get("value") or "")
    if target not in wanted:
        return None
    if error.get("parameter") == parameter or str(error.get("resource_id") or "") in wanted:
        return target
    return None


def _kind(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type") or "")
    title = str(error.get("title") or "")
    if kind.endswith("/resource-not-found") or title == "Not Found Error":
        return "not_found"
    if kind.endswith("/not-authorized-for-resource") or title == "Authorization Error":
        return "not_authorized"
    return "other"


def _checked_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _author_from_user(user: Mapping[str, Any]) -> AuthorView:
    protected = bool(user.get("protected"))
    status = AuthorStatus.PROTECTED if protected else AuthorStatus.ACTIVE
    evidence = {"author": dict(user), "author_checked_at": _checked_now()}
    return AuthorView(str(user.get("id")), status, evidence, stated=protected)


def _author_from_error(author_id: str, error: Mapping[str, Any]) -> AuthorView:
    detail = str(error.get("detail") or "")
    evidence = {"author_error": dict(error), "author_checked_at": _checked_now()}
    if detail.startswith("User has been suspended"):
        return AuthorView(author_id, AuthorStatus.SUSPENDED, evidence, stated=True)
    if detail.startswith("Could not find user"):
        return AuthorView(author_id, AuthorStatus.DEACTIVATED, evidence)
    return AuthorView(author_id, AuthorStatus.UNKNOWN, evidence)


def _live_observation(
    ref: PostRef, tweet: Mapping[str, Any], known: Mapping[str, AuthorView]
) -> StatusObservation:
    author = known.get(str(tweet.get("author_id") or ref.author_id))
    withheld = tweet.get("withheld") or {}
    detail = f"withheld in {', '.join(withheld.get('country_codes') or [])}" if withheld else ""
    return StatusObservation(
        native_id=ref.native_id,
        status=PostStatus.LIVE,
        author_status=author.status if author else AuthorStatus.ACTIVE,
        evidence={"tweet": dict(tweet), **(author.evidence if author else {})},
        detail=detail,
        flags=("withheld",) if withheld else (),
    )


#: (post error kind, author status) → post status; pairs not listed give ``unknown``.
GONE_MAP: dict[tuple[str, AuthorStatus], PostStatus] = {
    ("not_found", AuthorStatus.ACTIVE): PostStatus.DELETED_BY_AUTHOR,
    ("not_found", AuthorStatus.PROTECTED): PostStatus.DELETED_BY_AUTHOR,
    ("not_found", AuthorStatus.DEACTIVATED): PostStatus.AUTHOR_DEACTIVATED,
    ("not_found", AuthorStatus.SUSPENDED): PostStatus.AUTHOR_SUSPENDED,
    ("not_authorized", AuthorStatus.PROTECTED): PostStatus.AUTHOR_PROTECTED,
    ("not_authorized", AuthorStatus.SUSPENDED): PostStatus.AUTHOR_SUSPENDED,
    ("not_authorized", AuthorStatus.DEACTIVATED): PostStatus.AUTHOR_DEACTIVATED,
}


def _gone_observation(ref: PostRef, error: Mapping[str, Any], author: AuthorView | None) -> StatusObservation:
    kind = _kind(error)
    author = author or AuthorView(
        ref.author_id, AuthorStatus.UNKNOWN, {"author_note": "no author id to look up"}
    )
    status = GONE_MAP.get((kind, author.status), PostStatus.UNKNOWN)
    detail = str(error.get("detail") or error.get("title") or "")
    if status is PostStatus.UNKNOWN and kind == "not_authorized" and author.status is AuthorStatus.ACTIVE:
        detail += " (author live and public: possibly removed by X)"
    return StatusObservation(
        native_id=ref.native_id,
        status=status,
        author_status=author.status,
        evidence={"error": dict(error), **author.evidence},
        detail=detail,
        platform_stated=author.stated
        and status in (PostStatus.AUTHOR_SUSPENDED, PostStatus.AUTHOR_PROTECTED),
    )
