"""A fake X API v2 speaking the documented protocol (docs.x.com, docs/platforms.md §1).

It serves what the adapter and tweepy touch:

* ``GET /2/tweets/search/recent``: newest first, ``since_id`` (exclusive; 400 when older than 7 days),
  ``start_time``, ``max_results`` 10–100 (400 otherwise, default 10), ``next_token`` pagination that stays
  stable while new posts arrive, ``meta{newest_id, oldest_id, result_count, next_token}``, and a small query
  language: quoted phrases and words OR-ed, ``@handle``, ``lang:xx``, ``-from:handle``, ``-is:retweet``;
* ``GET /2/tweets?ids=`` (≤100, 400 above): visible posts in ``data``; the documented ``errors[]`` entries
  for the others (Not Found for deleted posts and posts of deactivated authors, Authorization Error for posts
  of suspended or protected authors and for posts X restricted itself);
* ``GET /2/users?ids=`` (≤100): users in ``data`` (``protected`` when asked for); "User has been suspended"
  (title Forbidden) and "Could not find user" errors;
* user context (``user_credentials``: OAuth 1.0a HMAC-SHA1 signatures are verified, or an OAuth 2 user
  token as Bearer): ``GET /2/users/by/username/:username``,
  ``POST /2/dm_conversations/with/:participant_id/messages``
  (``{"text"}`` → ``{"data": {"dm_conversation_id", "dm_event_id"}}``, kept in ``sent_dms``) and
  ``POST /2/tweets`` (``{"text", "reply": {"in_reply_to_tweet_id"}}`` → ``{"data": {"id", "text"}}``, the new
  post joins the world); the app-only bearer token is refused there with 403 Unsupported Authentication.

Fields follow ``tweet.fields``/``user.fields``: only the defaults (``id``, ``text``,
``edit_history_tweet_ids``; ``id``, ``name``, ``username``) unless asked. ``Authorization: Bearer <token>``
is checked (401 otherwise).
Every answer, faults included, carries ``x-rate-limit-limit/remaining/reset`` (reset as epoch seconds: tweepy
hot-loops without it); a spent window answers 429 with the documented body. The world is mutable: tests delete
and restore posts, suspend, deactivate or protect authors between calls. ``populate`` makes 10,000+ posts
cheaply for benches.
"""

from __future__ import annotations

import base64
import bisect
import random
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .server import FakeServer, Reply, Request

TWITTER_EPOCH_MS = 1288834974657
PROBLEMS = "https://api.twitter.com/2/problems"
SEARCH, TWEETS, USERS = "/2/tweets/search/recent", "/2/tweets", "/2/users"
BY_USERNAME, DM_WITH = "/2/users/by/username/", "/2/dm_conversations/with/"
WINDOW_LIMITS = {SEARCH: 450, TWEETS: 3500, USERS: 300}  # per 15 minutes, app auth
WINDOW_S = 900
SEARCH_DAYS = 7


def snowflake(moment: datetime, sequence: int) -> str:
    """An X id minted at ``moment`` (milliseconds since the X epoch, shifted left by 22 bits)."""
    return str(((int(moment.timestamp() * 1000) - TWITTER_EPOCH_MS) << 22) | (sequence & 0x3FFFFF))


def snowflake_time(post_id: str) -> datetime:
    return datetime.fromtimestamp(((int(post_id) >> 22) + TWITTER_EPOCH_MS) / 1000, UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class XUser:
    id: str
    username: str
    name: str
    state: str = "active"  # active | suspended | deactivated
    protected: bool = False

    def as_json(self, fields: set[str]) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "name": self.name, "username": self.username}
        if "protected" in fields:
            data["protected"] = self.protected
        return data


@dataclass
class XTweet:
    id: str
    author: XUser
    text: str
    created_at: datetime
    lang: str = "en"
    in_reply_to: XTweet | None = None
    deleted: bool = False
    restricted: bool = False  # hidden by X itself: answered with an Authorization Error
    withheld_in: tuple[str, ...] = ()

    def as_json(self, fields: set[str], with_author: bool) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "text": self.text, "edit_history_tweet_ids": [self.id]}
        optional: dict[str, Any] = {
            "author_id": self.author.id,
            "created_at": _iso(self.created_at),
            "lang": self.lang,
            "conversation_id": self.in_reply_to.id if self.in_reply_to else self.id,
        }
        if self.in_reply_to is not None:
            optional["in_reply_to_user_id"] = self.in_reply_to.author.id
            optional["referenced_tweets"] = [{"type": "replied_to", "id": self.in_reply_to.id}]
        if self.withheld_in:
            optional["withheld"] = {"copyright": False, "country_codes": list(self.withheld_in)}
        data.update({k: v for k, v in optional.items() if k in fields})
        if with_author:
            data["author_id"] = self.author.id
        return data


@dataclass
class UserCredentials:
    """The brand account's user-context secrets: OAuth 1.0a, or an OAuth 2 user access token."""

    consumer_key: str = "ck"
    consumer_secret: str = "cs"
    access_token: str = "at-1"
    access_token_secret: str = "ats-1"
    oauth2_user_token: str = "oauth2-user-1"
    user_id: str = "99"


@dataclass
class Window:
    limit: int
    remaining: int
    reset: int


class FakeX(FakeServer):
    """A fake X API with a mutable world of users and posts."""

    def __init__(self, bearer_token: str = "test-bearer") -> None:
        super().__init__()
        self.bearer_token = bearer_token
        self.users: dict[str, XUser] = {}
        self.tweets: dict[str, XTweet] = {}
        self.windows: dict[str, Window] = {}
        self._ids: list[int] = []  # every post id, ascending
        self._sequence = 0
        self.route("GET", SEARCH, self._guarded(SEARCH, self._search))
        self.route("GET", TWEETS, self._guarded(TWEETS, self._tweets))
        self.route("GET", USERS, self._guarded(USERS, self._users))
        self.user_credentials = UserCredentials()
        self.sent_dms: list[dict[str, Any]] = []
        self.route_prefix("GET", BY_USERNAME, self._user_context(self._by_username))
        self.route_prefix("POST", DM_WITH, self._user_context(self._send_dm))
        self.route("POST", TWEETS, self._user_context(self._create_tweet))

    def start(self) -> FakeX:
        super().start()
        # The handler writes headers and body separately; without TCP_NODELAY every keep-alive call
        # waits ~40 ms for the client's delayed ACK.
        assert self._httpd is not None
        self._httpd.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
        return self

    # -- the world ------------------------------------------------------------------------
    def add_user(self, username: str, **state: Any) -> XUser:
        user = XUser(id=str(10_000 + len(self.users)), username=username, name=username.title(), **state)
        self.users[user.id] = user
        return user

    def add_tweet(self, author: XUser, text: str, created_at: datetime | None = None, **extra: Any) -> XTweet:
        moment = created_at or datetime.now(UTC)
        self._sequence += 1
        tweet = XTweet(
            id=snowflake(moment, self._sequence), author=author, text=text, created_at=moment, **extra
        )
        self.tweets[tweet.id] = tweet
        bisect.insort(self._ids, int(tweet.id))
        return tweet

    def populate(
        self, posts: int, authors: int, seed: int = 1, text: str = "acme broke my order"
    ) -> list[XTweet]:
        """Add ``posts`` posts by ``authors`` new users, spread over the last six days."""
        rng = random.Random(seed)
        pool = [self.add_user(f"user{len(self.users)}") for _ in range(authors)]
        start = datetime.now(UTC) - timedelta(days=6)
        step = timedelta(days=6) / max(posts, 1)
        return [self.add_tweet(rng.choice(pool), f"{text} #{i}", start + i * step) for i in range(posts)]

    def visible(self, tweet: XTweet) -> bool:
        hidden = tweet.deleted or tweet.restricted
        return not hidden and tweet.author.state == "active" and not tweet.author.protected

    # -- plumbing: auth, rate-limit windows, headers on every answer ------------------------
    def window(self, route: str) -> Window:
        now = int(time.time())
        window = self.windows.get(route)
        if window is None or window.reset <= now:
            limit = WINDOW_LIMITS.get(route, 300)
            window = self.windows[route] = Window(limit, limit, now + WINDOW_S)
        return window

    def dispatch(self, request: Request) -> Reply:
        reply = super().dispatch(request)
        window = self.window(request.path)
        reply.headers.setdefault("x-rate-limit-limit", str(window.limit))
        reply.headers.setdefault("x-rate-limit-remaining", str(window.remaining))
        reply.headers.setdefault("x-rate-limit-reset", str(window.reset))
        return reply

    def _guarded(self, route: str, handler: Any) -> Any:
        def guarded(request: Request) -> Reply:
            if request.headers.get("authorization") != f"Bearer {self.bearer_token}":
                body = {
                    "title": "Unauthorized",
                    "type": "about:blank",
                    "status": 401,
                    "detail": "Unauthorized",
                }
                return Reply(401, body)
            window = self.window(route)
            if window.remaining <= 0:
                return Reply(429, {"errors": [{"code": 88, "message": "Rate limit exceeded"}]})
            window.remaining -= 1
            return handler(request)

        return guarded

    # -- endpoints ------------------------------------------------------------------------
    def _search(self, request: Request) -> Reply:
        query = request.arg("query") or ""
        size = int(request.arg("max_results") or 10)
        if not 10 <= size <= 100:
            return _invalid("max_results", str(size), f"value [{size}] is not between 10 and 100")
        if not query or len(query) > 512:
            return _invalid("query", query[:40], "must be between 1 and 512 characters")
        floor = datetime.now(UTC) - timedelta(days=SEARCH_DAYS)
        since_id = request.arg("since_id")
        if since_id and snowflake_time(since_id) < floor:
            return _invalid("since_id", since_id, f"must be a tweet id created after {_iso(floor)}")
        start = request.arg("start_time")
        if start:
            floor = max(floor, datetime.fromisoformat(start.replace("Z", "+00:00")))
        token = request.arg("next_token")
        try:
            below = int(base64.urlsafe_b64decode(token).decode()) if token else None
        except ValueError:
            return _invalid("next_token", token or "", "is not a valid pagination token")
        matches = _Matcher(query)
        page: list[XTweet] = []
        more = False
        for post_id in self._ids_descending(below, int(since_id) if since_id else None):
            tweet = self.tweets[str(post_id)]
            if tweet.created_at < floor:
                break
            if self.visible(tweet) and matches(tweet):
                if len(page) == size:
                    more = True
                    break
                page.append(tweet)
        return Reply(200, self._page_body(request, page, more))

    def _ids_descending(self, below: int | None, since: int | None) -> Any:
        end = bisect.bisect_left(self._ids, below) if below else len(self._ids)
        for index in range(end - 1, -1, -1):
            if since is not None and self._ids[index] <= since:
                return
            yield self._ids[index]

    def _page_body(self, request: Request, page: list[XTweet], more: bool) -> dict[str, Any]:
        if not page:
            return {"meta": {"result_count": 0}}
        body = self._tweets_body(request, page)
        body["meta"] = {"newest_id": page[0].id, "oldest_id": page[-1].id, "result_count": len(page)}
        if more:
            body["meta"]["next_token"] = base64.urlsafe_b64encode(page[-1].id.encode()).decode()
        return body

    def _tweets(self, request: Request) -> Reply:
        ids = [i for i in (request.arg("ids") or "").split(",") if i]
        if not 1 <= len(ids) <= 100:
            return _invalid("ids", ",".join(ids[:3]), "must contain between 1 and 100 ids")
        shown, errors = [], []
        for post_id in ids:
            tweet = self.tweets.get(post_id)
            if tweet is not None and self.visible(tweet):
                shown.append(tweet)
            elif tweet is not None and not tweet.deleted and tweet.author.state != "deactivated":
                errors.append(_not_authorized(post_id))
            else:
                errors.append(
                    _not_found("tweet", "ids", post_id, f"Could not find tweet with ids: [{post_id}].")
                )
        body = self._tweets_body(request, shown) if shown else {}
        if errors:
            body["errors"] = errors
        return Reply(200, body)

    def _tweets_body(self, request: Request, tweets: list[XTweet]) -> dict[str, Any]:
        fields = _fields(request, "tweet.fields")
        expand = "author_id" in _fields(request, "expansions")
        body: dict[str, Any] = {"data": [t.as_json(fields, expand) for t in tweets]}
        if expand:
            authors = {t.author.id: t.author for t in tweets}
            user_fields = _fields(request, "user.fields")
            body["includes"] = {"users": [u.as_json(user_fields) for u in authors.values()]}
        return body

    def _users(self, request: Request) -> Reply:
        ids = [i for i in (request.arg("ids") or "").split(",") if i]
        if not 1 <= len(ids) <= 100:
            return _invalid("ids", ",".join(ids[:3]), "must contain between 1 and 100 ids")
        fields = _fields(request, "user.fields")
        shown, errors = [], []
        for user_id in ids:
            user = self.users.get(user_id)
            if user is not None and user.state == "active":
                shown.append(user.as_json(fields))
            elif user is not None and user.state == "suspended":
                errors.append(_suspended(user_id))
            else:
                errors.append(
                    _not_found("user", "ids", user_id, f"Could not find user with ids: [{user_id}].")
                )
        body: dict[str, Any] = {"data": shown} if shown else {}
        if errors:
            body["errors"] = errors
        return Reply(200, body)

    # -- user context: DMs and posting ------------------------------------------------------
    def _user_context(self, handler: Any) -> Any:
        def checked(request: Request) -> Reply:
            auth = request.headers.get("authorization", "")
            if auth == f"Bearer {self.bearer_token}":
                return Reply(403, _unsupported_authentication())
            if not (
                self._oauth1_valid(request, auth)
                or auth == f"Bearer {self.user_credentials.oauth2_user_token}"
            ):
                return Reply(
                    401,
                    {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
                )
            return handler(request)

        return checked

    def _oauth1_valid(self, request: Request, auth: str) -> bool:
        """Verify an OAuth 1.0a HMAC-SHA1 signature over the URL the client signed (this server's)."""
        from urllib.parse import urlencode

        from oauthlib.common import Request as OAuthRequest
        from oauthlib.oauth1.rfc5849 import signature

        if not auth.startswith("OAuth "):
            return False
        query = urlencode(request.query, doseq=True)
        oauth = dict(
            signature.collect_parameters(headers={"Authorization": auth}, exclude_oauth_signature=False)
        )
        creds = self.user_credentials
        if (oauth.get("oauth_consumer_key"), oauth.get("oauth_token")) != (
            creds.consumer_key,
            creds.access_token,
        ):
            return False
        signed = OAuthRequest(
            self.url + request.path + (f"?{query}" if query else ""), http_method=request.method
        )
        signed.params = signature.collect_parameters(uri_query=query, headers={"Authorization": auth})
        signed.signature = oauth.get("oauth_signature", "")
        return signature.verify_hmac_sha1(signed, creds.consumer_secret, creds.access_token_secret)

    def _by_username(self, request: Request) -> Reply:
        name = request.path.removeprefix(BY_USERNAME).lower()
        user = next((u for u in self.users.values() if u.username.lower() == name), None)
        if user is None or user.state != "active":
            detail = f"Could not find user with username: [{name}]."
            return Reply(200, {"errors": [_not_found("user", "username", name, detail)]})
        return Reply(200, {"data": user.as_json(set())})

    def _send_dm(self, request: Request) -> Reply:
        participant = request.path.removeprefix(DM_WITH).removesuffix("/messages")
        text = (request.json() or {}).get("text") or ""
        if participant not in self.users or not text:
            return _invalid("participant_id", participant, "must name a user, with a non-empty text")
        me = self.user_credentials.user_id
        event = {
            "dm_conversation_id": "-".join(sorted([me, participant])),
            "dm_event_id": str(1_600_000_000_000_000_000 + len(self.sent_dms)),
        }
        self.sent_dms.append({**event, "participant_id": participant, "text": text})
        return Reply(201, {"data": event})

    def _create_tweet(self, request: Request) -> Reply:
        body = request.json() or {}
        parent_id = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        parent = self.tweets.get(str(parent_id)) if parent_id else None
        if parent_id and (parent is None or not self.visible(parent)):
            return _invalid("reply.in_reply_to_tweet_id", str(parent_id), "must name a visible post")
        me = self.users.get(self.user_credentials.user_id) or XUser(
            self.user_credentials.user_id, "brand", "Brand"
        )
        tweet = self.add_tweet(me, str(body.get("text") or ""), in_reply_to=parent)
        return Reply(
            201, {"data": {"id": tweet.id, "text": tweet.text, "edit_history_tweet_ids": [tweet.id]}}
        )


def _unsupported_authentication() -> dict[str, Any]:
    return {
        "title": "Unsupported Authentication",
        "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported "
        "authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
        "type": f"{PROBLEMS}/unsupported-authentication",
        "status": 403,
    }


class _Matcher:
    """Just enough of X's query language for the adapter's queries."""

    def __init__(self, query: str) -> None:
        self.langs = set(re.findall(r"(?<![-\w])lang:(\w+)", query))
        self.excluded = {h.lower() for h in re.findall(r"-from:(\w+)", query)}
        rest = re.sub(r"-?\w+:\w+|\bOR\b|[()]", " ", query)
        self.terms = [t.lower() for t in re.findall(r'"([^"]+)"', rest)]
        self.terms += [w.lower() for w in re.sub(r'"[^"]*"', " ", rest).split()]

    def __call__(self, tweet: XTweet) -> bool:
        if self.langs and tweet.lang not in self.langs:
            return False
        if tweet.author.username.lower() in self.excluded:
            return False
        text = tweet.text.lower()
        return any(term in text for term in self.terms)


def _fields(request: Request, name: str) -> set[str]:
    return {f for f in (request.arg(name) or "").split(",") if f}


def _invalid(parameter: str, value: str, message: str) -> Reply:
    body = {
        "errors": [
            {"parameters": {parameter: [value]}, "message": f"The `{parameter}` query parameter {message}"}
        ],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": f"{PROBLEMS}/invalid-request",
    }
    return Reply(400, body)


def _not_found(resource_type: str, parameter: str, value: str, detail: str) -> dict[str, Any]:
    return {
        "value": value,
        "detail": detail,
        "title": "Not Found Error",
        "resource_type": resource_type,
        "parameter": parameter,
        "resource_id": value,
        "type": f"{PROBLEMS}/resource-not-found",
    }


def _not_authorized(post_id: str) -> dict[str, Any]:
    return {
        "value": post_id,
        "parameter": "ids",
        "resource_type": "tweet",
        "section": "data",
        "title": "Authorization Error",
        "detail": f"Sorry, you are not authorized to see the Tweet with ids: [{post_id}].",
        "type": f"{PROBLEMS}/not-authorized-for-resource",
    }


def _suspended(user_id: str) -> dict[str, Any]:
    return {
        "value": user_id,
        "detail": f"User has been suspended: [{user_id}].",
        "title": "Forbidden",
        "resource_type": "user",
        "parameter": "ids",
        "resource_id": user_id,
        "type": f"{PROBLEMS}/resource-not-found",
    }
