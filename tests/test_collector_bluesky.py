"""The Bluesky adapter, with the real atproto SDK, against the fake PDS/AppView in tests/fakes/bluesky.py."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from atproto_client.client.session import Session
from fakes.bluesky import BlueskyWorld, FakeActor, FakeBluesky, FakePost
from fakes.server import Reply

from collectors import registry
from collectors._sweep import StreamCursor
from collectors.base import (
    AuthFailed,
    AuthorStatus,
    BrandQuery,
    Mention,
    PostRef,
    PostStatus,
    RateLimited,
    SourceSpec,
    TransientError,
)
from collectors.bluesky import BlueskySource, _Sweep, build

HANDLE, PASSWORD = "monitor.bsky.social", "app-pass-word"
ACME = BrandQuery("acme", ("acme",))
# Written by the adapter before the sweep rotation moved to collectors/_sweep.py, for the terms ("acme",
# "lost"): "acme" between sweeps, "lost" mid-sweep at search page "4". Users' databases hold cursors like it.
STORED_CURSOR = (
    '{"current": "lost", "streams": {"acme": {"floor": "2026-11-21T18:37:22.925Z", "floor_uris": '
    '["at://did:plc:222222222222222222222224/app.bsky.feed.post/3n2tqngjawd2g"], "page": null, "top": null, '
    '"top_uris": [], "until": null}, "lost": {"floor": "2026-11-20T19:05:53.400Z", "floor_uris": [], '
    '"page": "4", "top": "2026-11-21T18:37:22.925Z", "top_uris": '
    '["at://did:plc:222222222222222222222224/app.bsky.feed.post/3n2tqngjawd2g"], "until": '
    '"2026-11-21T19:05:53.400Z"}}, "v": 1}'
)


@pytest.fixture(scope="module")
def service() -> Iterator[FakeBluesky]:
    server = FakeBluesky()
    with server.running():
        yield server


@pytest.fixture
def fake(service: FakeBluesky) -> FakeBluesky:
    service.reset()
    service.access_ttl_s = 7200
    service.world.add_actor(HANDLE, PASSWORD)
    return service


@pytest.fixture
def world(fake: FakeBluesky) -> BlueskyWorld:
    return fake.world


def make_source(
    fake: FakeBluesky, state: dict | None = None, password: str = PASSWORD, **options
) -> BlueskySource:
    options = {"appview_url": fake.url, "plc_url": fake.url, **options}
    secrets = {"handle": HANDLE, "app_password": password}
    return build(
        SourceSpec("sky", "bluesky", "acme", fake.url, options, secrets, {} if state is None else state)
    )


def sweep(source: BlueskySource, cursor: str | None = None, query: BrandQuery = ACME, pages: int = 50):
    found: list[Mention] = []
    for used in range(1, pages + 1):
        page = source.search(query, cursor)
        found += page.mentions
        cursor = page.next_cursor
        if page.exhausted:
            return found, cursor, used
    raise AssertionError("search never said exhausted")


def posts(
    world: BlueskyWorld, author: FakeActor, count: int, start: datetime, step: timedelta
) -> list[FakePost]:
    return [world.add_post(author, f"acme lost my luggage {i}", start + i * step) for i in range(count)]


def refs(made: list[FakePost]) -> list[PostRef]:
    return [PostRef(p.uri, p.author.did) for p in made]


def observe(source: BlueskySource, made: list[FakePost]) -> dict:
    return {o.native_id: o for o in source.lookup(refs(made)).observations}


# -- configuration --------------------------------------------------------------------------------


def test_registered_with_its_secrets():
    assert registry.factory("bluesky") is build
    assert registry.required_secrets("bluesky") == ("handle", "app_password")


def test_build_refuses_missing_credentials_and_bad_options(fake):
    spec = SourceSpec("sky", "bluesky", "acme", None, {}, {"handle": HANDLE}, {})
    with pytest.raises(ValueError, match="COMPLAINTWATCH_BLUESKY_APP_PASSWORD"):
        build(spec)
    with pytest.raises(ValueError, match="appview_url"):
        make_source(fake, appview_url="public.api.bsky.app")
    with pytest.raises(ValueError, match="page_size"):
        make_source(fake, page_size=101)
    default = build(
        SourceSpec("sky", "bluesky", "acme", None, {}, {"handle": HANDLE, "app_password": "x"}, {})
    )
    assert (default.base_url, default.options.appview_url) == (
        "https://bsky.social",
        "https://public.api.bsky.app",
    )
    assert default.lookup_batch == 25


# -- collection -----------------------------------------------------------------------------------


def test_search_pages_through_results_and_maps_posts(fake, world):
    alice = world.add_actor("alice.bsky.social")
    start = datetime.now(UTC) - timedelta(hours=1)
    made = posts(world, alice, 45, start, timedelta(seconds=30))
    reply = world.add_post(
        alice, "acme, still waiting", start + timedelta(minutes=5), reply_parent=made[0].uri
    )
    world.add_post(alice, "unrelated", start)
    source = make_source(fake, page_size=20)

    found, _, pages = sweep(source)

    assert sorted(m.native_id for m in found) == sorted(p.uri for p in [*made, reply])
    assert pages == 3
    mention = next(m for m in found if m.native_id == reply.uri)
    assert mention.native_id.startswith(f"at://{alice.did}/app.bsky.feed.post/")
    assert (mention.author_id, mention.author_handle) == (alice.did, "alice.bsky.social")
    assert (mention.text, mention.lang, mention.reply_to_id) == ("acme, still waiting", "en", made[0].uri)
    assert mention.url == f"https://bsky.app/profile/{alice.did}/post/{reply.rkey}"
    assert mention.created_at == reply.created_at.replace(
        microsecond=reply.created_at.microsecond // 1000 * 1000
    )
    assert mention.raw["record"]["text"] == "acme, still waiting"
    search_calls = fake.xrpc_calls("app.bsky.feed.searchPosts")
    assert {c.arg("sort") for c in search_calls} == {"latest"}
    assert len({(c.arg("since"), c.arg("until")) for c in search_calls}) == 1  # fixed for the whole sweep


def test_next_sweep_starts_at_the_newest_sort_at_and_drops_it_by_uri(fake, world):
    alice = world.add_actor("alice.bsky.social")
    start = datetime.now(UTC) - timedelta(minutes=30)
    made = posts(world, alice, 10, start, timedelta(seconds=10))
    source = make_source(fake, page_size=4)
    first, cursor, _ = sweep(source)

    same_instant = world.add_post(alice, "acme twin", made[-1].created_at)  # same sortAt as the floor
    late = world.add_post(alice, "acme later", datetime.now(UTC) - timedelta(seconds=1))
    second, _, _ = sweep(source, cursor)

    assert len(first) == 10
    assert sorted(m.native_id for m in second) == sorted([same_instant.uri, late.uri])
    assert all(c.arg("since") for c in fake.xrpc_calls("app.bsky.feed.searchPosts"))


def test_resume_after_a_crash_between_pages_reuses_session_and_page_cursor(fake, world):
    alice = world.add_actor("alice.bsky.social")
    made = posts(world, alice, 30, datetime.now(UTC) - timedelta(hours=1), timedelta(seconds=20))
    state: dict[str, str] = {}
    crashed = make_source(fake, state=state, page_size=8)
    page = crashed.search(ACME, None)
    seen = [m.native_id for m in page.mentions]

    during = world.add_post(
        alice, "acme while we were down", datetime.now(UTC)
    )  # shifts nothing: until is fixed
    restarted = make_source(fake, state=state, page_size=8)
    rest, cursor, _ = sweep(restarted, page.next_cursor)
    after, _, _ = sweep(restarted, cursor)

    assert Counter(seen + [m.native_id for m in rest]) == Counter(p.uri for p in made)
    assert [m.native_id for m in after] == [during.uri]
    assert len(fake.xrpc_calls("com.atproto.server.createSession")) == 1


def test_cursor_stored_by_earlier_versions_resumes_where_it_stood(fake):
    assert StreamCursor.decode(STORED_CURSOR, _Sweep, "test").encode() == STORED_CURSOR  # same format
    page = make_source(fake).search(BrandQuery("acme", ("acme", "lost")), STORED_CURSOR)

    (call,) = fake.xrpc_calls("app.bsky.feed.searchPosts")
    assert (call.arg("q"), call.arg("cursor")) == ("lost", "4")
    assert (call.arg("since"), call.arg("until")) == ("2026-11-20T19:05:53.400Z", "2026-11-21T19:05:53.400Z")
    stored, resumed = json.loads(STORED_CURSOR), json.loads(page.next_cursor)
    assert page.exhausted and resumed["current"] is None  # the empty page finished the last stream
    assert resumed["streams"]["lost"]["floor"] == stored["streams"]["lost"]["top"]
    assert resumed["streams"]["acme"] == stored["streams"]["acme"]


def test_anonymous_search_is_refused_like_on_bluesky(fake):
    reply = httpx.get(f"{fake.url}/xrpc/app.bsky.feed.searchPosts", params={"q": "acme"})
    assert (reply.status_code, reply.json()["error"]) == (403, "AuthMissing")


# -- sessions -------------------------------------------------------------------------------------


def test_second_instance_reuses_the_stored_session(fake, world):
    state: dict[str, str] = {}
    make_source(fake, state=state).search(ACME, None)
    make_source(fake, state=state).search(ACME, None)
    assert len(fake.xrpc_calls("com.atproto.server.createSession")) == 1
    assert state["session"].startswith(f"{HANDLE}:::")


def test_expired_access_token_is_refreshed_not_recreated(fake, world):
    fake.access_ttl_s = -60  # a session stored before the process went down; its access token expired since
    login = httpx.post(
        f"{fake.url}/xrpc/com.atproto.server.createSession", json={"identifier": HANDLE, "password": PASSWORD}
    ).json()
    stale = Session(HANDLE, login["did"], login["accessJwt"], login["refreshJwt"], fake.url).encode()
    state = {"session": stale}
    fake.access_ttl_s = 7200

    make_source(fake, state=state).search(ACME, None)

    assert len(fake.xrpc_calls("com.atproto.server.refreshSession")) == 1
    assert len(fake.xrpc_calls("com.atproto.server.createSession")) == 1  # only ours, above
    assert state["session"] != stale


def test_revoked_token_is_refreshed_then_recreated_when_refresh_fails_too(fake, world):
    state: dict[str, str] = {}
    source = make_source(fake, state=state)
    source.search(ACME, None)

    fake.revoke_access_tokens()  # 400 ExpiredToken although the JWT's exp is far away
    source.search(ACME, None)
    assert len(fake.xrpc_calls("com.atproto.server.refreshSession")) == 1
    assert len(fake.xrpc_calls("com.atproto.server.createSession")) == 1

    fake.revoke_access_tokens()
    fake.refresh.clear()  # the refresh token is dead as well
    source.search(ACME, None)
    assert len(fake.xrpc_calls("com.atproto.server.createSession")) == 2


def test_wrong_app_password_is_auth_failed(fake):
    with pytest.raises(AuthFailed, match="sign-in"):
        make_source(fake, password="wrong").search(ACME, None)


# -- errors ---------------------------------------------------------------------------------------


def test_429_raises_rate_limited_with_the_reset_and_blocks_that_host(fake, world):
    post = world.add_post(world.add_actor("alice.bsky.social"), "acme")
    source = make_source(fake)
    reset = (datetime.now(UTC) + timedelta(minutes=3)).replace(microsecond=0)
    fake.rate_limit_next("app.bsky.feed.searchPosts", reset)
    with pytest.raises(RateLimited) as caught:
        source.search(ACME, None)
    assert caught.value.reset_at == reset

    sent = len(fake.calls())
    with pytest.raises(RateLimited):
        source.search(ACME, None)
    assert len(fake.calls()) == sent  # nothing sent until the reset
    [seen] = source.lookup(refs([post])).observations  # the AppView is another host, with its own budget
    assert seen.status is PostStatus.LIVE


def test_server_error_then_success(fake, world):
    start = datetime.now(UTC) - timedelta(minutes=9)
    made = posts(world, world.add_actor("alice.bsky.social"), 3, start, timedelta(seconds=1))
    source = make_source(fake)
    fake.fail_next("/xrpc/app.bsky.feed.searchPosts", Reply(500, {"error": "InternalServerError"}))
    with pytest.raises(TransientError) as caught:
        source.search(ACME, None)
    assert not isinstance(caught.value, RateLimited)
    fake.fail_next("/xrpc/app.bsky.feed.getPosts", Reply(502, b"bad gateway"))
    with pytest.raises(TransientError):
        source.lookup(refs(made))

    found, _, _ = sweep(source)
    assert {m.native_id for m in found} == {p.uri for p in made}
    assert len(source.lookup(refs(made)).observations) == 3


def test_malformed_json_is_transient(fake, world):
    made = posts(world, world.add_actor("alice.bsky.social"), 1, datetime.now(UTC), timedelta(0))
    source = make_source(fake)
    broken = Reply(200, b'{"posts": [', {"Content-Type": "application/json"})
    fake.fail_next("/xrpc/app.bsky.feed.searchPosts", broken)
    with pytest.raises(TransientError, match="malformed"):
        source.search(ACME, None)
    fake.fail_next("/xrpc/app.bsky.feed.getPosts", Reply(200, {"posts": [{"uri": made[0].uri}]}))
    with pytest.raises(TransientError, match="malformed"):
        source.lookup(refs(made))


# -- re-check -------------------------------------------------------------------------------------


def test_each_status_the_platform_can_express(fake, world):
    names = ("live", "deleter", "hidden", "other_label", "takendown", "suspended", "deactivated", "deleted")
    people = {name: world.add_actor(f"{name}.bsky.social") for name in names}
    made = {name: world.add_post(actor, f"acme {name}") for name, actor in people.items()}
    made["deleter"].deleted = True
    world.label(made["hidden"], "!hide")
    world.label(made["other_label"], "!hide", src="did:plc:somecommunitylabeler")
    for name in ("takendown", "suspended", "deactivated", "deleted"):
        people[name].status = name
    source = make_source(fake)

    seen = {name: observe(source, list(made.values()))[post.uri] for name, post in made.items()}

    assert (seen["live"].status, seen["live"].author_status) == (PostStatus.LIVE, AuthorStatus.ACTIVE)
    assert seen["live"].evidence["post"]["uri"] == made["live"].uri
    assert seen["other_label"].status is PostStatus.LIVE
    assert (seen["hidden"].status, seen["hidden"].platform_stated) == (PostStatus.REMOVED_BY_PLATFORM, True)
    assert (seen["deleter"].status, seen["deleter"].author_status) == (
        PostStatus.DELETED_BY_AUTHOR,
        AuthorStatus.ACTIVE,
    )
    assert seen["deleter"].evidence["author"]["did"] == people["deleter"].did
    for name in ("takendown", "suspended"):
        assert (seen[name].status, seen[name].author_status) == (
            PostStatus.AUTHOR_SUSPENDED,
            AuthorStatus.SUSPENDED,
        )
        assert seen[name].evidence["author"]["error"] == "AccountTakedown"
    assert (seen["deactivated"].status, seen["deactivated"].platform_stated) == (
        PostStatus.AUTHOR_DEACTIVATED,
        True,
    )
    assert seen["deleted"].status is PostStatus.AUTHOR_DEACTIVATED
    assert seen["deleted"].evidence["author"] == {"error": "InvalidRequest", "message": "Profile not found"}


def test_check_pds_tells_a_post_takedown_from_a_deletion(fake, world):
    alice = world.add_actor("alice.bsky.social")
    deleted, taken_down = world.add_post(alice, "acme one"), world.add_post(alice, "acme two")
    deleted.deleted, taken_down.taken_down = True, True

    plain = observe(make_source(fake), [deleted, taken_down])
    checked = observe(make_source(fake, check_pds=True), [deleted, taken_down])

    assert plain[taken_down.uri].status is PostStatus.DELETED_BY_AUTHOR
    assert checked[deleted.uri].status is PostStatus.DELETED_BY_AUTHOR
    assert checked[deleted.uri].evidence["record"]["error"] == "RecordNotFound"
    assert checked[taken_down.uri].status is PostStatus.REMOVED_BY_PLATFORM
    assert checked[taken_down.uri].evidence["record"]["uri"] == taken_down.uri


def test_recheck_is_anonymous_so_a_block_does_not_look_like_a_deletion(fake, world):
    blocker = world.add_actor("blocker.bsky.social")
    blocker.blocks_viewer = True
    post = world.add_post(blocker, "acme is awful")
    source = make_source(fake)
    source.search(ACME, None)  # signed in now

    [seen] = source.lookup(refs([post])).observations

    assert seen.status is PostStatus.LIVE
    assert all("authorization" not in c.headers for c in fake.xrpc_calls("app.bsky.feed.getPosts"))


def test_restored_post_is_reported_live_again(fake, world):
    post = world.add_post(world.add_actor("alice.bsky.social"), "acme")
    source = make_source(fake)
    post.taken_down = True
    [gone] = source.lookup(refs([post])).observations
    post.taken_down = False
    [back] = source.lookup(refs([post])).observations
    assert (gone.status, back.status) == (PostStatus.DELETED_BY_AUTHOR, PostStatus.LIVE)


def test_lookup_uses_the_platform_minimum_of_calls(fake, world):
    authors = [world.add_actor(f"user{i}.bsky.social") for i in range(30)]
    made = [world.add_post(authors[i % 30], f"acme {i}") for i in range(240)]
    for post in made[::16]:  # 15 posts by 15 authors go missing
        post.deleted = True
    missing_authors = {p.author.did for p in made if p.deleted}
    source = make_source(fake)

    result = source.lookup(refs(made))

    assert result.calls == math.ceil(240 / 25) + len(missing_authors)
    assert len(fake.calls()) == result.calls
    assert all(len(c.query["uris"]) <= 25 for c in fake.xrpc_calls("app.bsky.feed.getPosts"))
    assert Counter(o.status for o in result.observations) == {
        PostStatus.LIVE: 225,
        PostStatus.DELETED_BY_AUTHOR: 15,
    }
    again = source.lookup(refs(made))  # authors are remembered for author_cache_s
    assert again.calls == math.ceil(240 / 25)


def test_non_post_ids_are_left_undecided(fake, world):
    post = world.add_post(world.add_actor("alice.bsky.social"), "acme")
    result = make_source(fake).lookup([PostRef("12345", "x"), *refs([post])])
    assert [o.native_id for o in result.observations] == [post.uri]


@pytest.mark.parametrize(
    "stored", ["not a session", "other.bsky.social:::did:plc:other:::a.b.c:::r.s.t:::https://pds.example"]
)
def test_unusable_or_foreign_stored_session_is_replaced(fake, stored):
    state = {"session": stored}
    make_source(fake, state=state).search(ACME, None)
    assert len(fake.xrpc_calls("com.atproto.server.createSession")) == 1
    assert state["session"].startswith(f"{HANDLE}:::")


def test_refused_search_query_is_transient(fake):
    source = make_source(fake)
    fake.fail_next(
        "/xrpc/app.bsky.feed.searchPosts", Reply(400, {"error": "InvalidRequest", "message": "bad q"})
    )
    with pytest.raises(TransientError, match="InvalidRequest"):
        source.search(ACME, None)
