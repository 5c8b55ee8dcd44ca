"""A fake Mastodon instance speaking the documented REST API (docs.joinmastodon.org).

It serves what the adapter and Mastodon.py touch:

* ``GET /api/v1/instance/`` and ``GET /api/v2/instance/`` (Mastodon.py's version check before ``search_v2``);
* ``GET /api/v2/search`` (statuses, id-descending like ``StatusesSearchService``; ``min_id``/``max_id`` become
  second-precision ``after:``/``before:`` filters exactly as Mastodon's ``convert_deprecated_options!`` does);
* ``GET /api/v1/timelines/tag/:tag`` (``paginate_by_id`` semantics and a ``Link`` header);
* ``GET /api/v1/statuses/:id`` (404 ``{"error":"Record not found"}``) and, on 4.3+,
  ``GET /api/v1/statuses?id[]=`` (at most 20, 422 above, missing ids silently omitted);
* ``GET /api/v1/accounts/:id`` and, on 4.3+, ``GET /api/v1/accounts?id[]=`` (at most 40).

Every answer carries ``X-RateLimit-Limit/Remaining/Reset`` (the reset as ISO-8601); a spent window answers
429. The world is mutable: tests delete, restore, suspend, silence or destroy things between calls.
``legacy=True`` behaves like a pre-4.3 server (no batch routes); ``suspended_as_410=True`` answers suspended
accounts with 410 like servers 2.4–3.2.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from .server import FakeServer, Handler, Reply, Request

STATUSES_LIMIT = 20  # DEFAULT_STATUSES_LIMIT in Api::V1::StatusesController
ACCOUNTS_LIMIT = 40  # DEFAULT_ACCOUNTS_LIMIT
PAGE_LIMIT = 40  # the most a timeline or search page returns
RATE_LIMIT = 300  # requests per window per account
WINDOW = timedelta(minutes=5)


def snowflake(moment: datetime, sequence: int = 0) -> int:
    """Mastodon's id for a post made at ``moment``: milliseconds shifted left by 16 bits, plus a sequence."""
    return (int(moment.timestamp() * 1000) << 16) | (sequence & 0xFFFF)


def snowflake_time(value: int) -> datetime:
    return datetime.fromtimestamp((value >> 16) / 1000, tz=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class FakeAccount:
    id: str
    username: str
    domain: str | None = None  # None: a local account
    suspended: bool = False
    limited: bool = False
    moved_to: FakeAccount | None = None
    destroyed: bool = False

    @property
    def acct(self) -> str:
        return self.username if self.domain is None else f"{self.username}@{self.domain}"


@dataclass
class FakeStatus:
    id: str
    account: FakeAccount
    text: str
    created_at: datetime
    tags: tuple[str, ...] = ()
    language: str | None = "en"
    in_reply_to_id: str | None = None
    deleted: bool = False


@dataclass
class MastodonWorld:
    """The instance's data: accounts and statuses that tests change between calls."""

    domain: str = "mastodon.example"
    accounts: dict[str, FakeAccount] = field(default_factory=dict)
    statuses: dict[str, FakeStatus] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def add_account(self, username: str, domain: str | None = None) -> FakeAccount:
        account = FakeAccount(id=str(100_000 + next(self._ids)), username=username, domain=domain)
        self.accounts[account.id] = account
        return account

    def add_status(
        self,
        account: FakeAccount,
        text: str,
        created_at: datetime | None = None,
        tags: Iterable[str] = (),
        in_reply_to_id: str | None = None,
    ) -> FakeStatus:
        moment = created_at or datetime.now(UTC)
        status_id = str(snowflake(moment, next(self._ids)))
        status = FakeStatus(
            status_id, account, text, moment, tuple(t.lower() for t in tags), "en", in_reply_to_id
        )
        self.statuses[status_id] = status
        return status

    def generate(
        self,
        count: int,
        authors: int = 100,
        text: str = "my order never arrived",
        start: datetime | None = None,
    ) -> list[FakeStatus]:
        """``count`` statuses by ``authors`` accounts, one millisecond apart (cheap: for benches)."""
        people = [self.add_account(f"user{i}") for i in range(authors)]
        begin = start or datetime.now(UTC) - timedelta(hours=1)
        return [
            self.add_status(people[i % authors], f"{text} #{i}", begin + timedelta(milliseconds=i))
            for i in range(count)
        ]

    # -- what a viewer can see -----------------------------------------------------------
    def visible(self, status: FakeStatus) -> bool:
        owner = status.account
        return not (status.deleted or owner.suspended or owner.destroyed)

    def newest_first(self) -> list[FakeStatus]:
        return sorted(
            (s for s in self.statuses.values() if self.visible(s)), key=lambda s: int(s.id), reverse=True
        )


class FakeMastodon(FakeServer):
    """The world served over HTTP on 127.0.0.1 (a ``FakeServer``: request log, queued faults)."""

    def __init__(
        self,
        world: MastodonWorld | None = None,
        *,
        version: str = "4.3.0",
        legacy: bool = False,
        suspended_as_410: bool = False,
        tokens: Iterable[str] = ("good-token",),
        require_auth: bool = False,
        rate_limit: int = RATE_LIMIT,
    ) -> None:
        super().__init__()
        self.world = world or MastodonWorld()
        self.version = "4.2.10" if legacy and version == "4.3.0" else version
        self.legacy = legacy
        self.suspended_as_410 = suspended_as_410
        self.tokens = set(tokens)
        self.require_auth = require_auth
        self.rate_limit = rate_limit
        self.remaining = rate_limit
        self.window_end = datetime.now(UTC) + WINDOW
        self._register()

    # -- lifecycle -----------------------------------------------------------------------
    def reset(self, world: MastodonWorld | None = None) -> MastodonWorld:
        """Serve a fresh world with an empty request log, no queued faults and a full rate window."""
        self.world = world or MastodonWorld()
        self.requests.clear()
        self.faults.clear()
        self.remaining, self.window_end = self.rate_limit, datetime.now(UTC) + WINDOW
        return self.world

    def rate_limit_next(self, path_prefix: str, reset: datetime) -> None:
        """Answer the next matching request with a 429 and an ISO-8601 ``X-RateLimit-Reset``."""
        headers = {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": _iso(reset),
        }
        self.fail_next(path_prefix, Reply(429, {"error": "Too many requests"}, headers))

    # -- routing -------------------------------------------------------------------------
    def _register(self) -> None:
        route = self.route
        route("GET", "/api/v1/instance/", self._guarded(self._instance_v1))
        route("GET", "/api/v1/instance", self._guarded(self._instance_v1))
        route("GET", "/api/v2/instance/", self._guarded(self._instance_v2))
        route("GET", "/api/v2/instance", self._guarded(self._instance_v2))
        route("GET", "/api/v2/search", self._guarded(self._search))
        self.route_prefix("GET", "/api/v1/timelines/tag/", self._guarded(self._tag_timeline))
        self.route_prefix("GET", "/api/v1/statuses/", self._guarded(self._status))
        self.route_prefix("GET", "/api/v1/accounts/", self._guarded(self._account))
        if not self.legacy:
            route("GET", "/api/v1/statuses", self._guarded(self._statuses))
            route("GET", "/api/v1/accounts", self._guarded(self._accounts))

    def _guarded(self, handler: Handler) -> Handler:
        """Token check and rate-limit headers around a handler, like Rack::Attack + Doorkeeper."""

        def run(request: Request) -> Reply:
            token = _bearer(request)
            if not self._spend():
                reply = Reply(429, {"error": "Too many requests"})
            elif token is not None and token not in self.tokens:
                reply = Reply(401, {"error": "The access token is invalid"})
            elif token is None and self.require_auth:
                reply = Reply(401, {"error": "This API requires an authenticated user"})
            else:
                reply = handler(request)
            return self._with_rate_headers(reply)

        return run

    def _spend(self) -> bool:
        """Count one request against the window; False when the window is spent (answer 429)."""
        now = datetime.now(UTC)
        if now >= self.window_end:
            self.remaining, self.window_end = self.rate_limit, now + WINDOW
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True

    def _with_rate_headers(self, reply: Reply) -> Reply:
        reply.headers.setdefault("X-RateLimit-Limit", str(self.rate_limit))
        reply.headers.setdefault("X-RateLimit-Remaining", str(self.remaining))
        reply.headers.setdefault("X-RateLimit-Reset", _iso(self.window_end))
        return reply

    # -- instance ------------------------------------------------------------------------
    def _instance_v1(self, request: Request) -> Reply:
        return Reply(200, {"uri": self.world.domain, "title": "Fake", "version": self.version, "urls": {}})

    def _instance_v2(self, request: Request) -> Reply:
        body: dict = {"domain": self.world.domain, "title": "Fake", "version": self.version}
        if not self.legacy:
            body["api_versions"] = {"mastodon": 2}
        return Reply(200, body)

    # -- collection ----------------------------------------------------------------------
    def _search(self, request: Request) -> Reply:
        if request.arg("type") not in (None, "statuses"):
            return Reply(200, {"accounts": [], "statuses": [], "hashtags": []})
        if _bearer(request) is None:  # statuses search needs a user token
            return Reply(200, {"accounts": [], "statuses": [], "hashtags": []})
        needle = (request.arg("q") or "").strip().strip('"').lower()
        after = _second_floor(request.arg("min_id"))
        before = _second_floor(request.arg("max_id"))
        hits = [
            s
            for s in self.world.newest_first()
            if needle in _plain(s).lower()
            and (after is None or s.created_at > after)
            and (before is None or s.created_at < before)
        ]
        offset = int(request.arg("offset") or 0)
        page = hits[offset : offset + _limit(request)]
        return Reply(200, {"accounts": [], "statuses": [self.status_json(s) for s in page], "hashtags": []})

    def _tag_timeline(self, request: Request) -> Reply:
        tag = request.path.removeprefix("/api/v1/timelines/tag/").lower()
        tagged = [s for s in self.world.newest_first() if tag in s.tags]
        page = _paginate_by_id(tagged, request, _limit(request))
        reply = Reply(200, [self.status_json(s) for s in page])
        if page:
            base = f"{self.url}{request.path}"
            older = urlencode({"limit": _limit(request), "max_id": page[-1].id})
            newer = urlencode({"limit": _limit(request), "min_id": page[0].id})
            reply.headers["Link"] = f'<{base}?{older}>; rel="next", <{base}?{newer}>; rel="prev"'
        return reply

    # -- re-check ------------------------------------------------------------------------
    def _status(self, request: Request) -> Reply:
        status = self.world.statuses.get(request.path.removeprefix("/api/v1/statuses/"))
        if status is None or not self.world.visible(status):
            return Reply(404, {"error": "Record not found"})
        return Reply(200, self.status_json(status))

    def _statuses(self, request: Request) -> Reply:
        ids = request.query.get("id[]", [])
        if len(ids) > STATUSES_LIMIT:
            return Reply(422, {"error": f"Validation failed: too many ids (at most {STATUSES_LIMIT})"})
        found = [self.world.statuses.get(i) for i in ids]
        return Reply(200, [self.status_json(s) for s in found if s is not None and self.world.visible(s)])

    def _account(self, request: Request) -> Reply:
        account = self.world.accounts.get(request.path.removeprefix("/api/v1/accounts/"))
        if account is None or account.destroyed:
            return Reply(404, {"error": "Record not found"})
        if account.suspended and self.suspended_as_410:
            return Reply(410, {"error": "Gone"})
        return Reply(200, self.account_json(account))

    def _accounts(self, request: Request) -> Reply:
        ids = request.query.get("id[]", [])
        if len(ids) > ACCOUNTS_LIMIT:
            return Reply(422, {"error": f"Validation failed: too many ids (at most {ACCOUNTS_LIMIT})"})
        found = [self.world.accounts.get(i) for i in ids]
        return Reply(200, [self.account_json(a) for a in found if a is not None and not a.destroyed])

    # -- entities ------------------------------------------------------------------------
    def account_json(self, account: FakeAccount) -> dict:
        host = account.domain or self.world.domain
        body: dict = {
            "id": account.id,
            "username": account.username,
            "acct": account.acct,
            "display_name": "" if account.suspended else account.username.title(),
            "locked": False,
            "bot": False,
            "group": False,
            "discoverable": True,
            "created_at": "2023-01-01T00:00:00.000Z",
            "note": "" if account.suspended else "<p>hello</p>",
            "url": f"https://{host}/@{account.username}",
            "uri": f"https://{host}/users/{account.username}",
            "avatar": f"https://{host}/avatars/original/missing.png",
            "avatar_static": f"https://{host}/avatars/original/missing.png",
            "header": f"https://{host}/headers/original/missing.png",
            "header_static": f"https://{host}/headers/original/missing.png",
            "followers_count": 1,
            "following_count": 1,
            "statuses_count": 1,
            "last_status_at": "2024-01-01",
            "emojis": [],
            "fields": [],
        }
        if account.suspended:
            body["suspended"] = True
        if account.limited:
            body["limited"] = True
        if account.moved_to is not None:
            body["moved"] = self.account_json(account.moved_to)
        return body

    def status_json(self, status: FakeStatus) -> dict:
        host = status.account.domain or self.world.domain
        user = status.account.username
        return {
            "id": status.id,
            "created_at": _iso(status.created_at),
            "in_reply_to_id": status.in_reply_to_id,
            "in_reply_to_account_id": None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": "public",
            "language": status.language,
            "uri": f"https://{host}/users/{user}/statuses/{status.id}",
            "url": f"https://{host}/@{user}/{status.id}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "edited_at": None,
            "content": f"<p>{html.escape(status.text)}</p>",
            "reblog": None,
            "application": None,
            "account": self.account_json(status.account),
            "media_attachments": [],
            "mentions": [],
            "tags": [{"name": t, "url": f"https://{self.world.domain}/tags/{t}"} for t in status.tags],
            "emojis": [],
            "card": None,
            "poll": None,
        }


def _plain(status: FakeStatus) -> str:
    return status.text + " " + " ".join(f"#{t}" for t in status.tags)


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    if not value.startswith("Bearer "):
        return None
    return value.removeprefix("Bearer ").strip() or None


def _limit(request: Request) -> int:
    return max(1, min(int(request.arg("limit") or 20), PAGE_LIMIT))


def _second_floor(value: str | None) -> datetime | None:
    """``Snowflake.to_time(id).iso8601``: the id's moment truncated to the second."""
    if not value:
        return None
    return snowflake_time(int(value)).replace(microsecond=0)


def _paginate_by_id(newest_first: list[FakeStatus], request: Request, limit: int) -> list[FakeStatus]:
    """Mastodon's ``Paginable.paginate_by_id``: ``min_id`` pages forward, otherwise backward."""
    max_id, since_id, min_id = (int(request.arg(k) or 0) or None for k in ("max_id", "since_id", "min_id"))
    rows = [s for s in newest_first if max_id is None or int(s.id) < max_id]
    if min_id is not None:
        oldest_first = [s for s in reversed(rows) if int(s.id) > min_id]
        return list(reversed(oldest_first[:limit]))
    return [s for s in rows if since_id is None or int(s.id) > since_id][:limit]
