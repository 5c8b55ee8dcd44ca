"""Mastodon: collect brand mentions on one instance and re-check them on that same instance.

Collection. Plain brand terms go to full-text search (``GET /api/v2/search``: needs a user token and an
instance with Elasticsearch; only indexable posts are found). Terms written ``#tag`` and the tags of the
``hashtags`` option go to hashtag timelines (``GET /api/v1/timelines/tag/:tag``, public on most instances).
Each search term and each tag is a *stream*, walked newest-first in *sweeps*: a sweep pages down from the
newest post to the newest post of the previous sweep (the floor). The cursor keeps, per stream, the floor,
the newest post of the running sweep and where the sweep stands, so a restart between pages resumes without
skip or duplicate. Search filters ``min_id``/``max_id`` at one-second precision (Mastodon turns them into
``after:``/``before:`` on ``created_at``), so search sweeps overlap by a second and drop the ids they already
returned there; hashtag timelines page by exact ids. A post that reaches the instance long after it was
written (late federation) can fall below the floor and is not collected.

Re-check. Status ids are per instance, so native ids are ``<status id>@<instance>`` (author ids likewise)
and this source re-checks only its own instance's ids (others are left undecided). Statuses are asked for 20
at a time with ``GET /api/v1/statuses?id[]=`` (Mastodon 4.3+); when the instance lacks that route (404) the
source falls back to one ``GET /api/v1/statuses/:id`` per post and remembers that (in ``spec.state``) for
``batch_probe_interval_s``. Authors of missing posts are then looked up once each (``accounts?id[]=``, 40 per
call, or ``accounts/:id``), and the answer maps as docs/platforms.md §3 says:

* status present → ``live`` (flags ``author_limited`` when silenced, ``author_moved`` when migrated);
* missing, account fine → ``deleted_by_author`` with detail "deleted (author or moderator)": a moderator's
  deletion looks identical, so ``platform_stated`` stays False;
* missing, account ``suspended: true`` (or 410 on servers 2.4–3.2) → ``author_suspended``;
* missing, account gone (404, or omitted from the batch) → ``author_deactivated``;
* 401/403 on a status (the instance wants sign-in, authorized fetch) → ``unknown``.

Errors: a 429 raises ``RateLimited`` with the ``X-RateLimit-Reset`` time (ISO-8601); when a response says
``X-RateLimit-Remaining: 0`` the next call raises ``RateLimited`` without being sent. 5xx, network errors,
malformed JSON and other refusals raise ``TransientError``; a 401 while we sent our token raises
``AuthFailed``. Mastodon.py runs with ``ratelimit_method="throw"`` and never sleeps.

Secrets: ``access_token`` (env ``COMPLAINTWATCH_MASTODON_ACCESS_TOKEN``), a user token with ``read`` scope;
needed for search, optional for hashtags and re-checks.

``api_base_url`` (required) is the instance, e.g. ``https://mastodon.social``.

Options:

``hashtags`` (list of str, default ``[]``)
    Extra tags (without ``#``) whose timelines are collected besides the brand's ``#tag`` terms.
``search_terms`` (bool, default true)
    Search the brand's plain terms. Needs ``access_token``; set false to collect hashtags only.
``lookback_s`` (float, default 86400)
    How far back the first sweep of a stream reaches.
``page_size`` (int, default 40)
    Posts per search or timeline page (1–40).
``timeout_s`` (float, default 30)
    HTTP timeout per request.
``instance`` (str, default: host[:port] of ``api_base_url``)
    The instance name used in native ids; change it only with the URL of a proxy in front of the instance.
``author_cache_s`` (float, default 300)
    How long an author's looked-up state is reused across lookup calls (0: never).
``batch_probe_interval_s`` (float, default 86400)
    How long to use single-status calls after the instance lacked the batch route, before trying it again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import requests
from mastodon import Mastodon
from mastodon.errors import MastodonError, MastodonNetworkError

from collectors._http import (
    ApiSession,
    RateBudget,
    TtlCache,
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

PLATFORM = "mastodon"
REQUIRED_SECRETS: tuple[str, ...] = ()
OPTIONAL_SECRETS: tuple[str, ...] = ("access_token",)
STATUSES_PER_CALL = 20  # DEFAULT_STATUSES_LIMIT: more ids give 422
ACCOUNTS_PER_CALL = 40  # DEFAULT_ACCOUNTS_LIMIT
MAX_PAGE = 40
DELETED_DETAIL = "deleted (author or moderator)"
USER_AGENT = "complaintwatch/0.1 (+mastodon collector)"
_BATCH_MISSING_KEY = "statuses_batch_missing_since"
_SECOND_MS = 1000


@dataclass(frozen=True)
class MastodonOptions:
    hashtags: tuple[str, ...] = ()
    search_terms: bool = True
    lookback_s: float = 86400.0
    page_size: int = MAX_PAGE
    timeout_s: float = 30.0
    instance: str = ""
    author_cache_s: float = 300.0
    batch_probe_interval_s: float = 86400.0

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= MAX_PAGE:
            raise ValueError(f"option page_size must be between 1 and {MAX_PAGE}, got {self.page_size}")
        for name in ("lookback_s", "timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"option {name} must be positive, got {getattr(self, name)}")
        for tag in self.hashtags:
            if not tag.strip() or tag.startswith("#"):
                raise ValueError(f"option hashtags: write tags without '#' and not empty, got {tag!r}")


def build(spec: SourceSpec) -> MastodonSource:
    """The factory registered as ``mastodon`` in the ``complaintwatch.sources`` entry points."""
    return MastodonSource(spec)


# -- cursor: one sweep per stream ---------------------------------------------------------------


@dataclass
class _Sweep:
    """Where one stream stands. Search streams hold millisecond times, hashtag streams status ids.

    ``floor``: newest post of the last finished sweep; ``top``: newest post of this sweep; ``bound``: where
    the next page ends (search: the start of the second being paged; timeline: the last id seen). The
    ``*_seen`` lists hold ids already returned inside the one-second overlaps that search needs.
    ``bound_skipped`` counts positions in the bound's second taken by posts that arrived there after the
    sweep began (they shift search's ``offset``; being newer than ``top``, the next sweep collects them).
    """

    floor: int | None = None
    floor_seen: list[str] = field(default_factory=list)
    top: int | None = None
    top_seen: list[str] = field(default_factory=list)
    bound: int | None = None
    bound_seen: list[str] = field(default_factory=list)
    bound_skipped: int = 0

    def finish(self) -> None:
        if self.top is not None:
            self.floor, self.floor_seen = self.top, self.top_seen
        self.top, self.top_seen, self.bound, self.bound_seen, self.bound_skipped = None, [], None, [], 0


# -- errors -------------------------------------------------------------------------------------


class _Refused(Exception):
    """The instance answered a 4xx (other than 429): callers decide what that means."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body

    @property
    def evidence(self) -> dict[str, Any]:
        return {"http_status": self.status, "body": self.body}


@dataclass(frozen=True)
class _AuthorAnswer:
    """What a missing post's author lookup means for the post."""

    status: PostStatus
    author: AuthorStatus
    evidence: Mapping[str, Any]
    detail: str
    platform_stated: bool = False


# -- the source ---------------------------------------------------------------------------------


class MastodonSource:
    """One Mastodon instance: search + hashtag timelines in, batch status re-checks out."""

    platform = PLATFORM
    lookup_batch = STATUSES_PER_CALL
    lookup_chunk = 50 * STATUSES_PER_CALL  # authors of missing posts are looked up 40 at a time across it

    def __init__(self, spec: SourceSpec) -> None:
        self.name = spec.name
        if not spec.api_base_url:
            raise ValueError(
                f"source {spec.name!r} (mastodon): api_base_url is required (the instance, e.g. "
                "https://mastodon.social)"
            )
        self.options = options_from(spec, MastodonOptions)
        self._token = spec.secrets.get("access_token") or None
        if self.options.search_terms and self._token is None:
            raise ValueError(
                f"source {spec.name!r} (mastodon): search needs a user token in "
                "COMPLAINTWATCH_MASTODON_ACCESS_TOKEN; set option search_terms = false to collect hashtags "
                "only"
            )
        self.base_url = spec.api_base_url.rstrip("/")
        self.instance = (self.options.instance or urlsplit(self.base_url).netloc).lower()
        self._where = f"mastodon {self.instance}"
        self._state = spec.state
        self._session = ApiSession(self.base_url, timeout=self.options.timeout_s)
        self._api = Mastodon(
            api_base_url=self.base_url,
            access_token=self._token,
            ratelimit_method="throw",
            version_check_mode="none",
            session=self._session,
            request_timeout=self.options.timeout_s,
            user_agent=USER_AGENT,
        )
        self._budget = RateBudget(PLATFORM)
        self._authors: TtlCache[_AuthorAnswer] = TtlCache(self.options.author_cache_s)
        self._batch_missing_since = _stored_time(self._state.get(_BATCH_MISSING_KEY))
        self._version_known = False

    # -- search ------------------------------------------------------------------------------
    def search(self, query: BrandQuery, cursor: str | None) -> Page:
        """One page of one stream; ``exhausted`` once the last stream finished its sweep."""
        return search_streams(
            self._streams(query),
            cursor,
            sweep_type=_Sweep,
            fetch=self._stream_page,
            mention=self._mention,
            provenance=self._provenance,
            where=f"{self._where} ({self.name})",
        )

    def _stream_page(self, key: str, sweep: _Sweep) -> tuple[list[dict], bool]:
        kind, _, value = key.partition(":")
        try:
            return (self._search_page if kind == "search" else self._tag_page)(value, sweep)
        except _Refused as refusal:
            what = f"{self._where}: {key} answered HTTP {refusal.status}: {refusal.body}"
            raise (AuthFailed(what) if refusal.status in (401, 403) else TransientError(what)) from None

    def _streams(self, query: BrandQuery) -> list[str]:
        keys: list[str] = []
        for term in query.terms:
            term = term.strip()
            if term.startswith("#") and len(term) > 1:
                keys.append(f"tag:{term[1:].lower()}")
            elif term and self.options.search_terms:
                keys.append(f"search:{term}")
        keys.extend(f"tag:{tag.lower()}" for tag in self.options.hashtags)
        return list(dict.fromkeys(keys))

    def _search_page(self, term: str, sweep: _Sweep) -> tuple[list[dict], bool]:
        """Full-text search between the floor and the sweep's bound, at Mastodon's second precision."""
        self._check_version()
        if sweep.floor is None:  # the first sweep reaches back to a fixed horizon
            sweep.floor = self._lookback_ms()
        params: dict[str, Any] = {"min_id": _snowflake(_overlap_start(sweep.floor))}
        if sweep.bound is not None:
            params["max_id"] = _snowflake(sweep.bound + _SECOND_MS)
            params["offset"] = len(sweep.bound_seen) + sweep.bound_skipped or None
        body = self._call(
            self._api.search_v2,
            term,
            resolve=False,
            result_type="statuses",
            limit=self.options.page_size,
            **params,
        )
        statuses = list_of_dicts(body.get("statuses") if isinstance(body, dict) else None, self._where)
        if not statuses:
            return [], True
        already = {*sweep.floor_seen, *sweep.top_seen, *sweep.bound_seen}
        fresh = []
        for raw in statuses:
            status_id, moment = str(raw.get("id")), self._created_ms(raw)
            if sweep.top is None:
                sweep.top = moment
            if moment >= _overlap_start(sweep.top) and status_id not in sweep.top_seen:
                sweep.top_seen.append(status_id)
            if status_id not in already:
                already.add(status_id)
                fresh.append(raw)
        self._move_bound(sweep, statuses)
        return fresh, False

    def _move_bound(self, sweep: _Sweep, statuses: list[dict]) -> None:
        lowest = _second(self._created_ms(statuses[-1]))
        in_lowest = [str(raw.get("id")) for raw in statuses if _second(self._created_ms(raw)) == lowest]
        if sweep.bound == lowest:
            # Every position this page took in the second counts, or a page of repeats is asked for again.
            new = [i for i in in_lowest if i not in sweep.bound_seen]
            sweep.bound_seen.extend(new)
            sweep.bound_skipped += len(in_lowest) - len(new)
        else:
            sweep.bound, sweep.bound_seen, sweep.bound_skipped = lowest, in_lowest, 0

    def _tag_page(self, tag: str, sweep: _Sweep) -> tuple[list[dict], bool]:
        """A hashtag timeline page: exact ids, ``since_id`` = floor, ``max_id`` = last id seen."""
        if sweep.floor is None:  # the first sweep reaches back to a fixed horizon
            sweep.floor = _snowflake(self._lookback_ms())
        body = self._call(
            self._api.timeline_hashtag,
            tag,
            since_id=sweep.floor,
            max_id=sweep.bound,
            limit=self.options.page_size,
        )
        statuses = list_of_dicts(body, self._where)
        if not statuses:
            return [], True
        ids = [self._int_id(raw) for raw in statuses]
        sweep.top = max(ids) if sweep.top is None else sweep.top
        sweep.bound = min(ids)
        return statuses, False

    def _lookback_ms(self) -> int:
        return int((datetime.now(UTC) - timedelta(seconds=self.options.lookback_s)).timestamp() * 1000)

    def _provenance(self, stream: str) -> dict[str, Any]:
        response = self._session.last_response
        if response is None:
            return {"stream": stream}
        return {"stream": stream, "url": response.url, "status": response.status_code}

    # -- records -----------------------------------------------------------------------------
    def _mention(self, raw: dict) -> Mention:
        try:
            account = raw["account"]
            reply_to = raw.get("in_reply_to_id")
            return Mention(
                platform=PLATFORM,
                native_id=f"{raw['id']}@{self.instance}",
                author_id=f"{account['id']}@{self.instance}",
                author_handle=self._full_acct(account),
                text=_status_text(raw),
                url=raw.get("url") or raw["uri"],
                created_at=parse_time(raw["created_at"]),
                lang=raw.get("language") or None,
                raw=raw,
                reply_to_id=f"{reply_to}@{self.instance}" if reply_to else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TransientError(f"{self._where}: malformed status {str(raw)[:200]}: {exc!r}") from None

    def _full_acct(self, account: Mapping[str, Any]) -> str:
        acct = str(account["acct"])
        if "@" in acct:
            return acct
        host = urlsplit(str(account.get("url") or "")).hostname or self.instance
        return f"{acct}@{host}"

    def _created_ms(self, raw: Mapping[str, Any]) -> int:
        try:
            return int(parse_time(raw["created_at"]).timestamp() * 1000)
        except (KeyError, TypeError, ValueError) as exc:
            raise TransientError(f"{self._where}: status without a readable created_at: {exc!r}") from None

    def _int_id(self, raw: Mapping[str, Any]) -> int:
        try:
            return int(raw["id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise TransientError(f"{self._where}: status without a numeric id: {exc!r}") from None

    # -- lookup ------------------------------------------------------------------------------
    def lookup(self, posts: Sequence[PostRef]) -> LookupResult:
        """Status of each post of this instance: batch (or single) status calls, then missing authors.

        A rate limit or server error part-way keeps what was decided before it and leaves the rest
        undecided; only when nothing was decided does the error propagate.
        """
        calls_before = self._session.calls
        refs = {local: ref for ref in posts if (local := self._local_id(ref.native_id)) is not None}
        found, gone, unknown = self._fetch_statuses(list(refs))
        observations = [self._live(refs[i], raw) for i, raw in found.items()]
        observations += [
            StatusObservation(
                refs[i].native_id,
                PostStatus.UNKNOWN,
                AuthorStatus.UNKNOWN,
                evidence={"status": evidence},
                detail=f"the instance refused the status lookup (HTTP {evidence.get('http_status')})",
            )
            for i, evidence in unknown.items()
        ]
        author_of = {i: self._local_id(refs[i].author_id) for i in gone}
        try:
            answers = self._author_answers({a for a in author_of.values() if a is not None})
        except TransientError:
            if not observations:
                raise
            answers = {}  # the missing posts stay undecided
        for status_id, evidence in gone.items():
            answer = answers.get(author_of[status_id] or "")
            if answer is not None:
                observations.append(self._missing(refs[status_id], evidence, answer))
        return LookupResult(observations, calls=self._session.calls - calls_before)

    def _local_id(self, value: str) -> str | None:
        local, at, instance = value.rpartition("@")
        if not at or not local:
            log.warning("%s: id %r has no @instance suffix; left undecided", self._where, value)
            return None
        if instance.lower() != self.instance:
            log.warning("%s: id %r belongs to another instance; left undecided", self._where, value)
            return None
        return local

    def _live(self, ref: PostRef, raw: dict) -> StatusObservation:
        account = raw.get("account") or {}
        marks = (("author_limited", account.get("limited")), ("author_moved", account.get("moved")))
        flags = tuple(flag for flag, present in marks if present)
        return StatusObservation(
            ref.native_id, PostStatus.LIVE, AuthorStatus.ACTIVE, {"status": raw}, flags=flags
        )

    def _missing(self, ref: PostRef, evidence: Mapping[str, Any], answer: _AuthorAnswer) -> StatusObservation:
        return StatusObservation(
            ref.native_id,
            answer.status,
            answer.author,
            evidence={"status": dict(evidence), "account": dict(answer.evidence)},
            detail=answer.detail,
            platform_stated=answer.platform_stated,
        )

    def _fetch_statuses(self, ids: list[str]) -> tuple[dict[str, dict], dict[str, dict], dict[str, dict]]:
        """(present statuses, missing ids with evidence, undecidable ids with evidence).

        A transient error after some answers keeps them (the ids not reached stay undecided).
        """
        found: dict[str, dict] = {}
        gone: dict[str, dict] = {}
        unknown: dict[str, dict] = {}
        try:
            self._fetch_statuses_into(ids, found, gone, unknown)
        except TransientError:
            if not (found or gone or unknown):
                raise
        return found, gone, unknown

    def _fetch_statuses_into(
        self, ids: list[str], found: dict[str, dict], gone: dict[str, dict], unknown: dict[str, dict]
    ) -> None:
        pending = list(ids)
        while pending and self._batch_available():
            chunk, rest = pending[:STATUSES_PER_CALL], pending[STATUSES_PER_CALL:]
            try:
                body = self._call(self._api.statuses, chunk)
            except _Refused as refusal:
                if refusal.status == 404:
                    self._remember_batch_missing()
                    break
                self._refused_lookup(refusal, chunk, unknown)
                pending = rest
                continue
            self._batch_works()
            present = {str(raw.get("id")): raw for raw in list_of_dicts(body, self._where)}
            for status_id in chunk:
                if status_id in present:
                    found[status_id] = present[status_id]
                else:
                    gone[status_id] = {"omitted_from": "GET /api/v1/statuses?id[]=", "ids": chunk}
            pending = rest
        for status_id in pending:
            try:
                found[status_id] = self._call(self._api.status, status_id)
            except _Refused as refusal:
                if refusal.status in (404, 410):
                    gone[status_id] = refusal.evidence
                else:
                    self._refused_lookup(refusal, [status_id], unknown)

    def _refused_lookup(self, refusal: _Refused, ids: Iterable[str], unknown: dict[str, dict]) -> None:
        """401 with our token is our fault; 401/403 otherwise is the instance's policy: unknown."""
        if refusal.status == 401 and self._token is not None:
            raise AuthFailed(f"{self._where}: the access token was refused (401): {refusal.body}")
        if refusal.status not in (401, 403):
            raise TransientError(f"{self._where}: unexpected HTTP {refusal.status}: {refusal.body}")
        for status_id in ids:
            unknown[status_id] = refusal.evidence

    # -- authors -----------------------------------------------------------------------------
    def _author_answers(self, account_ids: set[str]) -> dict[str, _AuthorAnswer]:
        answers = {a: cached for a in account_ids if (cached := self._authors.get(a)) is not None}
        pending = sorted(account_ids - answers.keys())
        while pending and self._batch_available():
            chunk, pending = pending[:ACCOUNTS_PER_CALL], pending[ACCOUNTS_PER_CALL:]
            try:
                body = self._call(self._api.accounts, chunk)
            except _Refused as refusal:
                if refusal.status == 404:
                    self._remember_batch_missing()
                    pending = chunk + pending
                    break
                answers.update(dict.fromkeys(chunk, self._refused_author(refusal)))
                continue
            present = {str(raw.get("id")): raw for raw in list_of_dicts(body, self._where)}
            for account_id in chunk:
                raw = present.get(account_id)
                answers[account_id] = (
                    _account_answer(raw) if raw else _destroyed({"omitted_from": "accounts?id[]="})
                )
        for account_id in pending:
            try:
                answers[account_id] = _account_answer(self._call(self._api.account, account_id))
            except _Refused as refusal:
                answers[account_id] = self._refused_author(refusal)
        for account_id, answer in answers.items():
            if answer.status is not PostStatus.UNKNOWN:
                self._authors.put(account_id, answer)
        return answers

    def _refused_author(self, refusal: _Refused) -> _AuthorAnswer:
        if refusal.status == 404:
            return _destroyed(refusal.evidence)
        if refusal.status == 410:
            return _AuthorAnswer(
                PostStatus.AUTHOR_SUSPENDED,
                AuthorStatus.SUSPENDED,
                refusal.evidence,
                "account gone (HTTP 410: suspended, servers 2.4-3.2)",
                platform_stated=True,
            )
        if refusal.status == 401 and self._token is not None:
            raise AuthFailed(f"{self._where}: the access token was refused (401): {refusal.body}")
        if refusal.status in (401, 403):
            return _AuthorAnswer(
                PostStatus.UNKNOWN,
                AuthorStatus.UNKNOWN,
                refusal.evidence,
                f"post missing; the instance refused the account lookup (HTTP {refusal.status})",
            )
        raise TransientError(f"{self._where}: unexpected HTTP {refusal.status} on an account: {refusal.body}")

    # -- the batch route ---------------------------------------------------------------------
    def _batch_available(self) -> bool:
        """False while the instance is known (since less than ``batch_probe_interval_s``) to lack it."""
        since = self._batch_missing_since
        if since is None:
            return True
        return datetime.now(UTC) - since >= timedelta(seconds=self.options.batch_probe_interval_s)

    def _remember_batch_missing(self) -> None:
        log.info("%s: no batch status route (Mastodon < 4.3); using single-status calls", self._where)
        self._batch_missing_since = datetime.now(UTC)
        self._state[_BATCH_MISSING_KEY] = self._batch_missing_since.isoformat()

    def _batch_works(self) -> None:
        if self._batch_missing_since is not None:
            self._batch_missing_since = None
            self._state.pop(_BATCH_MISSING_KEY, None)

    # -- one HTTP call -----------------------------------------------------------------------
    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one Mastodon.py call and return the body exactly as received (parsed JSON).

        4xx answers other than 429 come back as ``_Refused`` for the caller to interpret.
        """
        self._budget.check("api")
        self._session.last_response = None
        try:
            method(*args, **kwargs)
        except MastodonError as exc:
            raise self._failure(exc) from None
        finally:
            self._note_budget()
        response = self._session.last_response
        if response is None:
            raise TransientError(f"{self._where}: no response recorded")
        try:
            return response.json()
        except ValueError as exc:
            raise TransientError(f"{self._where}: malformed JSON: {exc}") from None

    def _failure(self, exc: MastodonError) -> Exception:
        """What a Mastodon.py error means, judged by the HTTP answer behind it."""
        response = self._session.last_response
        if isinstance(exc, MastodonNetworkError) or response is None:
            return TransientError(f"{self._where}: network error: {exc}")
        status = response.status_code
        if status == 429:
            return self._rate_limited(response)
        if status >= 500:
            return TransientError(f"{self._where}: server error {status}: {_body(response)}")
        if status >= 400:
            return _Refused(status, _body(response))
        return TransientError(f"{self._where}: malformed response (HTTP {status}): {str(exc)[:300]}")

    def _check_version(self) -> None:
        """Let Mastodon.py learn the server version once, failing fast.

        ``search_v2`` checks the version itself, but when ``/api/v1/instance/`` fails that check recurses
        (one request per level) until Python's recursion limit; ``fail_hard=True`` raises at once instead.
        """
        if not self._version_known:
            self._call(self._api.retrieve_mastodon_version, fail_hard=True)
            self._version_known = True

    def _note_budget(self) -> None:
        response = self._session.last_response
        if response is not None:
            headers = response.headers
            self._budget.record("api", header_int(headers, "X-RateLimit-Remaining"), _reset_at(headers))

    def _rate_limited(self, response: requests.Response) -> RateLimited:
        reset = _reset_at(response.headers)
        if reset is None and self._api.ratelimit_reset:
            reset = datetime.fromtimestamp(self._api.ratelimit_reset, UTC)
        when = f"until {reset.isoformat()}" if reset else "(no reset time given)"
        return RateLimited(f"{self._where}: rate limited (429) {when}", reset)


# -- module helpers -----------------------------------------------------------------------------


def _account_answer(raw: Mapping[str, Any]) -> _AuthorAnswer:
    """A missing post whose author still has an account: suspended, or the post was deleted."""
    if raw.get("suspended"):
        remote = "@" in str(raw.get("acct", ""))
        detail = (
            "author suspended" if remote else "author suspended (a local self-deleted account looks the same)"
        )
        return _AuthorAnswer(
            PostStatus.AUTHOR_SUSPENDED, AuthorStatus.SUSPENDED, raw, detail, platform_stated=remote
        )
    return _AuthorAnswer(PostStatus.DELETED_BY_AUTHOR, AuthorStatus.ACTIVE, raw, DELETED_DETAIL)


def _destroyed(evidence: Mapping[str, Any]) -> _AuthorAnswer:
    return _AuthorAnswer(
        PostStatus.AUTHOR_DEACTIVATED, AuthorStatus.DEACTIVATED, evidence, "account no longer exists (404)"
    )


def _snowflake(milliseconds: int) -> int:
    """The smallest Mastodon id of a post made at ``milliseconds`` since the epoch."""
    return milliseconds << 16


def _second(milliseconds: int) -> int:
    return milliseconds - milliseconds % _SECOND_MS


def _overlap_start(milliseconds: int) -> int:
    """Where the next sweep's search starts again below a floor at ``milliseconds``: a second early.

    Every post from here up (this edge included: the server compares finer than the milliseconds we get)
    may come back, so ``top_seen`` must hold each of them.
    """
    return _second(milliseconds) - _SECOND_MS


def _stored_time(value: str | None) -> datetime | None:
    try:
        return parse_time(value) if value else None
    except ValueError:
        return None


def _reset_at(headers: Mapping[str, str]) -> datetime | None:
    """``X-RateLimit-Reset`` (ISO-8601, or epoch seconds on other servers), corrected for clock skew."""
    value = headers.get("X-RateLimit-Reset")
    if not value:
        return None
    try:
        reset = datetime.fromtimestamp(int(value), UTC) if value.isdigit() else parse_time(value)
    except (ValueError, OverflowError):
        return None
    date = headers.get("Date")
    if date:
        try:
            skew = datetime.now(UTC) - parsedate_to_datetime(date)
        except (TypeError, ValueError):
            skew = timedelta(0)
        if abs(skew) > timedelta(seconds=2):  # Date has one-second resolution: ignore jitter
            reset += skew
    return reset


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:500]


class _PlainText(HTMLParser):
    """Mastodon's status HTML to text: paragraphs become blank lines, <br> a newline."""

    BLOCKS = frozenset({"p", "li", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Plain text of a status's ``content`` HTML (entities decoded, links as their full text)."""
    parser = _PlainText()
    parser.feed(markup)
    parser.close()
    text = re.sub(r"[ \t]+\n", "\n", "".join(parser.parts))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _status_text(raw: Mapping[str, Any]) -> str:
    """The content warning (if any) and the body, as plain text."""
    parts = [str(raw.get("spoiler_text") or "").strip(), html_to_text(str(raw.get("content") or ""))]
    return "\n\n".join(p for p in parts if p)
