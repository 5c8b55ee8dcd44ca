"""A fake Bluesky (PDS + AppView + PLC directory in one server) speaking XRPC on 127.0.0.1.

Routes, with the shapes of the lexicons and of the reference implementation (bluesky-social/atproto):

* ``POST /xrpc/com.atproto.server.createSession`` / ``refreshSession``: three-part JWTs with ``exp``; no
  ``didDoc``, so the SDK keeps talking to this server;
* ``GET /xrpc/app.bsky.feed.searchPosts``: needs a valid access token (403 ``AuthMissing`` without one, 400
  ``ExpiredToken`` for an expired or revoked one); ``sort=latest`` orders by ``sortAt`` (the earlier of
  ``createdAt`` and ``indexedAt``), ``since`` inclusive, ``until`` exclusive, an offset ``cursor``;
* ``GET /xrpc/app.bsky.feed.getPosts``: at most 25 uris (400 above), missing or hidden posts omitted; works
  without auth; an authenticated viewer blocked by the author does not see the author's posts;
* ``GET /xrpc/app.bsky.actor.getProfile``: 400 ``AccountTakedown`` / ``AccountDeactivated`` /
  ``InvalidRequest: Profile not found``;
* ``GET /xrpc/com.atproto.repo.getRecord``: 400 ``RecordNotFound`` once the author deleted the record (an
  AppView takedown leaves the record in place);
* ``GET /did:plc:…``: the PLC directory's DID document, whose PDS is this server;
* ``POST /xrpc/com.atproto.repo.createRecord`` (signed in, own repo only): the record joins the world as a
  post (kept in ``created_records``), answers ``{uri, cid}``;
* ``chat.bsky.convo.getConvoForMembers`` / ``sendMessage``, as the PDS proxies them to the chat service:
  501 ``MethodNotImplemented`` without ``atproto-proxy: did:web:api.bsky.chat#bsky_chat``; 400
  ``InvalidRequest`` when the recipient does not accept messages; sent messages kept in ``chat_messages``.

Every answer carries ``ratelimit-limit/remaining/reset/policy`` (reset in epoch seconds); a spent window
answers 429. The world is mutable: tests delete, take down, label and restore posts, and suspend, deactivate
or delete accounts between calls.
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .server import FakeServer, Handler, Reply, Request

POSTS_LIMIT = 25
SEARCH_LIMIT = 100
RATE_LIMIT = 3000
WINDOW = timedelta(minutes=5)
MODERATION_DID = "did:plc:ar7c4by46qjdydhdevvrndac"  # Bluesky's moderation labeler
_B32 = "234567abcdefghijklmnopqrstuvwxyz"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse(value: str) -> datetime:
    moment = datetime.fromisoformat(value) if "T" in value else datetime.fromisoformat(value + "T00:00:00")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _b32(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, digit = divmod(number, 32)
        chars.append(_B32[digit])
    return "".join(reversed(chars))


def jwt(claims: dict) -> str:
    """An unsigned-looking but decodable three-part JWT (the SDK decodes, never verifies)."""

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'typ': 'at+jwt', 'alg': 'HS256'})}.{part(claims)}.{secrets.token_urlsafe(16)}"


@dataclass
class FakeActor:
    did: str
    handle: str
    password: str = "app-pass-word"
    #: "active", "takendown", "suspended", "deactivated" or "deleted"
    status: str = "active"
    blocks_viewer: bool = False
    accepts_dms: bool = True


@dataclass
class FakePost:
    uri: str
    cid: str
    author: FakeActor
    text: str
    created_at: datetime
    indexed_at: datetime
    langs: tuple[str, ...] = ("en",)
    labels: list[dict] = field(default_factory=list)
    deleted: bool = False  # the author deleted the record
    taken_down: bool = False  # hidden by the AppView, record still on the PDS
    reply_parent: str | None = None

    @property
    def rkey(self) -> str:
        return self.uri.rsplit("/", 1)[1]

    @property
    def sort_at(self) -> datetime:
        return min(self.created_at, self.indexed_at)


@dataclass
class BlueskyWorld:
    actors: dict[str, FakeActor] = field(default_factory=dict)
    posts: dict[str, FakePost] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def add_actor(self, handle: str, password: str = "app-pass-word") -> FakeActor:
        actor = FakeActor(did=f"did:plc:{_b32(next(self._ids), 24)}", handle=handle, password=password)
        self.actors[actor.did] = actor
        return actor

    def add_post(
        self,
        author: FakeActor,
        text: str,
        created_at: datetime | None = None,
        indexed_at: datetime | None = None,
        reply_parent: str | None = None,
    ) -> FakePost:
        created = created_at or datetime.now(UTC)
        serial = next(self._ids)
        rkey = _b32((int(created.timestamp() * 1_000_000) << 10) | (serial & 0x3FF), 13)
        uri = f"at://{author.did}/app.bsky.feed.post/{rkey}"
        post = FakePost(uri, f"bafyrei{_b32(serial, 52)}", author, text, created, indexed_at or created)
        post.reply_parent = reply_parent
        self.posts[uri] = post
        return post

    def label(self, post: FakePost, value: str, src: str = MODERATION_DID) -> None:
        post.labels.append(
            {"src": src, "uri": post.uri, "val": value, "cts": iso(datetime.now(UTC)), "ver": 1}
        )

    def generate(
        self, count: int, authors: int = 100, text: str = "my order never arrived"
    ) -> list[FakePost]:
        """``count`` posts by ``authors`` actors, one millisecond apart (cheap: for benches)."""
        people = [self.add_actor(f"user{i}.bsky.social") for i in range(authors)]
        begin = datetime.now(UTC) - timedelta(hours=1)
        return [
            self.add_post(people[i % authors], f"{text} #{i}", begin + timedelta(milliseconds=i))
            for i in range(count)
        ]

    def find_actor(self, identifier: str) -> FakeActor | None:
        if identifier in self.actors:
            return self.actors[identifier]
        return next((a for a in self.actors.values() if a.handle == identifier), None)

    def appview_visible(self, post: FakePost) -> bool:
        return not (post.deleted or post.taken_down) and post.author.status == "active"


class FakeBluesky(FakeServer):
    """The world served over HTTP: PDS, AppView and PLC routes on one port (a ``FakeServer``)."""

    def __init__(
        self, world: BlueskyWorld | None = None, *, access_ttl_s: int = 7200, rate_limit: int = RATE_LIMIT
    ) -> None:
        super().__init__()
        self.world = world or BlueskyWorld()
        self.access_ttl_s = access_ttl_s
        self.rate_limit = rate_limit
        self.remaining = rate_limit
        self.window_end = datetime.now(UTC) + WINDOW
        self.access: dict[str, tuple[str, datetime]] = {}  # token -> (did, expiry)
        self.refresh: dict[str, str] = {}  # token -> did
        self.created_records: list[dict] = []
        self.convos: dict[str, list[str]] = {}  # convo id -> member DIDs
        self.chat_messages: list[dict] = []
        self._register()

    # -- lifecycle -----------------------------------------------------------------------
    def reset(self, world: BlueskyWorld | None = None) -> BlueskyWorld:
        """Serve a fresh world: no sessions, an empty request log, no queued faults, a full rate window."""
        self.world = world or BlueskyWorld()
        self.access.clear()
        self.refresh.clear()
        self.requests.clear()
        self.faults.clear()
        self.remaining, self.window_end = self.rate_limit, datetime.now(UTC) + WINDOW
        return self.world

    def xrpc_calls(self, nsid: str) -> list[Request]:
        """Requests received for one XRPC method, e.g. ``com.atproto.server.createSession``."""
        return self.calls(f"/xrpc/{nsid}")

    def revoke_access_tokens(self) -> None:
        """Server-side expiry: every access token issued so far is refused with ``ExpiredToken``."""
        self.access.clear()

    def rate_limit_next(self, nsid: str, reset: datetime) -> None:
        headers = {
            "ratelimit-limit": str(self.rate_limit),
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(int(reset.timestamp())),
            "ratelimit-policy": f"{self.rate_limit};w=300",
        }
        body = {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
        self.fail_next(f"/xrpc/{nsid}", Reply(429, body, headers))

    # -- routing -------------------------------------------------------------------------
    def _register(self) -> None:
        xrpc = {
            ("POST", "com.atproto.server.createSession"): self._create_session,
            ("POST", "com.atproto.server.refreshSession"): self._refresh_session,
            ("GET", "app.bsky.feed.searchPosts"): self._search_posts,
            ("GET", "app.bsky.feed.getPosts"): self._get_posts,
            ("GET", "app.bsky.actor.getProfile"): self._get_profile,
            ("GET", "com.atproto.repo.getRecord"): self._get_record,
            ("POST", "com.atproto.repo.createRecord"): self._create_record,
            ("GET", "chat.bsky.convo.getConvoForMembers"): self._chat(self._convo_for_members),
            ("POST", "chat.bsky.convo.sendMessage"): self._chat(self._send_message),
        }
        for (method, nsid), handler in xrpc.items():
            self.route(method, f"/xrpc/{nsid}", self._limited(handler))
        self.route_prefix("GET", "/did:plc:", self._limited(self._did_document))

    def _limited(self, handler: Handler) -> Handler:
        def run(request: Request) -> Reply:
            now = datetime.now(UTC)
            if now >= self.window_end:
                self.remaining, self.window_end = self.rate_limit, now + WINDOW
            if self.remaining <= 0:
                reply = Reply(429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"})
            else:
                self.remaining -= 1
                reply = handler(request)
            reply.headers.setdefault("ratelimit-limit", str(self.rate_limit))
            reply.headers.setdefault("ratelimit-remaining", str(self.remaining))
            reply.headers.setdefault("ratelimit-reset", str(int(self.window_end.timestamp())))
            reply.headers.setdefault("ratelimit-policy", f"{self.rate_limit};w=300")
            return reply

        return run

    # -- sessions ------------------------------------------------------------------------
    def _issue(self, actor: FakeActor) -> dict:
        now = datetime.now(UTC)
        expiry = now + timedelta(seconds=self.access_ttl_s)
        access = jwt(
            {
                "scope": "com.atproto.access",
                "sub": actor.did,
                "iat": int(now.timestamp()),
                "exp": int(expiry.timestamp()),
                "aud": "did:web:fake.pds",
            }
        )
        refresh = jwt(
            {
                "scope": "com.atproto.refresh",
                "sub": actor.did,
                "jti": secrets.token_hex(8),
                "iat": int(now.timestamp()),
                "exp": int((now + timedelta(days=90)).timestamp()),
            }
        )
        self.access[access] = (actor.did, expiry)
        self.refresh[refresh] = actor.did
        return {
            "did": actor.did,
            "handle": actor.handle,
            "accessJwt": access,
            "refreshJwt": refresh,
            "active": True,
        }

    def _create_session(self, request: Request) -> Reply:
        body = request.json() or {}
        actor = self.world.find_actor(str(body.get("identifier", "")))
        if actor is None or actor.password != body.get("password"):
            return _error(401, "AuthenticationRequired", "Invalid identifier or password")
        if actor.status in ("takendown", "suspended"):
            return _error(401, "AccountTakedown", "Account has been taken down")
        return Reply(200, self._issue(actor))

    def _refresh_session(self, request: Request) -> Reply:
        did = self.refresh.pop(_bearer(request) or "", None)
        if did is None:
            return _error(400, "ExpiredToken", "Token has been revoked")
        return Reply(200, self._issue(self.world.actors[did]))

    def _viewer(self, request: Request) -> str | Reply | None:
        """The signed-in DID, None without credentials, or the error reply for a bad token."""
        token = _bearer(request)
        if token is None:
            return None
        entry = self.access.get(token)
        if entry is None or entry[1] <= datetime.now(UTC):
            return _error(400, "ExpiredToken", "Token has expired")
        return entry[0]

    # -- AppView -------------------------------------------------------------------------
    def _search_posts(self, request: Request) -> Reply:
        viewer = self._viewer(request)
        if isinstance(viewer, Reply):
            return viewer
        if viewer is None:
            return _error(403, "AuthMissing", "Authentication Required")
        needle = (request.arg("q") or "").lower()
        since, until = request.arg("since"), request.arg("until")
        hits = [
            p
            for p in self.world.posts.values()
            if self.world.appview_visible(p)
            and needle in p.text.lower()
            and (since is None or p.sort_at >= _parse(since))
            and (until is None or p.sort_at < _parse(until))
        ]
        hits.sort(key=lambda p: (p.sort_at, p.uri), reverse=True)
        offset = int(request.arg("cursor") or 0)
        limit = max(1, min(int(request.arg("limit") or 25), SEARCH_LIMIT))
        page = hits[offset : offset + limit]
        body: dict = {"posts": [self.post_view(p) for p in page], "hitsTotal": len(hits)}
        if offset + limit < len(hits):
            body["cursor"] = str(offset + limit)
        return Reply(200, body)

    def _get_posts(self, request: Request) -> Reply:
        viewer = self._viewer(request)
        if isinstance(viewer, Reply):
            return viewer
        uris = request.query.get("uris", [])
        if len(uris) > POSTS_LIMIT:
            return _error(
                400, "InvalidRequest", f"Error: uris must not have more than {POSTS_LIMIT} elements"
            )
        shown = []
        for uri in uris:
            post = self.world.posts.get(uri)
            if post is None or not self.world.appview_visible(post):
                continue
            if viewer is not None and post.author.blocks_viewer:
                continue  # the noBlocks step: looks exactly like a deletion
            shown.append(self.post_view(post))
        return Reply(200, {"posts": shown})

    def _get_profile(self, request: Request) -> Reply:
        actor = self.world.find_actor(request.arg("actor") or "")
        if actor is None or actor.status == "deleted":
            return _error(400, "InvalidRequest", "Profile not found")
        if actor.status in ("takendown", "suspended"):
            return _error(400, "AccountTakedown", "Account has been suspended")
        if actor.status == "deactivated":
            return _error(400, "AccountDeactivated", "Account is deactivated")
        return Reply(
            200,
            {
                **self.profile_basic(actor),
                "followersCount": 3,
                "followsCount": 2,
                "postsCount": 1,
                "indexedAt": "2024-01-01T00:00:00.000Z",
            },
        )

    # -- PDS and PLC ---------------------------------------------------------------------
    def _get_record(self, request: Request) -> Reply:
        uri = f"at://{request.arg('repo')}/{request.arg('collection')}/{request.arg('rkey')}"
        post = self.world.posts.get(uri)
        if post is None or post.deleted or post.author.status == "deleted":
            return _error(400, "RecordNotFound", f"Could not locate record: {uri}")
        return Reply(200, {"uri": uri, "cid": post.cid, "value": self.record(post)})

    def _did_document(self, request: Request) -> Reply:
        actor = self.world.actors.get(request.path.lstrip("/"))
        if actor is None:
            return Reply(404, {"message": "DID not registered"})
        return Reply(
            200,
            {
                "@context": ["https://www.w3.org/ns/did/v1"],
                "id": actor.did,
                "alsoKnownAs": [f"at://{actor.handle}"],
                "verificationMethod": [],
                "service": [
                    {"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": self.url}
                ],
            },
        )

    def _create_record(self, request: Request) -> Reply:
        viewer = self._viewer(request)
        if isinstance(viewer, Reply):
            return viewer
        body = request.json() or {}
        if viewer is None or body.get("repo") not in (viewer, self.world.actors[viewer].handle):
            return _error(401, "AuthMissing", "Authentication Required")
        record = body.get("record") or {}
        if body.get("collection") != "app.bsky.feed.post" or not record.get("text"):
            return _error(400, "InvalidRequest", "Invalid app.bsky.feed.post record")
        parent = ((record.get("reply") or {}).get("parent") or {}).get("uri")
        post = self.world.add_post(self.world.actors[viewer], record["text"], reply_parent=parent)
        self.created_records.append(record)
        return Reply(200, {"uri": post.uri, "cid": post.cid, "validationStatus": "valid"})

    # -- chat (as proxied by the PDS) ------------------------------------------------------
    def _chat(self, handler: Callable[[Request, str], Reply]) -> Handler:
        def proxied(request: Request) -> Reply:
            if request.headers.get("atproto-proxy") != "did:web:api.bsky.chat#bsky_chat":
                return _error(501, "MethodNotImplemented", "Method Not Implemented")
            viewer = self._viewer(request)
            if isinstance(viewer, Reply):
                return viewer
            if viewer is None:
                return _error(401, "AuthMissing", "Authentication Required")
            return handler(request, viewer)

        return proxied

    def _convo_for_members(self, request: Request, viewer: str) -> Reply:
        members = sorted({viewer, *request.query.get("members", [])})
        actors = [self.world.actors.get(did) for did in members]
        if any(actor is None for actor in actors):
            return _error(400, "InvalidRequest", "Unknown member")
        if any(not actor.accepts_dms for actor in actors if actor is not None and actor.did != viewer):
            return _error(400, "InvalidRequest", "recipient has disabled incoming messages")
        convo_id = "convo-" + "-".join(did.rsplit(":", 1)[1][:8] for did in members)
        self.convos[convo_id] = members
        convo = {
            "id": convo_id,
            "rev": "2222222222222",
            "members": [self.profile_basic(a) for a in actors if a is not None],
            "muted": False,
            "unreadCount": 0,
        }
        return Reply(200, {"convo": convo})

    def _send_message(self, request: Request, viewer: str) -> Reply:
        body = request.json() or {}
        members = self.convos.get(str(body.get("convoId")))
        text = (body.get("message") or {}).get("text")
        if members is None or viewer not in members or not text:
            return _error(400, "InvalidRequest", "Convo not found")
        sent = {
            "id": f"msg-{len(self.chat_messages) + 1}",
            "rev": "2222222222223",
            "text": text,
            "sender": {"did": viewer},
            "sentAt": iso(datetime.now(UTC)),
        }
        self.chat_messages.append({**sent, "convoId": body["convoId"], "members": members})
        return Reply(200, sent)

    # -- views ---------------------------------------------------------------------------
    def profile_basic(self, actor: FakeActor) -> dict:
        return {
            "did": actor.did,
            "handle": actor.handle,
            "displayName": actor.handle.split(".")[0].title(),
            "labels": [],
            "createdAt": "2023-05-01T00:00:00.000Z",
        }

    def record(self, post: FakePost) -> dict:
        value: dict = {
            "$type": "app.bsky.feed.post",
            "text": post.text,
            "createdAt": iso(post.created_at),
            "langs": list(post.langs),
        }
        if post.reply_parent:
            parent = {"uri": post.reply_parent, "cid": "bafyreiparent"}
            value["reply"] = {"root": parent, "parent": parent}
        return value

    def post_view(self, post: FakePost) -> dict:
        return {
            "uri": post.uri,
            "cid": post.cid,
            "author": self.profile_basic(post.author),
            "record": self.record(post),
            "replyCount": 0,
            "repostCount": 0,
            "likeCount": 0,
            "quoteCount": 0,
            "indexedAt": iso(post.indexed_at),
            "labels": list(post.labels),
        }


def _error(status: int, error: str, message: str) -> Reply:
    return Reply(status, {"error": error, "message": message})


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    if not value.startswith("Bearer "):
        return None
    return value.removeprefix("Bearer ").strip() or None
