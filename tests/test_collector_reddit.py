"""The Reddit adapter: real praw/prawcore against the fake Reddit on 127.0.0.1."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fakes.reddit import FakeReddit, RedditThing
from fakes.server import Reply

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
from collectors.reddit import RedditSource, build

QUERY = BrandQuery("acme", ("acme",), ("@AcmeHelp",))
SECRETS = {"client_id": "test-id", "client_secret": "test-secret"}


@pytest.fixture
def fake() -> Iterator[FakeReddit]:
    server = FakeReddit()
    with server.running():
        yield server


def make_source(fake: FakeReddit, secrets: dict[str, str] | None = None, **options: Any) -> RedditSource:
    return build(SourceSpec("r-acme", "reddit", "acme", fake.url, options, secrets or SECRETS, {}))


def sweep(source: RedditSource, cursor: str | None) -> tuple[list[str], str | None, list[Page]]:
    pages = []
    while True:
        page = source.search(QUERY, cursor)
        pages.append(page)
        cursor = page.next_cursor
        if page.exhausted:
            return [m.native_id for p in pages for m in p.mentions], cursor, pages


def refs(things: list[RedditThing]) -> list[PostRef]:
    return [PostRef(t.fullname, t.author.fullname, t.author.name) for t in things]


def api_calls(fake: FakeReddit) -> list[str]:
    return [r.path for r in fake.requests if r.path != "/api/v1/access_token"]


# -- collect ---------------------------------------------------------------------------------


def test_search_pages_through_a_sweep_then_polls_only_newer_posts(fake: FakeReddit) -> None:
    author = fake.add_account("alice")
    posts = [fake.add_submission(author, f"acme order {i}", "it broke") for i in range(230)]
    fake.add_submission(author, "unrelated", "nothing to see")
    source = make_source(fake)

    ids, cursor, pages = sweep(source, None)

    assert [len(p.mentions) for p in pages] == [100, 100, 30]
    assert [p.exhausted for p in pages] == [False, False, True]
    assert ids == [p.fullname for p in reversed(posts)]
    request = fake.calls("/r/all/search/")[0]
    assert (request.arg("q"), request.arg("sort"), request.arg("t")) == ("acme OR AcmeHelp", "new", "day")
    first = pages[0].mentions[0]
    assert (first.author_handle, first.author_id) == ("alice", author.fullname)
    assert first.text == "acme order 229\n\nit broke"
    assert first.url.startswith("https://www.reddit.com/r/acme/comments/")
    assert first.raw["data"]["name"] == first.native_id

    fresh = [fake.add_submission(author, f"acme again {i}") for i in range(3)]
    assert sweep(source, cursor)[0] == [p.fullname for p in reversed(fresh)]


def test_search_resumes_after_a_crash_between_pages_without_skip_or_duplicate(fake: FakeReddit) -> None:
    author = fake.add_account("bob")
    posts = [fake.add_submission(author, f"acme {i}") for i in range(250)]
    first_page = make_source(fake).search(QUERY, None)
    late = fake.add_submission(author, "acme while we were down")

    restarted = make_source(fake)  # a new process with the stored cursor
    rest, cursor, _ = sweep(restarted, first_page.next_cursor)

    assert [m.native_id for m in first_page.mentions] + rest == [p.fullname for p in reversed(posts)]
    assert sweep(restarted, cursor)[0] == [late.fullname]


def test_stream_mode_walks_submissions_then_comments_and_survives_a_deleted_anchor(fake: FakeReddit) -> None:
    author = fake.add_account("carol")
    post = fake.add_submission(author, "my acme story", subreddit="AcmeSupport")
    other = fake.add_submission(author, "elsewhere", subreddit="pics")
    comments = [fake.add_comment(author, post, f"reply {i}") for i in range(3)]
    source = make_source(fake, mode="stream", subreddits=["AcmeSupport", "acme"], page_size=2)

    ids, cursor, pages = sweep(source, None)

    assert ids == [post.fullname] + [c.fullname for c in reversed(comments)]
    assert [p.request["listing"] for p in pages] == ["submissions", "comments", "comments"]
    assert other.fullname not in ids
    assert pages[1].mentions[0].reply_to_id == post.fullname

    comments[-1].removal = "deleted"  # the newest thing we saw leaves the listing
    newer = fake.add_comment(author, comments[0], "acme still broken")
    assert sweep(source, cursor)[0] == [newer.fullname]
    assert fake.calls("/r/AcmeSupport+acme/comments/")[-1].arg("before") is None


def test_stream_mode_can_keep_only_things_naming_the_brand(fake: FakeReddit) -> None:
    author = fake.add_account("dan")
    fake.add_submission(author, "hello", subreddit="AcmeSupport")
    named = fake.add_submission(author, "AcmeHelp please", subreddit="AcmeSupport")
    source = make_source(fake, mode="stream", subreddits=["AcmeSupport"], filter_terms=True)
    assert sweep(source, None)[0] == [named.fullname]


def test_options_are_checked() -> None:
    def spec(options: dict[str, Any], secrets: dict[str, str] = SECRETS) -> SourceSpec:
        return SourceSpec("r", "reddit", "acme", None, options, secrets, {})

    with pytest.raises(ValueError, match=r"'r'.*stream.*named subreddits"):
        build(spec({"mode": "stream"}))
    with pytest.raises(ValueError, match="subreddits"):
        build(spec({"subreddits": ["r/acme"]}))
    with pytest.raises(ValueError, match="check_authors"):
        build(spec({"check_authors": "some"}))
    with pytest.raises(ValueError, match="must be a list of strings"):
        build(spec({"subreddits": "acme"}))
    with pytest.raises(ValueError, match="client_secret"):
        build(spec({}, {"client_id": "x"}))
    with pytest.raises(ValueError, match="username and password"):
        build(spec({}, {**SECRETS, "username": "me"}))


def test_the_entry_point_builds_this_adapter(fake: FakeReddit) -> None:
    spec = SourceSpec("r", "reddit", "acme", fake.url, {}, SECRETS, {})
    assert isinstance(registry.build_source(spec), RedditSource)
    assert registry.required_secrets("reddit") == ("client_id", "client_secret")
    assert registry.optional_secrets("reddit") == ("username", "password")


# -- errors and auth -------------------------------------------------------------------------


def test_a_429_raises_rate_limited_with_the_reset(fake: FakeReddit) -> None:
    fake.add_submission(fake.add_account("eve"), "acme")
    source = make_source(fake)
    fake.fail_next(
        "/r/", Reply(429, {"message": "Too Many Requests", "error": 429}, {"x-ratelimit-reset": "420"})
    )

    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        source.search(QUERY, None)
    reset_at = caught.value.reset_at
    assert reset_at is not None
    assert before + timedelta(seconds=419) <= reset_at <= datetime.now(UTC) + timedelta(seconds=421)

    with pytest.raises(RateLimited):  # paused until the reset, without asking Reddit again
        source.lookup(refs(list(fake.things.values())))
    assert api_calls(fake) == ["/r/all/search/"]


def test_remaining_zero_raises_rate_limited_before_the_next_call(fake: FakeReddit) -> None:
    fake.add_submission(fake.add_account("fay"), "acme")
    fake.ratelimit_remaining, fake.ratelimit_reset = 1, 300
    source = make_source(fake)

    assert len(source.search(QUERY, None).mentions) == 1
    with pytest.raises(RateLimited) as caught:
        source.search(QUERY, None)
    assert caught.value.reset_at is not None and caught.value.reset_at > datetime.now(UTC) + timedelta(
        seconds=290
    )
    assert len(api_calls(fake)) == 1


def test_a_server_error_is_transient_at_once_and_a_retry_works(fake: FakeReddit) -> None:
    thing = fake.add_submission(fake.add_account("gus"), "acme")
    source = make_source(fake)
    fake.fail_next("/api/info/", Reply(503, "upstream connect error"))

    with pytest.raises(TransientError) as caught:
        source.lookup(refs([thing]))
    assert not isinstance(caught.value, RateLimited)
    assert api_calls(fake) == ["/api/info/"]  # prawcore did not retry in-process
    assert source.lookup(refs([thing])).observations[0].status is PostStatus.LIVE


def test_malformed_json_is_transient(fake: FakeReddit) -> None:
    thing = fake.add_submission(fake.add_account("hal"), "acme")
    fake.fail_next("/api/info/", Reply(200, b'{"kind": "Listing", "data": {'))
    with pytest.raises(TransientError, match="malformed JSON"):
        make_source(fake).lookup(refs([thing]))
    fake.fail_next("/api/v1/access_token", Reply(200, b"<html>maintenance</html>"))
    with pytest.raises(TransientError):
        make_source(fake).lookup(refs([thing]))


def test_wrong_credentials_are_auth_failed(fake: FakeReddit) -> None:
    with pytest.raises(AuthFailed, match="401"):
        make_source(fake, {"client_id": "test-id", "client_secret": "wrong"}).search(QUERY, None)
    fake.passwords["mod_bot"] = "right"
    with pytest.raises(AuthFailed, match="invalid_grant"):
        make_source(fake, {**SECRETS, "username": "mod_bot", "password": "wrong"}).search(QUERY, None)
    script = make_source(fake, {**SECRETS, "username": "mod_bot", "password": "right"})
    assert script.search(QUERY, None).exhausted
    assert "grant_type=password" in fake.calls("/api/v1/access_token")[-1].body.decode()
    fake.fail_next("/r/", Reply(403, {"message": "Forbidden", "error": 403}))
    with pytest.raises(AuthFailed, match="403"):
        script.search(QUERY, None)
    fake.fail_next("/r/", Reply(404, {"message": "Not Found", "error": 404}))
    with pytest.raises(SourceError, match="404"):
        script.search(QUERY, None)


def test_an_expired_token_is_refreshed(fake: FakeReddit) -> None:
    thing = fake.add_submission(fake.add_account("ivy"), "acme")
    source = make_source(fake)
    assert source.lookup(refs([thing])).observations[0].status is PostStatus.LIVE

    fake.expire_tokens()
    result = source.lookup(refs([thing]))

    assert result.observations[0].status is PostStatus.LIVE
    assert len(fake.calls("/api/v1/access_token")) == 2
    assert result.calls == 3  # the refused call, the token, the retried call


# -- re-check --------------------------------------------------------------------------------


def test_lookup_maps_every_status_reddit_can_express(fake: FakeReddit) -> None:
    def post(name: str, removal: str | None = None, state: str = "active") -> RedditThing:
        thing = fake.add_submission(fake.add_account(name, state), f"acme by {name}", "text")
        thing.removal = removal
        return thing

    def comment(name: str, removal: str | None = None, state: str = "active") -> RedditThing:
        thing = fake.add_comment(fake.add_account(name, state), root, f"acme by {name}")
        thing.removal = removal
        return thing

    root = post("root")
    expected = {
        post("live").fullname: (PostStatus.LIVE, AuthorStatus.UNKNOWN),
        post("t3_deleted", "deleted").fullname: (PostStatus.DELETED_BY_AUTHOR, AuthorStatus.UNKNOWN),
        post("t3_mod", "moderator").fullname: (PostStatus.REMOVED_BY_MODERATOR, AuthorStatus.ACTIVE),
        post("t3_automod", "automod_filtered").fullname: (
            PostStatus.REMOVED_BY_MODERATOR,
            AuthorStatus.ACTIVE,
        ),
        post("t3_aeo", "anti_evil_ops").fullname: (PostStatus.REMOVED_BY_PLATFORM, AuthorStatus.ACTIVE),
        post("t3_copyright", "copyright_takedown").fullname: (
            PostStatus.REMOVED_BY_PLATFORM,
            AuthorStatus.ACTIVE,
        ),
        post("t3_gone", state="deleted").fullname: (PostStatus.AUTHOR_DEACTIVATED, AuthorStatus.DEACTIVATED),
        post("t3_susp", "moderator", "suspended").fullname: (
            PostStatus.REMOVED_BY_MODERATOR,
            AuthorStatus.SUSPENDED,
        ),
        comment("t1_live").fullname: (PostStatus.LIVE, AuthorStatus.UNKNOWN),
        comment("t1_deleted", "deleted").fullname: (PostStatus.DELETED_BY_AUTHOR, AuthorStatus.UNKNOWN),
        comment("t1_spam", "spam").fullname: (PostStatus.REMOVED_BY_MODERATOR, AuthorStatus.ACTIVE),
        comment("t1_admin", "admin").fullname: (PostStatus.REMOVED_BY_PLATFORM, AuthorStatus.ACTIVE),
        comment("t1_gone", state="deleted").fullname: (
            PostStatus.AUTHOR_DEACTIVATED,
            AuthorStatus.DEACTIVATED,
        ),
        comment("t1_susp", "spam", "suspended").fullname: (
            PostStatus.AUTHOR_SUSPENDED,
            AuthorStatus.SUSPENDED,
        ),
        comment("t1_shadow", "spam", "shadowbanned").fullname: (
            PostStatus.REMOVED_BY_MODERATOR,
            AuthorStatus.UNKNOWN,
        ),
    }
    hidden = post("hidden_sub")
    hidden.hidden = True
    expected[hidden.fullname] = (PostStatus.UNKNOWN, AuthorStatus.ACTIVE)
    hidden_suspended = post("hidden_susp", state="suspended")
    hidden_suspended.hidden = True
    expected[hidden_suspended.fullname] = (PostStatus.AUTHOR_SUSPENDED, AuthorStatus.SUSPENDED)
    posts = [ref for ref in refs(list(fake.things.values())) if ref.native_id in expected]

    result = make_source(fake).lookup(posts)
    seen = {o.native_id: o for o in result.observations}

    assert {k: (o.status, o.author_status) for k, o in seen.items()} == expected
    automod = next(o for o in result.observations if o.detail == "removed_by_category=automod_filtered")
    assert automod.flags == ("mod_queue",) and automod.platform_stated
    assert seen[hidden.fullname].evidence["info"] == "fullname absent from /api/info"
    suspended = seen[hidden_suspended.fullname]
    assert suspended.platform_stated and suspended.evidence["author_about"]["data"]["is_suspended"] is True
    t1_admin = next(o for o in result.observations if "Removed by Reddit" in o.detail)
    assert t1_admin.evidence["thing"]["data"]["body"] == "[ Removed by Reddit ]"
    # One info call; about calls for the removed or missing things' authors only (not deleted ones).
    checked = [p for p in api_calls(fake) if p.startswith("/user/")]
    assert len(checked) == 11 and result.calls == 1 + 1 + 11  # token, info, abouts


def test_check_authors_all_reveals_a_suspended_author_of_a_live_post(fake: FakeReddit) -> None:
    thing = fake.add_submission(fake.add_account("quiet", "suspended"), "acme")
    observation = make_source(fake, check_authors="all").lookup(refs([thing])).observations[0]
    assert (observation.status, observation.author_status) == (PostStatus.LIVE, AuthorStatus.SUSPENDED)


def test_a_restored_post_is_reported_live_again(fake: FakeReddit) -> None:
    thing = fake.add_submission(fake.add_account("jon"), "acme")
    source = make_source(fake)
    thing.removal = "moderator"
    assert source.lookup(refs([thing])).observations[0].status is PostStatus.REMOVED_BY_MODERATOR
    thing.removal = None
    assert source.lookup(refs([thing])).observations[0].status is PostStatus.LIVE


def test_lookup_calls_are_the_platform_minimum(fake: FakeReddit) -> None:
    things = fake.populate(250, authors=40)
    removed = things[::25]  # 10 things by at most 10 authors
    for thing in removed:
        thing.removal = "spam" if thing.kind == "t1" else "moderator"
    posts = refs(things)
    source = make_source(fake)

    result = source.lookup(posts)

    unique_authors = {t.author.name for t in removed}
    assert result.calls == 1 + math.ceil(len(posts) / 100) + len(unique_authors)  # + the token
    assert len(result.observations) == len(posts)
    assert source.lookup(posts).calls == math.ceil(len(posts) / 100)  # authors reused within author_cache_s
    everyone = make_source(fake, check_authors="all").lookup(posts)
    assert everyone.calls == 1 + math.ceil(len(posts) / 100) + len({t.author.name for t in things})


def test_cursor_from_another_mode_starts_a_fresh_walk(fake: FakeReddit) -> None:
    post = fake.add_submission(fake.add_account("kim"), "acme", subreddit="AcmeSupport")
    search_cursor = sweep(make_source(fake), None)[1]
    stream = make_source(fake, mode="stream", subreddits=["AcmeSupport"])
    assert sweep(stream, search_cursor)[0] == [post.fullname]
    with pytest.raises(ValueError, match="cursor"):
        stream.search(QUERY, json.dumps({"walks": 3}))
