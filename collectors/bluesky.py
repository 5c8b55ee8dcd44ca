"""Bluesky: collect brand mentions with authenticated search, re-check them on the public AppView.

Collection. Each brand term is a stream searched with ``app.bsky.feed.searchPosts`` (``sort=latest``), which
needs a signed-in account since 2025. The source signs in once with the handle and an app password and keeps
the session in ``spec.state["session"]`` (``export_session_string()``); later runs and restarts reuse it
(``createSession`` allows 30 sign-ins per 5 minutes and 300 a day) and the SDK refreshes the access token
when it nears expiry. A stream is searched in *sweeps*: ``since`` is the newest ``sortAt`` seen by the last
sweep (inclusive, so posts at exactly that time are dropped by URI) and ``until`` is fixed when a sweep
starts, so the search's page cursor stays valid across a restart. The cursor holds both, plus the page
cursor, per stream. Native ids are the DID-based ``at://did/app.bsky.feed.post/rkey`` URIs.

Re-check. Unauthenticated, against the AppView (``appview_url``), so that a block between our account and an
author does not look like a deletion: ``getPosts`` with 25 URIs per call (missing posts are omitted), then
``getProfile`` once per author of a missing post:

* post present → ``live``; labelled ``!takedown``/``!hide`` by a moderation labeler → ``removed_by_platform``;
* missing, profile 400 ``AccountTakedown`` → ``author_suspended``;
* missing, ``AccountDeactivated`` → ``author_deactivated``; ``Profile not found`` → ``author_deactivated``
  (account deleted);
* missing, profile fine → ``deleted_by_author``; with ``check_pds`` the record is looked up on the
  author's PDS (found through the PLC directory): still there → ``removed_by_platform`` (a post-level
  takedown), ``RecordNotFound`` → ``deleted_by_author``.

Errors: 429 raises ``RateLimited`` with the ``ratelimit-reset`` time (epoch seconds); a response with
``ratelimit-remaining: 0`` makes the next call on that host raise ``RateLimited`` unsent. Network errors,
5xx and malformed JSON raise ``TransientError``. A rejected session is refreshed, then renewed with the app
password once; if that is refused too, ``AuthFailed``.

Secrets: ``handle`` and ``app_password`` (env ``COMPLAINTWATCH_BLUESKY_HANDLE``,
``COMPLAINTWATCH_BLUESKY_APP_PASSWORD``).

``api_base_url`` is the PDS or entryway used for signing in and searching (default ``https://bsky.social``).

Options:

``appview_url`` (str, default ``https://public.api.bsky.app``)
    The AppView used, without credentials, for re-checks.
``lookback_s`` (float, default 86400)
    How far back the first sweep of a stream reaches.
``page_size`` (int, default 100)
    Posts per search page (1–100).
``timeout_s`` (float, default 30)
    HTTP timeout per request.
``check_pds`` (bool, default false)
    Tell a post-level takedown from a deletion with one ``getRecord`` per missing post (plus one DID lookup
    per author).
``plc_url`` (str, default ``https://plc.directory``)
    The PLC directory used to find an author's PDS when ``check_pds`` is on.
``moderation_labelers`` (list of str, default Bluesky's moderation service DID)
    Labelers whose ``!takedown``/``!hide`` labels mean the platform removed a post.
``author_cache_s`` (float, default 300)
    How long an author's looked-up state is reused across lookup calls (0: never).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import httpx
from atproto_client import Client
from atproto_client.client.session import Session, SessionEvent
from atproto_client.exceptions import (
    BadRequestError,
    LoginRequiredError,
    ModelError,
    NetworkError,
    RateLimitExceededError,
    RequestException,
    UnauthorizedError,
)
from atproto_client.request import Request
from atproto_core.exceptions import AtProtocolError
from atproto_identity.did.resolver import DidResolver
from atproto_server.exceptions import InvalidTokenError

from collectors._http import (
    RateBudget,
    TtlCache,
    epoch_reset,
    header_int,
    list_of_dicts,
    options_from,
    parse_time,
)
from collectors._sweep import search_streams
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
    SourceSpec,
    StatusObservation,
    TransientError,
)

log = logging.getLogger(__name__)

PLATFORM = "bluesky"
REQUIRED_SECRETS: tuple[str, ...] = ("handle", "app_password")
OPTIONAL_SECRETS: tuple[str, ...] = ()
POSTS_PER_CALL = 25  # getPosts lexicon: maxLength 25
MAX_PAGE = 100
DEFAULT_PDS = "https://bsky.social"
DEFAULT_APPVIEW = "https://public.api.bsky.app"
BLUESKY_MODERATION = "did:plc:ar7c4by46qjdydhdevvrndac"
REMOVAL_LABELS = frozenset({"!takedown", "!hide"})
_TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken", "AuthMissing", "AuthenticationRequired"})
_SESSION_KEY = "session"
_POST_COLLECTION = "app.bsky.feed.post"

T = TypeVar("T")


@dataclass(frozen=True)
class BlueskyOptions:
    appview_url: str = DEFAULT_APPVIEW
    lookback_s: float = 86400.0
    page_size: int = MAX_PAGE
    timeout_s: float = 30.0
    check_pds: bool = False
    plc_url: str = "https://plc.directory"
    moderation_labelers: tuple[str, ...] = (BLUESKY_MODERATION,)
    author_cache_s: float = 300.0

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= MAX_PAGE:
            raise ValueError(f"option page_size must be between 1 and {MAX_PAGE}, got {self.page_size}")
        for name in ("lookback_s", "timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"option {name} must be positive, got {getattr(self, name)}")
        for name in ("appview_url", "plc_url"):
            if not getattr(self, name).startswith(("http://", "https://")):
                raise ValueError(f"option {name} must be an http(s) URL, got {getattr(self, name)!r}")


def build(spec: SourceSpec) -> BlueskySource:
    """The factory registered as ``bluesky`` in the ``complaintwatch.sources`` entry points."""
    return BlueskySource(spec)


# -- cursor -------------------------------------------------------------------------------------


@dataclass
class _Sweep:
    """Where one search term stands. Times are ISO-8601 strings at millisecond precision.

    ``floor``: newest ``sortAt`` of the last finished sweep (``since``, inclusive) and ``floor_uris`` the
    posts already returned at that millisecond; ``until``: the sweep's fixed upper end; ``page``: the
    search's own cursor inside the sweep; ``top``/``top_uris``: newest ``sortAt`` seen by this sweep.
    """

    floor: str | None = None
    floor_uris: list[str] = field(default_factory=list)
    until: str | None = None
    page: str | None = None
    top: str | None = None
    top_uris: list[str] = field(default_factory=list)

    def note(self, uri: str, sort_at: str) -> None:
        if self.top is None or sort_at > self.top:
            self.top, self.top_uris = sort_at, [uri]
        elif sort_at == self.top and uri not in self.top_uris:
            self.top_uris.append(uri)

    def finish(self) -> None:
        if self.top is not None:
            self.floor, self.floor_uris = self.top, self.top_uris
        self.until, self.page, self.top, self.top_uris = None, None, None, []


# -- wire and errors ----------------------------------------------------------------------------


class _Wire:
    """httpx event hooks: counts requests and keeps the last response, read, for its raw JSON and headers."""

    def __init__(self) -> None:
        self.calls = 0
        self.last: httpx.Response | None = None

    def on_request(self, request: httpx.Request) -> None:
        self.calls += 1
        self.last = None

    def on_response(self, response: httpx.Response) -> None:
        response.read()
        self.last = response

    def request(self, timeout: float) -> Request:
        return Request(
            timeout=timeout, event_hooks={"request": [self.on_request], "response": [self.on_response]}
        )


class _SessionRejected(Exception):
    """The PDS refused our session's token (expired, revoked, missing)."""


class _Refused(Exception):
    """An XRPC 400 that is an answer, not a failure (e.g. ``AccountTakedown``)."""

    def __init__(self, error: str, message: str, body: Any) -> None:
        super().__init__(f"{error}: {message}")
        self.error = error
        self.message = message
        self.body = body


@dataclass(frozen=True)
class _AuthorAnswer:
    """What a missing post's author lookup (and, with ``check_pds``, its record lookup) means."""

    status: PostStatus
    author: AuthorStatus
    evidence: Mapping[str, Any]
    detail: str
    platform_stated: bool = False
    record: Any = None  # the PDS's getRecord answer, when asked


# -- the source ---------------------------------------------------------------------------------


class BlueskySource:
    """Authenticated search in, unauthenticated AppView re-checks out."""

    platform = PLATFORM
    lookup_batch = POSTS_PER_CALL

    def __init__(self, spec: SourceSpec) -> None:
        self.name = spec.name
        self.options = options_from(spec, BlueskyOptions)
        where = f"source {spec.name!r} (bluesky)"
        self._handle = spec.secrets.get("handle", "").strip().lstrip("@")
        self._password = spec.secrets.get("app_password", "")
        if not self._handle or not self._password:
            raise ValueError(
                f"{where}: needs COMPLAINTWATCH_BLUESKY_HANDLE and COMPLAINTWATCH_BLUESKY_APP_PASSWORD "
                "(an app password from Settings → Privacy and security → App passwords)"
            )
        self.base_url = (spec.api_base_url or DEFAULT_PDS).rstrip("/")
        self._where = f"bluesky ({spec.name})"
        self._state = spec.state
        self._wire = _Wire()
        self._budget = RateBudget(PLATFORM)
        self._pds = Client(base_url=self.base_url, request=self._wire.request(self.options.timeout_s))
        self._pds.on_session_change(self._save_session)
        self._signed_in = False
        self._appview = Client(
            base_url=self.options.appview_url, request=self._wire.request(self.options.timeout_s)
        )
        self._authors: TtlCache[_AuthorAnswer] = TtlCache(self.options.author_cache_s)
        self._record_hosts: dict[str, Client] = {}
        self._pds_of: dict[str, str] = {}

    # -- session -----------------------------------------------------------------------------
    def _save_session(self, event: SessionEvent, session: Session) -> None:
        if event is not SessionEvent.IMPORT:
            self._state[_SESSION_KEY] = session.encode()

    def _sign_in(self) -> None:
        """Reuse the stored session when it belongs to our handle; otherwise create one."""
        if self._signed_in:
            return
        stored = self._state.get(_SESSION_KEY)
        if stored and self._stored_session_is_ours(stored):
            self._pds.login(session_string=stored, fetch_bsky_profile=False)
        else:
            self._create_session()
        self._signed_in = True

    def _stored_session_is_ours(self, stored: str) -> bool:
        try:
            session = Session.decode(stored)
        except ValueError:
            return False
        return self._handle.lower() in (session.handle.lower(), session.did.lower())

    def _create_session(self) -> None:
        log.info("%s: signing in as %s (createSession)", self._where, self._handle)
        try:
            self._invoke(
                "pds", lambda: self._pds.login(self._handle, self._password, fetch_bsky_profile=False)
            )
        except (_SessionRejected, _Refused) as exc:
            raise AuthFailed(f"{self._where}: sign-in as {self._handle} refused: {exc}") from None

    def _renew_session(self) -> None:
        """Refresh the session; if the refresh token is dead too, sign in with the app password."""
        try:
            # The SDK refreshes on its own only by the token's exp; a server-side revocation needs this.
            self._invoke("pds", self._pds._refresh_and_set_session)
        except (_SessionRejected, _Refused):
            self._create_session()

    def _authenticated(self, call: Callable[[], T]) -> T:
        self._sign_in()
        try:
            return self._invoke("pds", call)
        except _SessionRejected:
            self._renew_session()
        try:
            return self._invoke("pds", call)
        except _SessionRejected as exc:
            raise AuthFailed(f"{self._where}: the renewed session was refused too: {exc}") from None

    # -- search ------------------------------------------------------------------------------
    def search(self, query: BrandQuery, cursor: str | None) -> Page:
        """One search page of one term; ``exhausted`` once the last term finished its sweep."""
        return search_streams(
            list(dict.fromkeys(t.strip() for t in query.terms if t.strip())),
            cursor,
            sweep_type=_Sweep,
            fetch=self._sweep_page,
            mention=self._mention,
            provenance=self._provenance,
            where=self._where,
        )

    def _sweep_page(self, term: str, sweep: _Sweep) -> tuple[list[dict], bool]:
        now = datetime.now(UTC)
        if sweep.floor is None:  # the first sweep reaches back to a fixed horizon
            sweep.floor = _iso_ms(now - timedelta(seconds=self.options.lookback_s))
        if sweep.until is None:
            sweep.until = _iso_ms(now)
        params = {
            "q": term,
            "sort": "latest",
            "since": sweep.floor,
            "until": sweep.until,
            "limit": self.options.page_size,
            "cursor": sweep.page,
        }
        try:
            self._authenticated(lambda: self._pds.app.bsky.feed.search_posts(params=params))
        except _Refused as refusal:
            raise TransientError(f"{self._where}: searchPosts for {term!r} refused: {refusal}") from None
        body = self._last_json()
        posts = list_of_dicts(body.get("posts"), self._where)
        fresh = []
        for raw in posts:
            uri, sort_at = str(raw.get("uri")), self._sort_at(raw)
            if uri in sweep.floor_uris or uri in sweep.top_uris:
                continue
            sweep.note(uri, sort_at)
            fresh.append(raw)
        next_page = body.get("cursor")
        if not posts or not next_page:
            return fresh, True
        sweep.page = str(next_page)
        return fresh, False

    def _sort_at(self, raw: Mapping[str, Any]) -> str:
        """``sortAt`` as the AppView computes it: the earlier of ``createdAt`` and ``indexedAt``."""
        try:
            indexed = parse_time(str(raw["indexedAt"]))
        except (KeyError, ValueError) as exc:
            raise TransientError(f"{self._where}: post without a readable indexedAt: {exc!r}") from None
        created = _created_at(raw)
        return _iso_ms(min(indexed, created) if created else indexed)

    def _provenance(self, term: str) -> dict[str, Any]:
        response = self._wire.last
        if response is None:
            return {"stream": term}
        return {"stream": term, "url": str(response.url), "status": response.status_code}

    def _mention(self, raw: dict) -> Mention:
        try:
            author, record, uri = raw["author"], raw.get("record") or {}, str(raw["uri"])
            did, rkey = _uri_parts(uri)
            parent = ((record.get("reply") or {}).get("parent") or {}).get("uri")
            langs = record.get("langs") or []
            return Mention(
                platform=PLATFORM,
                native_id=uri,
                author_id=str(author["did"]),
                author_handle=str(author.get("handle") or ""),
                text=str(record.get("text") or ""),
                url=f"https://bsky.app/profile/{did}/post/{rkey}",
                created_at=_created_at(raw) or parse_time(str(raw["indexedAt"])),
                lang=str(langs[0]) if langs else None,
                raw=raw,
                reply_to_id=str(parent) if parent else None,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise TransientError(f"{self._where}: malformed post {str(raw)[:200]}: {exc!r}") from None

    # -- lookup ------------------------------------------------------------------------------
    def lookup(self, posts: Sequence[PostRef]) -> LookupResult:
        """Status of each post: ``getPosts`` 25 at a time, then one profile per author of a missing post."""
        calls_before = self._wire.calls
        refs = {ref.native_id: ref for ref in posts if _is_post_uri(ref.native_id, self._where)}
        uris = list(refs)
        present = self._fetch_posts(uris)
        observations = [self._present(refs[u], present[u]) for u in uris if u in present]
        missing = [u for u in uris if u not in present]
        answers = self._author_answers({_uri_parts(u)[0] for u in missing})
        for uri in missing:
            answer = answers.get(_uri_parts(uri)[0])
            if answer is None:
                continue  # the author lookup said nothing we understand: left undecided
            if answer.status is PostStatus.DELETED_BY_AUTHOR and self.options.check_pds:
                answer = self._record_verdict(uri, answer)
            observations.append(self._missing(refs[uri], answer))
        return LookupResult(observations, calls=self._wire.calls - calls_before)

    def _fetch_posts(self, uris: list[str]) -> dict[str, dict]:
        """The posts the AppView still shows, by URI: 25 per ``getPosts`` call, missing ones omitted."""
        present: dict[str, dict] = {}
        for start in range(0, len(uris), POSTS_PER_CALL):
            chunk = uris[start : start + POSTS_PER_CALL]
            try:
                self._public(partial(self._appview.get_posts, chunk))
            except _Refused as refusal:
                raise TransientError(f"{self._where}: getPosts refused: {refusal}") from None
            for raw in list_of_dicts(self._last_json().get("posts"), self._where):
                present[str(raw.get("uri"))] = raw
        return present

    def _present(self, ref: PostRef, raw: dict) -> StatusObservation:
        removal = self._removal_labels(raw)
        if removal:
            return StatusObservation(
                ref.native_id,
                PostStatus.REMOVED_BY_PLATFORM,
                AuthorStatus.ACTIVE,
                {"post": raw},
                detail=f"labelled {', '.join(removal)} by the platform's moderation",
                platform_stated=True,
            )
        return StatusObservation(ref.native_id, PostStatus.LIVE, AuthorStatus.ACTIVE, {"post": raw})

    def _removal_labels(self, raw: Mapping[str, Any]) -> list[str]:
        labels = [lab for lab in raw.get("labels") or [] if isinstance(lab, dict)]
        trusted = [lab for lab in labels if lab.get("src") in self.options.moderation_labelers]
        negated = {lab.get("val") for lab in trusted if lab.get("neg")}
        return sorted({str(lab["val"]) for lab in trusted if lab.get("val") in REMOVAL_LABELS} - negated)

    def _missing(self, ref: PostRef, answer: _AuthorAnswer) -> StatusObservation:
        evidence: dict[str, Any] = {
            "post": {"omitted_from": "app.bsky.feed.getPosts"},
            "author": dict(answer.evidence),
        }
        if answer.record is not None:
            evidence["record"] = answer.record
        return StatusObservation(
            ref.native_id, answer.status, answer.author, evidence, answer.detail, answer.platform_stated
        )

    def _author_answers(self, dids: set[str]) -> dict[str, _AuthorAnswer]:
        answers: dict[str, _AuthorAnswer] = {}
        for did in sorted(dids):
            cached = self._authors.get(did)
            if cached is not None:
                answers[did] = cached
                continue
            answer = self._profile_answer(did)
            if answer is not None:
                self._authors.put(did, answer)
                answers[did] = answer
        return answers

    def _profile_answer(self, did: str) -> _AuthorAnswer | None:
        try:
            self._public(lambda: self._appview.get_profile(did))
        except _Refused as refusal:
            return _refused_profile(refusal, self._where)
        return _AuthorAnswer(
            PostStatus.DELETED_BY_AUTHOR,
            AuthorStatus.ACTIVE,
            self._last_json(),
            "post gone, author active: deleted by the author (or taken down: option check_pds tells)",
        )

    def _record_verdict(self, uri: str, answer: _AuthorAnswer) -> _AuthorAnswer:
        """Ask the author's PDS for the record: still there means the AppView took the post down."""
        did, rkey = _uri_parts(uri)
        endpoint, host = self._record_host(did)
        params = {"repo": did, "collection": _POST_COLLECTION, "rkey": rkey}
        try:
            self._invoke(f"pds:{endpoint}", lambda: host.com.atproto.repo.get_record(params=params))
        except _Refused as refusal:
            if refusal.error != "RecordNotFound":
                raise TransientError(f"{self._where}: getRecord {uri}: {refusal}") from None
            return replace(answer, record=refusal.body, detail="record deleted from the author's PDS")
        except _SessionRejected as exc:
            raise TransientError(f"{self._where}: the author's PDS refused getRecord: {exc}") from None
        return replace(
            answer,
            status=PostStatus.REMOVED_BY_PLATFORM,
            record=self._last_json(),
            detail="record still on the author's PDS but hidden by the AppView: post taken down",
        )

    def _record_host(self, did: str) -> tuple[str, Client]:
        """The author's PDS (from the PLC directory, remembered) and a client for it."""
        endpoint = self._pds_of.get(did)
        if endpoint is None:
            endpoint = self._pds_of[did] = self._resolve_pds(did)
        if endpoint not in self._record_hosts:
            self._record_hosts[endpoint] = Client(
                base_url=endpoint, request=self._wire.request(self.options.timeout_s)
            )
        return endpoint, self._record_hosts[endpoint]

    def _resolve_pds(self, did: str) -> str:
        self._wire.calls += 1  # the resolver has its own HTTP client
        try:
            document = DidResolver(plc_url=self.options.plc_url, timeout=self.options.timeout_s).resolve(did)
        except AtProtocolError as exc:
            raise TransientError(f"{self._where}: could not resolve {did}: {exc}") from None
        endpoint = document.get_pds_endpoint() if document is not None else None
        if not endpoint:
            raise TransientError(f"{self._where}: {did} has no PDS in its DID document")
        return endpoint

    # -- one HTTP call -----------------------------------------------------------------------
    def _public(self, call: Callable[[], T]) -> T:
        """An AppView call without credentials: a token complaint means appview_url is not public."""
        try:
            return self._invoke("appview", call)
        except _SessionRejected as exc:
            raise AuthFailed(
                f"{self._where}: {self.options.appview_url} wants authentication ({exc}); "
                "point option appview_url at a public AppView"
            ) from None

    def _invoke(self, host: str, call: Callable[[], T]) -> T:
        """One SDK call with the errors translated; 400 answers come back as ``_Refused``."""
        self._budget.check(host)
        try:
            return call()
        except RateLimitExceededError as exc:
            when = f"until {exc.reset_at.isoformat()}" if exc.reset_at else "(no reset time given)"
            raise RateLimited(f"{self._where}: rate limited (429) on {host} {when}", exc.reset_at) from None
        except NetworkError as exc:
            raise TransientError(f"{self._where}: network error on {host}: {exc}") from None
        except (UnauthorizedError, LoginRequiredError, InvalidTokenError) as exc:
            raise _SessionRejected(str(exc) or type(exc).__name__) from None
        except BadRequestError as exc:
            error, message, body = _xrpc_error(exc)
            if error in _TOKEN_ERRORS:
                raise _SessionRejected(f"{error}: {message}") from None
            raise _Refused(error, message, body) from None
        except RequestException as exc:
            raise TransientError(f"{self._where}: {host} answered {exc}") from None
        except (ModelError, ValueError) as exc:  # bad JSON or a shape the lexicon refuses
            raise TransientError(f"{self._where}: malformed response from {host}: {str(exc)[:300]}") from None
        finally:
            self._note_budget(host)

    def _note_budget(self, host: str) -> None:
        response = self._wire.last
        if response is not None:
            headers = response.headers
            self._budget.record(
                host, header_int(headers, "ratelimit-remaining"), epoch_reset(headers, "ratelimit-reset")
            )

    def _last_json(self) -> dict:
        response = self._wire.last
        try:
            body = json.loads(response.content) if response is not None else None
        except ValueError as exc:
            raise TransientError(f"{self._where}: malformed JSON: {exc}") from None
        if not isinstance(body, dict):
            raise TransientError(f"{self._where}: expected a JSON object, got {str(body)[:200]}")
        return body


# -- module helpers -----------------------------------------------------------------------------


def _refused_profile(refusal: _Refused, where: str) -> _AuthorAnswer | None:
    evidence = (
        refusal.body
        if isinstance(refusal.body, dict)
        else {"error": refusal.error, "message": refusal.message}
    )
    if refusal.error == "AccountTakedown":
        return _AuthorAnswer(
            PostStatus.AUTHOR_SUSPENDED, AuthorStatus.SUSPENDED, evidence, f"author: {refusal.message}", True
        )
    if refusal.error == "AccountDeactivated":
        return _AuthorAnswer(
            PostStatus.AUTHOR_DEACTIVATED,
            AuthorStatus.DEACTIVATED,
            evidence,
            f"author: {refusal.message}",
            True,
        )
    if refusal.error == "InvalidRequest" and "not found" in refusal.message.lower():
        return _AuthorAnswer(
            PostStatus.AUTHOR_DEACTIVATED,
            AuthorStatus.DEACTIVATED,
            evidence,
            "author's account deleted (profile not found)",
        )
    log.warning("%s: getProfile answered %s; posts left undecided", where, refusal)
    return None


def _xrpc_error(exc: BadRequestError) -> tuple[str, str, Any]:
    response = exc.response
    content = response.content if response is not None else None
    error = str(getattr(content, "error", "") or "")
    message = str(getattr(content, "message", "") or "")
    body: Any = {"error": error, "message": message} if error else str(content)[:500]
    return error, message, body


def _uri_parts(uri: str) -> tuple[str, str]:
    """(author DID, rkey) of ``at://did/app.bsky.feed.post/rkey``."""
    authority, _, rest = uri.removeprefix("at://").partition("/")
    return authority, rest.rpartition("/")[2]


def _is_post_uri(value: str, where: str) -> bool:
    authority, rkey = _uri_parts(value)
    ok = value.startswith("at://did:") and f"/{_POST_COLLECTION}/" in value and bool(authority and rkey)
    if not ok:
        log.warning("%s: %r is not a post URI; left undecided", where, value)
    return ok


def _created_at(raw: Mapping[str, Any]) -> datetime | None:
    record = raw.get("record")
    value = record.get("createdAt") if isinstance(record, dict) else None
    try:
        return parse_time(str(value)) if value else None
    except ValueError:
        return None


def _iso_ms(moment: datetime) -> str:
    """ISO-8601 in UTC at millisecond precision (sorts as text)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
