"""The X adapter: real tweepy against the fake X API on 127.0.0.1."""

from __future__ import annotations

import json
import math
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fakes.server import Reply
from fakes.twitter import SEARCH, TWEETS, USERS, FakeX, XTweet

from collectors import registry
from collectors.base import (
    AuthFailed,
    AuthorStatus,
    BrandQuery,
    Page,
    PostRef,
    PostStatus,
    RateLimited,
    SourceError,
    SourceSpec,
    TransientError,
)
from collectors.twitter import TwitterOptions, TwitterSource, build, build_query

QUERY = BrandQuery("acme", ("acme",), ("AcmeHelp",))


@pytest.fixture
def fake() -> Iterator[FakeX]:
    server = FakeX()
    with server.running():
        yield server


def make_source(fake: FakeX, **options: Any) -> TwitterSource:
    spec = SourceSpec("x-acme", "twitter", "acme", fake.url, options, {"bearer_token": fake.bearer_token}, {})
    return build(spec)


def sweep(source: TwitterSource, cursor: str | None) -> tuple[list[str], str | None, list[Page]]:
    """Search until exhausted; ids in order, the final cursor, the pages."""
    pages = []
    while True:
        page = source.search(QUERY, cursor)
        pages.append(page)
        cursor = page.next_cursor
        if page.exhausted:
            return [m.native_id for p in pages for m in p.mentions], cursor, pages


def refs(tweets: list[XTweet]) -> list[PostRef]:
    return [PostRef(t.id, t.author.id, t.author.username) for t in tweets]


# -- collect ---------------------------------------------------------------------------------


def test_search_pages_through_a_sweep_then_polls_only_newer_posts(fake: FakeX) -> None:
    tweets = fake.populate(250, authors=20)
    source = make_source(fake, max_results=100)

    ids, cursor, pages = sweep(source, None)

    assert [len(p.mentions) for p in pages] == [100, 100, 50]
    assert [p.exhausted for p in pages] == [False, False, True]
    assert ids == [t.id for t in reversed(tweets)]
    assert [p.billed_reads for p in pages] == [100, 100, 50]
    first = pages[0].mentions[0]
    assert first.author_handle == tweets[-1].author.username
    assert abs(first.created_at - tweets[-1].created_at) < timedelta(milliseconds=1)
    assert first.lang == "en" and first.url.endswith(f"/status/{first.native_id}")
    assert first.raw["tweet"]["edit_history_tweet_ids"] == [first.native_id]

    fresh = [fake.add_tweet(tweets[0].author, f"acme again {i}") for i in range(3)]
    assert sweep(source, cursor)[0] == [t.id for t in reversed(fresh)]
    assert fake.calls(SEARCH)[-1].arg("since_id") == tweets[-1].id


def test_search_resumes_after_a_crash_between_pages_without_skip_or_duplicate(fake: FakeX) -> None:
    tweets = fake.populate(230, authors=10)
    first_page = make_source(fake, max_results=100).search(QUERY, None)
    late = fake.add_tweet(tweets[0].author, "acme posted while we were down")

    restarted = make_source(fake, max_results=100)  # a new process with the stored cursor
    rest, cursor, _ = sweep(restarted, first_page.next_cursor)
    collected = [m.native_id for m in first_page.mentions] + rest

    assert collected == [t.id for t in reversed(tweets)]
    assert sweep(restarted, cursor)[0] == [late.id]


def test_search_replies_carry_the_replied_to_post(fake: FakeX) -> None:
    author = fake.add_user("alice")
    root = fake.add_tweet(author, "acme lost my parcel")
    reply = fake.add_tweet(fake.add_user("bob"), "@alice acme did that to me too", in_reply_to=root)

    mentions = {m.native_id: m for m in make_source(fake).search(QUERY, None).mentions}

    assert mentions[reply.id].reply_to_id == root.id
    assert mentions[root.id].reply_to_id is None


def test_a_since_id_older_than_seven_days_becomes_a_start_time(fake: FakeX) -> None:
    old = fake.add_tweet(fake.add_user("old"), "acme ancient", datetime.now(UTC) - timedelta(days=9))
    fresh = fake.add_tweet(fake.add_user("new"), "acme fresh")
    cursor = json.dumps({"since_id": old.id})

    ids, _, _ = sweep(make_source(fake), cursor)

    assert ids == [fresh.id]
    assert fake.calls(SEARCH)[-1].arg("since_id") is None
    assert fake.calls(SEARCH)[-1].arg("start_time")


def test_an_expired_search_window_is_reported_as_missed(fake: FakeX) -> None:
    old = fake.add_tweet(fake.add_user("old"), "acme ancient", datetime.now(UTC) - timedelta(days=9))
    fake.add_tweet(fake.add_user("new"), "acme fresh")

    page = make_source(fake).search(QUERY, json.dumps({"since_id": old.id}))

    assert page.missed is not None
    start, end = page.missed
    assert abs((start - old.created_at).total_seconds()) < 1
    assert timedelta(days=6) < datetime.now(UTC) - end <= timedelta(days=7)
    assert make_source(fake).search(QUERY, page.next_cursor).missed is None


def test_options_and_query_are_checked() -> None:
    with pytest.raises(ValueError, match=r"'x'.*max_results"):
        build(SourceSpec("x", "twitter", "acme", None, {"max_results": 5}, {"bearer_token": "t"}, {}))
    with pytest.raises(ValueError, match="unknown option"):
        build(SourceSpec("x", "twitter", "acme", None, {"maxresults": 50}, {"bearer_token": "t"}, {}))
    with pytest.raises(ValueError, match="bearer_token"):
        build(SourceSpec("x", "twitter", "acme", None, {}, {}, {}))
    query = BrandQuery("acme", ("acme bank", "Acme"), ("@acme",), ("en", "de"))
    assert build_query(query, TwitterOptions()) == (
        '("acme bank" OR Acme OR @acme) (lang:en OR lang:de) -is:retweet -from:acme'
    )
    with pytest.raises(ValueError, match="512"):
        build_query(BrandQuery("acme", tuple(f"term{i}" for i in range(100))), TwitterOptions())


def test_the_entry_point_builds_this_adapter(fake: FakeX) -> None:
    spec = SourceSpec("x", "twitter", "acme", fake.url, {}, {"bearer_token": fake.bearer_token}, {})
    assert isinstance(registry.build_source(spec), TwitterSource)
    assert registry.required_secrets("twitter") == ("bearer_token",)


# -- errors ----------------------------------------------------------------------------------


def test_a_429_raises_rate_limited_with_the_reset_and_pauses_the_endpoint(fake: FakeX) -> None:
    fake.populate(20, authors=3)
    reset = int(time.time()) + 600
    body = {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}
    fake.fail_next(
        SEARCH, Reply(429, body, {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)})
    )
    source = make_source(fake)

    with pytest.raises(RateLimited) as caught:
        source.search(QUERY, None)
    assert caught.value.reset_at == datetime.fromtimestamp(reset, UTC)

    with pytest.raises(RateLimited):  # no second request until the reset
        source.search(QUERY, None)
    assert len(fake.calls(SEARCH)) == 1
    assert source.lookup(refs(list(fake.tweets.values())[:5])).calls == 1  # other endpoints still open


def test_remaining_zero_raises_rate_limited_before_the_next_call(fake: FakeX) -> None:
    fake.populate(30, authors=3)
    source = make_source(fake, max_results=10)
    fake.window(SEARCH).remaining = 1

    page = source.search(QUERY, None)
    assert len(page.mentions) == 10

    with pytest.raises(RateLimited) as caught:
        source.search(QUERY, page.next_cursor)
    assert caught.value.reset_at == datetime.fromtimestamp(fake.window(SEARCH).reset, UTC)
    assert len(fake.calls(SEARCH)) == 1


def test_a_server_error_is_transient_and_the_same_cursor_works_afterwards(fake: FakeX) -> None:
    fake.populate(15, authors=3)
    source = make_source(fake, max_results=10)
    fake.fail_next(SEARCH, Reply(503, {"title": "Service Unavailable"}))

    with pytest.raises(TransientError) as caught:
        source.search(QUERY, None)
    assert not isinstance(caught.value, RateLimited)
    assert len(source.search(QUERY, None).mentions) == 10


def test_malformed_json_is_transient(fake: FakeX) -> None:
    fake.populate(5, authors=1)
    fake.fail_next(SEARCH, Reply(200, b'{"data": [{"id": '))
    with pytest.raises(TransientError, match="malformed JSON"):
        make_source(fake).search(QUERY, None)
    fake.fail_next(TWEETS, Reply(200, {"data": "nope"}))
    with pytest.raises(TransientError, match="malformed"):
        make_source(fake).lookup(refs(list(fake.tweets.values())))


def test_a_closed_port_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spec = SourceSpec(
        "x", "twitter", "acme", f"http://127.0.0.1:{port}", {"timeout": 2.0}, {"bearer_token": "t"}, {}
    )
    with pytest.raises(TransientError, match="ConnectionError"):
        build(spec).search(QUERY, None)


def test_a_wrong_token_is_auth_failed_and_a_bad_request_a_source_error(fake: FakeX) -> None:
    spec = SourceSpec("x", "twitter", "acme", fake.url, {}, {"bearer_token": "expired"}, {})
    with pytest.raises(AuthFailed, match="401"):
        build(spec).search(QUERY, None)
    fake.fail_next(SEARCH, Reply(403, {"title": "Client Forbidden", "detail": "client-not-enrolled"}))
    with pytest.raises(AuthFailed, match="403"):
        make_source(fake).search(QUERY, None)
    with pytest.raises(SourceError, match="400"):
        make_source(fake).search(QUERY, json.dumps({"next_token": "not-base64!"}))


# -- re-check --------------------------------------------------------------------------------


def test_lookup_maps_every_status_x_can_express(fake: FakeX) -> None:
    def post(name: str) -> XTweet:
        return fake.add_tweet(fake.add_user(name), f"acme post by {name}")

    live, withheld, deleted, deactivated, suspended, suspended_deleted, protected, restricted = (
        post(n) for n in ("live", "withheld", "deleted", "gone", "susp", "susp2", "prot", "restricted")
    )
    withheld.withheld_in = ("DE", "FR")
    deleted.deleted = True
    deactivated.author.state = "deactivated"
    suspended.author.state = "suspended"
    suspended_deleted.deleted, suspended_deleted.author.state = True, "suspended"
    protected.author.protected = True
    restricted.restricted = True

    result = make_source(fake).lookup(
        refs([live, withheld, deleted, deactivated, suspended, suspended_deleted, protected, restricted])
    )
    seen = {o.native_id: o for o in result.observations}

    assert (seen[live.id].status, seen[live.id].author_status) == (PostStatus.LIVE, AuthorStatus.ACTIVE)
    assert seen[withheld.id].status is PostStatus.LIVE and seen[withheld.id].flags == ("withheld",)
    assert "DE, FR" in seen[withheld.id].detail
    assert (seen[deleted.id].status, seen[deleted.id].author_status) == (
        PostStatus.DELETED_BY_AUTHOR,
        AuthorStatus.ACTIVE,
    )
    assert seen[deleted.id].evidence["error"]["title"] == "Not Found Error"
    assert seen[deactivated.id].status is PostStatus.AUTHOR_DEACTIVATED
    assert seen[deactivated.id].author_status is AuthorStatus.DEACTIVATED
    for gone in (suspended, suspended_deleted):
        assert seen[gone.id].status is PostStatus.AUTHOR_SUSPENDED
        assert seen[gone.id].platform_stated
        assert seen[gone.id].evidence["author_error"]["detail"].startswith("User has been suspended")
    assert seen[protected.id].status is PostStatus.AUTHOR_PROTECTED
    assert seen[protected.id].evidence["author"]["protected"] is True
    assert seen[restricted.id].status is PostStatus.UNKNOWN
    assert "possibly removed by X" in seen[restricted.id].detail
    assert result.calls == 2


def test_a_restored_post_is_reported_live_again(fake: FakeX) -> None:
    tweet = fake.add_tweet(fake.add_user("flaky"), "acme")
    source = make_source(fake, author_cache_s=0)
    tweet.deleted = True
    assert source.lookup(refs([tweet])).observations[0].status is PostStatus.DELETED_BY_AUTHOR
    tweet.deleted = False
    assert source.lookup(refs([tweet])).observations[0].status is PostStatus.LIVE


def test_only_errors_about_requested_posts_count_and_silent_posts_are_undecided(fake: FakeX) -> None:
    a, b, c = (fake.add_tweet(fake.add_user(f"u{i}"), "acme") for i in range(3))
    includes_error = {
        "value": "999",
        "detail": "Could not find tweet with ids: [999].",
        "title": "Not Found Error",
        "resource_type": "tweet",
        "parameter": "referenced_tweets.id",
        "resource_id": "999",
        "section": "includes",
        "type": "https://api.x.com/2/problems/resource-not-found",
    }
    own_error = dict(
        includes_error,
        value=b.id,
        resource_id=b.id,
        parameter="ids",
        section="data",
        detail=f"Could not find tweet with ids: [{b.id}].",
    )
    data = [{"id": a.id, "text": "acme", "author_id": a.author.id, "edit_history_tweet_ids": [a.id]}]
    fake.fail_next(TWEETS, Reply(200, {"data": data, "errors": [includes_error, own_error]}))

    result = make_source(fake).lookup(refs([a, b, c]))
    statuses = {o.native_id: o.status for o in result.observations}

    assert statuses == {a.id: PostStatus.LIVE, b.id: PostStatus.DELETED_BY_AUTHOR}  # c: undecided
    assert fake.calls(USERS)[-1].arg("ids") == b.author.id


def test_lookup_calls_are_the_platform_minimum(fake: FakeX) -> None:
    tweets = fake.populate(250, authors=40)
    missing_authors = [fake.add_user(f"gone{i}") for i in range(3)]
    missing = [fake.add_tweet(missing_authors[i % 3], "acme bye") for i in range(7)]
    for tweet in missing:
        tweet.deleted = True
    posts = refs(tweets + missing)
    source = make_source(fake)

    result = source.lookup(posts)

    assert result.calls == math.ceil(len(posts) / 100) + math.ceil(len(missing_authors) / 100)
    assert len(fake.calls(USERS)) == 1
    assert set((fake.calls(USERS)[0].arg("ids") or "").split(",")) == {u.id for u in missing_authors}
    assert len(result.observations) == len(posts)
    # Within author_cache_s the authors are known: only the post look-ups again.
    assert source.lookup(posts).calls == math.ceil(len(posts) / 100)
    assert make_source(fake).lookup(refs(tweets)).calls == math.ceil(len(tweets) / 100)


def test_a_429_on_the_author_lookup_fails_the_whole_lookup(fake: FakeX) -> None:
    tweet = fake.add_tweet(fake.add_user("gone"), "acme")
    tweet.deleted = True
    fake.fail_next(USERS, Reply(429, {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}))
    with pytest.raises(RateLimited):
        make_source(fake).lookup(refs([tweet]))
