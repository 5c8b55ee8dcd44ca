"""A fake Reddit speaking the documented OAuth API (docs/platforms.md §2, prawcore 4, reddit-archive/reddit).

It serves what the adapter and praw touch:

* ``POST /api/v1/access_token``: HTTP Basic ``client_id:client_secret`` (401 otherwise); grant
  ``client_credentials`` or ``password`` (wrong password: 200 ``{"error": "invalid_grant"}``); answers
  ``{"access_token", "token_type", "expires_in", "scope"}``;
* ``GET /r/{a+b|all}/new/``, ``/comments/`` and ``/search/`` (``q``, ``restrict_sr``, ``sort=new``, ``t``):
  Listings newest first with ``after``/``before`` fullnames, ``limit`` capped at 100 (praw sends 1024), and
  only the newest 1000 items reachable; removed and deleted things leave listings;
* ``GET /api/info/?id=t3_x,t1_y`` (≤100): things in request order, unknown or hidden fullnames silently
  omitted, removal markers as Reddit renders them (``removed_by_category``; ``[deleted]``/``[removed]``
  bodies; ``[ Removed by Reddit ]``; author ``[deleted]``);
* ``GET /user/{name}/about/``: ``{"kind": "t2", ...}``; suspended accounts only ``name`` + ``is_suspended``;
  404 for deleted, shadowbanned or unknown accounts;
* ``POST /api/compose/`` (``to``, ``subject``, ``text``; kept in ``messages``) → ``{"json": {"errors": []}}``,
  or ``USER_DOESNT_EXIST``; ``POST /api/comment/`` (``thing_id``, ``text``) → the new comment in
  ``json.data.things`` (it joins the world, by the signed-in account), or ``DELETED_COMMENT``.

API calls need ``Authorization: bearer <token>``: a missing, unknown or expired token answers 401 with
``www-authenticate: Bearer realm="reddit", error="invalid_token"`` (prawcore reads it). Every answer, faults
included, carries ``x-ratelimit-used`` / ``-remaining`` / ``-reset`` (integers for used and reset, reset 0 by
default so prawcore never sleeps); a spent window answers 429. The world is mutable: tests delete, remove and
restore things and suspend or delete accounts between calls. ``populate`` makes 10,000+ things cheaply.
"""

from __future__ import annotations

import base64
import itertools
import random
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .server import FakeServer, Reply, Request

LISTING_CAP = 1000
PAGE_CAP = 100
INFO_CAP = 100
TIME_FILTERS = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
    "month": timedelta(days=31),
    "year": timedelta(days=366),
}
#: ``removed_by_category`` values that blank a submission's selftext to "[removed]".
REMOVAL_CATEGORIES = {
    "moderator",
    "automod_filtered",
    "reddit",
    "anti_evil_ops",
    "community_ops",
    "content_takedown",
    "copyright_takedown",
    "legal_operations",
}


def base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while number:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
    return text or "0"


@dataclass
class RedditAccount:
    name: str
    id36: str
    state: str = "active"  # active | suspended | deleted | shadowbanned

    @property
    def fullname(self) -> str:
        return f"t2_{self.id36}"


@dataclass
class RedditThing:
    """A submission (t3) or comment (t1).

    ``removal``: None (live), ``"deleted"`` (by its author), ``"spam"`` (comment removed by mods, automod or
    the spam filter), ``"admin"`` (comment removed by Reddit) or, for submissions, a ``removed_by_category``
    value.
    ``hidden``: /api/info omits it (private or banned subreddit, or an id that never existed).
    """

    kind: str
    id36: str
    author: RedditAccount
    subreddit: str
    created: datetime
    body: str
    title: str = ""
    link_id: str | None = None
    parent_id: str | None = None
    removal: str | None = None
    hidden: bool = False

    @property
    def fullname(self) -> str:
        return f"{self.kind}_{self.id36}"

    @property
    def listed(self) -> bool:
        return self.removal is None and not self.hidden and self.author.state != "shadowbanned"

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "data": self._submission() if self.kind == "t3" else self._comment()}

    def _common(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id36,
            "name": self.fullname,
            "author": self.author.name,
            "author_fullname": self.author.fullname,
            "subreddit": self.subreddit,
            "subreddit_name_prefixed": f"r/{self.subreddit}",
            "created_utc": self.created.timestamp(),
            "score": 1,
        }
        if self.author.state == "deleted":
            data["author"] = "[deleted]"
            del data["author_fullname"]
        return data

    def _submission(self) -> dict[str, Any]:
        data = self._common()
        permalink = f"/r/{self.subreddit}/comments/{self.id36}/{_slug(self.title)}/"
        data.update(
            title=self.title,
            selftext=self.body,
            permalink=permalink,
            url=f"https://www.reddit.com{permalink}",
            is_self=True,
            num_comments=0,
            removed_by_category=None,
        )
        if self.removal in ("deleted", "author"):
            data.update(selftext="[deleted]", author="[deleted]", removed_by_category=self.removal)
            data.pop("author_fullname", None)
        elif self.removal is not None:
            data.update(selftext="[removed]", removed_by_category=self.removal)
        return data

    def _comment(self) -> dict[str, Any]:
        data = self._common()
        link36 = (self.link_id or "t3_0").split("_", 1)[1]
        data.update(
            body=self.body,
            link_id=self.link_id,
            parent_id=self.parent_id or self.link_id,
            permalink=f"/r/{self.subreddit}/comments/{link36}/_/{self.id36}/",
        )
        marker = {"deleted": "[deleted]", "spam": "[removed]", "admin": "[ Removed by Reddit ]"}.get(
            self.removal or ""
        )
        if marker is not None:
            data.update(body=marker, author="[deleted]")
            data.pop("author_fullname", None)
        return data


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:50] or "post"


class FakeReddit(FakeServer):
    """A fake www/oauth.reddit.com on one port, with a mutable world of accounts and things."""

    def __init__(self, client_id: str = "test-id", client_secret: str = "test-secret") -> None:
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.passwords: dict[str, str] = {}  # script-app users
        self.accounts: dict[str, RedditAccount] = {}
        self.things: dict[str, RedditThing] = {}
        self.tokens: dict[str, float] = {}  # token → expiry (epoch seconds)
        self.token_lifetime_s = 86400
        # Reddit's window is 600 s; tests set ``ratelimit_remaining`` low to spend it.
        self.ratelimit_used = 0
        self.ratelimit_remaining = 100_000.0
        self.ratelimit_reset = 0
        self._ids = {"t1": itertools.count(int("k0000", 36)), "t3": itertools.count(int("1a0000", 36))}
        self._account_ids = itertools.count(int("a000", 36))
        self.route("POST", "/api/v1/access_token", self._token)
        self.route("GET", "/api/info/", self._authorized(self._info))
        self.route_prefix("GET", "/r/", self._authorized(self._listing))
        self.route_prefix("GET", "/user/", self._authorized(self._about))
        self.messages: list[dict[str, str]] = []
        self.token_users: dict[str, str] = {}  # token -> the script user it was issued to
        self.route_prefix("POST", "/api/compose", self._authorized(self._compose))
        self.route_prefix("POST", "/api/comment", self._authorized(self._comment))

    def start(self) -> FakeReddit:
        super().start()
        # The handler writes headers and body separately; without TCP_NODELAY every keep-alive call
        # waits ~40 ms for the client's delayed ACK.
        assert self._httpd is not None
        self._httpd.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
        return self

    # -- the world ------------------------------------------------------------------------
    def add_account(self, name: str, state: str = "active") -> RedditAccount:
        account = RedditAccount(name, base36(next(self._account_ids)), state)
        self.accounts[name.lower()] = account
        return account

    def add_submission(
        self,
        author: RedditAccount,
        title: str,
        body: str = "",
        subreddit: str = "acme",
        at: datetime | None = None,
    ) -> RedditThing:
        thing = RedditThing("t3", base36(next(self._ids["t3"])), author, subreddit, at or _now(), body, title)
        self.things[thing.fullname] = thing
        return thing

    def add_comment(
        self, author: RedditAccount, parent: RedditThing, body: str, at: datetime | None = None
    ) -> RedditThing:
        link = parent.fullname if parent.kind == "t3" else parent.link_id
        thing = RedditThing(
            "t1",
            base36(next(self._ids["t1"])),
            author,
            parent.subreddit,
            at or _now(),
            body,
            "",
            link,
            parent.fullname,
        )
        self.things[thing.fullname] = thing
        return thing

    def populate(
        self, things: int, authors: int, seed: int = 1, text: str = "acme broke my order"
    ) -> list[RedditThing]:
        """Add ``things`` submissions and comments (one in three a comment) over the last six days."""
        rng = random.Random(seed)
        pool = [self.add_account(f"redditor{len(self.accounts)}") for _ in range(authors)]
        start, step = _now() - timedelta(days=6), timedelta(days=6) / max(things, 1)
        made: list[RedditThing] = []
        for i in range(things):
            at = start + i * step
            if made and i % 3 == 2:
                made.append(self.add_comment(rng.choice(pool), rng.choice(made[-20:]), f"{text} #{i}", at))
            else:
                made.append(self.add_submission(rng.choice(pool), f"{text} #{i}", "details inside", at=at))
        return made

    def expire_tokens(self) -> None:
        """Forget every issued token, as Reddit does when one expires or is revoked."""
        self.tokens.clear()

    # -- plumbing -------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Reply:
        if request.path != "/api/v1/access_token":
            self.ratelimit_used += 1
            self.ratelimit_remaining -= 1  # below zero: this request is over the limit
        reply = super().dispatch(request)
        reply.headers.setdefault("x-ratelimit-used", str(self.ratelimit_used))
        reply.headers.setdefault("x-ratelimit-remaining", f"{max(self.ratelimit_remaining, 0.0):.1f}")
        reply.headers.setdefault("x-ratelimit-reset", str(self.ratelimit_reset))
        return reply

    def _authorized(self, handler: Any) -> Any:
        def authorized(request: Request) -> Reply:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or self.tokens.get(token, 0) < time.time():
                headers = {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'}
                return Reply(401, {"message": "Unauthorized", "error": 401}, headers)
            if self.ratelimit_remaining < 0:
                return Reply(429, {"message": "Too Many Requests", "error": 429})
            return handler(request)

        return authorized

    # -- endpoints ------------------------------------------------------------------------
    def _token(self, request: Request) -> Reply:
        reply = self._issue_token(request)
        # praw asks for "Connection: close"; echo it so the client never reuses the closed socket.
        reply.headers["Connection"] = "close"
        return reply

    def _issue_token(self, request: Request) -> Reply:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        expected = f"{self.client_id}:{self.client_secret}"
        if scheme != "Basic" or base64.b64decode(encoded or "").decode(errors="replace") != expected:
            return Reply(401, {"message": "Unauthorized", "error": 401})
        form = {k: v[0] for k, v in request.form().items()}
        grant = form.get("grant_type")
        if grant == "password" and self.passwords.get(form.get("username", "")) != form.get("password"):
            return Reply(200, {"error": "invalid_grant"})
        if grant not in ("password", "client_credentials"):
            return Reply(200, {"error": "unsupported_grant_type"})
        token = secrets.token_hex(8)
        self.tokens[token] = time.time() + self.token_lifetime_s
        if grant == "password":
            self.token_users[token] = form.get("username", "")
        body = {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": self.token_lifetime_s,
            "scope": "*",
        }
        return Reply(200, body)

    def _info(self, request: Request) -> Reply:
        names = [n for n in (request.arg("id") or "").split(",") if n]
        if len(names) > INFO_CAP:
            return Reply(400, {"message": "Bad Request", "error": 400})
        found = [self.things[n] for n in names if n in self.things and not self.things[n].hidden]
        return Reply(200, _listing_body(found, None, None))

    def _about(self, request: Request) -> Reply:
        match = re.fullmatch(r"/user/([^/]+)/about/?", request.path)
        account = self.accounts.get(match.group(1).lower()) if match else None
        if account is None or account.state in ("deleted", "shadowbanned"):
            return Reply(404, {"message": "Not Found", "error": 404})
        if account.state == "suspended":
            return Reply(200, {"kind": "t2", "data": {"is_suspended": True, "name": account.name}})
        data = {
            "name": account.name,
            "id": account.id36,
            "created_utc": 1.6e9,
            "link_karma": 1,
            "comment_karma": 1,
        }
        return Reply(200, {"kind": "t2", "data": data})

    def _compose(self, request: Request) -> Reply:
        form = {k: v[0] for k, v in request.form().items()}
        to = form.get("to", "").removeprefix("/u/").removeprefix("u/")
        account = self.accounts.get(to.lower())
        if account is None or account.state != "active":
            return Reply(200, _api_errors(["USER_DOESNT_EXIST", "that user doesn't exist", "to"]))
        self.messages.append(
            {"to": account.name, "subject": form.get("subject", ""), "text": form.get("text", "")}
        )
        return Reply(200, {"json": {"errors": []}})

    def _comment(self, request: Request) -> Reply:
        form = {k: v[0] for k, v in request.form().items()}
        parent = self.things.get(form.get("thing_id", ""))
        if parent is None or parent.removal is not None or parent.hidden:
            return Reply(200, _api_errors(["DELETED_COMMENT", "that comment has been deleted", "parent"]))
        token = request.headers.get("authorization", "").partition(" ")[2]
        name = self.token_users.get(token) or "complaintwatch"
        author = self.accounts.get(name.lower()) or self.add_account(name)
        comment = self.add_comment(author, parent, form.get("text", ""))
        return Reply(200, {"json": {"errors": [], "data": {"things": [comment.as_json()]}}})

    def _listing(self, request: Request) -> Reply:
        match = re.fullmatch(r"/r/([^/]+)/(new|comments|search)/?", request.path)
        if match is None:
            return Reply(404, {"message": "Not Found", "error": 404})
        subs, listing = match.group(1).lower(), match.group(2)
        restrict = listing != "search" or (request.arg("restrict_sr") or "").lower() in ("true", "1", "on")
        wanted = None if subs == "all" or not restrict else set(subs.split("+"))
        kind = "t1" if listing == "comments" else "t3"
        items = [t for t in self.things.values() if t.kind == kind and t.listed]
        items = [t for t in items if wanted is None or t.subreddit.lower() in wanted]
        if listing == "search":
            items = _search(items, request.arg("q") or "", request.arg("t") or "all")
        items.sort(key=lambda t: int(t.id36, 36), reverse=True)
        return Reply(200, _page(items[:LISTING_CAP], request))


def _api_errors(*errors: list[str]) -> dict[str, Any]:
    return {"json": {"errors": list(errors)}}


def _now() -> datetime:
    return datetime.now(UTC)


def _search(items: Iterable[RedditThing], query: str, time_filter: str) -> list[RedditThing]:
    phrases = [p.lower() for p in re.findall(r'"([^"]+)"', query)]
    words = [w.lower() for w in re.sub(r'"[^"]*"', " ", query).split() if w not in ("OR", "AND", "NOT")]
    terms = phrases + words
    since = _now() - TIME_FILTERS[time_filter] if time_filter in TIME_FILTERS else None
    return [
        t
        for t in items
        if (since is None or t.created >= since)
        and any(term in f"{t.title} {t.body}".lower() for term in terms)
    ]


def _page(items: list[RedditThing], request: Request) -> dict[str, Any]:
    limit = min(int(request.arg("limit") or 25), PAGE_CAP)
    after, before = request.arg("after"), request.arg("before")
    if after:
        anchor = int(after.split("_", 1)[-1], 36)
        items = [t for t in items if int(t.id36, 36) < anchor]
        page = items[:limit]
    elif before:
        anchor = int(before.split("_", 1)[-1], 36)
        newer = [t for t in items if int(t.id36, 36) > anchor]
        page, items = newer[-limit:], newer[-limit:]
    else:
        page = items[:limit]
    more = len(items) > len(page)
    next_after = page[-1].fullname if more and page else None
    return _listing_body(page, next_after, page[0].fullname if (after or before) and page else None)


def _listing_body(things: list[RedditThing], after: str | None, before: str | None) -> dict[str, Any]:
    children = [t.as_json() for t in things]
    data = {
        "after": after,
        "before": before,
        "dist": len(children),
        "modhash": None,
        "geo_filter": "",
        "children": children,
    }
    return {"kind": "Listing", "data": data}
