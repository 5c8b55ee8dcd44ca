"""The Mastodon adapter, with the real Mastodon.py, against the fake instance in tests/fakes/mastodon.py."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fakes.mastodon import FakeAccount, FakeMastodon, FakeStatus, MastodonWorld
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
from collectors.mastodon import DELETED_DETAIL, MastodonSource, _Sweep, build, html_to_text

TOKEN = "good-token"
ACME = BrandQuery("acme", ("acme",))
# Written by the adapter before the sweep rotation moved to collectors/_sweep.py, for the terms ("acme",
# "#acme") and hashtags ["acmehelp"]: mid-sweep on the search stream (three posts already taken in the
# bound's second), both hashtag streams between sweeps. Users' databases hold cursors like it.
STORED_CURSOR = (
    '{"current": "search:acme", "streams": {"search:acme": {"bound": 1795286155000, "bound_seen": '
    '["117655873506836492", "117655873487175691", "117655873467514890"], "bound_skipped": 0, "floor": '
    '1795286156105, "floor_seen": ["117655873526497293", "117655873506836492", "117655873487175691", '
    '"117655873467514890"], "top": 1795286156105, "top_seen": ["117655873526497293", "117655873506836492", '
    '"117655873487175691", "117655873467514890"]}, "tag:acme": {"bound": null, "bound_seen": [], '
    '"bound_skipped": 0, "floor": 117655873526497293, "floor_seen": [], "top": null, "top_seen": []}, '
    '"tag:acmehelp": {"bound": null, "bound_seen": [], "bound_skipped": 0, "floor": 117650328969609216, '
    '"floor_seen": [], "top": null, "top_seen": []}}, "v": 1}'
)


@pytest.fixture(scope="module")
def instance() -> Iterator[FakeMastodon]:
    server = FakeMastodon()
    with server.running():
        yield server


@pytest.fixture
def fake(instance: FakeMastodon) -> FakeMastodon:
    instance.reset()
    return instance


@pytest.fixture
def world(fake: FakeMastodon) -> MastodonWorld:
    return fake.world


def make_source(
    fake: FakeMastodon, state: dict | None = None, token: str | None = TOKEN, **options
) -> MastodonSource:
    secrets = {"access_token": token} if token else {}
    spec = SourceSpec(
        "masto", "mastodon", "acme", fake.url, options, secrets, state if state is not None else {}
    )
    return build(spec)


def sweep(source: MastodonSource, query: BrandQuery = ACME, cursor: str | None = None, pages: int = 50):
    """Call search until exhausted; returns (mentions, last cursor, pages used)."""
    found: list[Mention] = []
    for used in range(1, pages + 1):
        page = source.search(query, cursor)
        found += page.mentions
        cursor = page.next_cursor
        if page.exhausted:
            return found, cursor, used
    raise AssertionError("search never said exhausted")


def posts(world: MastodonWorld, author: FakeAccount, count: int, start: datetime, step: timedelta, **kw):
    return [world.add_status(author, f"acme ate my parcel {i}", start + i * step, **kw) for i in range(count)]


def native(source: MastodonSource, status: FakeStatus) -> str:
    return f"{status.id}@{source.instance}"


def ref(source: MastodonSource, status: FakeStatus) -> PostRef:
    return PostRef(native(source, status), f"{status.account.id}@{source.instance}")


def by_id(observations) -> dict:
    return {o.native_id: o for o in observations}


# -- configuration --------------------------------------------------------------------------------


def test_registered_with_its_secrets():
    assert registry.factory("mastodon") is build
    assert registry.required_secrets("mastodon") == ()
    assert registry.optional_secrets("mastodon") == ("access_token",)


def test_build_refuses_missing_instance_and_missing_token(fake):
    spec = SourceSpec("masto", "mastodon", "acme", None, {}, {"access_token": TOKEN}, {})
    with pytest.raises(ValueError, match="api_base_url is required"):
        build(spec)
    with pytest.raises(ValueError, match="COMPLAINTWATCH_MASTODON_ACCESS_TOKEN"):
        make_source(fake, token=None)
    with pytest.raises(ValueError, match="page_size"):
        make_source(fake, page_size=41)
    assert make_source(fake, token=None, search_terms=False).lookup_batch == 20


def test_html_content_becomes_plain_text():
    markup = '<p>Hi &amp; bye<br />line</p><p>see <a href="https://x.example/a/b"><span class="invisible">https://</span>x.example/a/b</a></p>'
    assert html_to_text(markup) == "Hi & bye\nline\n\nsee https://x.example/a/b"


# -- collection -----------------------------------------------------------------------------------


def test_search_pages_newest_first_and_maps_statuses(fake, world):
    alice, bob = world.add_account("alice"), world.add_account("bob", "remote.example")
    start = datetime.now(UTC) - timedelta(hours=2)
    made = posts(world, alice, 25, start, timedelta(seconds=7)) + posts(
        world, bob, 20, start, timedelta(seconds=11)
    )
    world.add_status(alice, "nothing to see", start)
    source = make_source(fake, page_size=20)

    found, _, pages = sweep(source)

    assert sorted(m.native_id for m in found) == sorted(native(source, s) for s in made)
    assert pages == 4  # 20 + 20 + 5, then an empty page ends the sweep
    assert [m.created_at for m in found] == sorted((m.created_at for m in found), reverse=True)
    first = next(m for m in found if m.native_id == native(source, made[0]))
    assert first.platform == "mastodon"
    assert first.author_id == f"{alice.id}@{source.instance}"
    assert first.author_handle == "alice@mastodon.example"
    assert first.text == "acme ate my parcel 0"
    assert first.url == f"https://mastodon.example/@alice/{made[0].id}"
    assert first.raw["content"] == "<p>acme ate my parcel 0</p>"
    assert first.created_at.tzinfo is not None
    assert {m.author_handle for m in found} == {"alice@mastodon.example", "bob@remote.example"}


def test_posts_sharing_a_second_across_page_boundaries(fake, world):
    """Search filters at one-second precision: pages overlap a second and drop what they already returned."""
    alice = world.add_account("alice")
    second = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
    made = posts(world, alice, 23, second, timedelta(milliseconds=40))  # 23 posts within one second
    made += posts(world, alice, 5, second - timedelta(seconds=1), timedelta(milliseconds=100))
    source = make_source(fake, page_size=7)

    found, _, _ = sweep(source)

    ids = [m.native_id for m in found]
    assert len(ids) == len(set(ids)) == len(made)


def test_next_sweep_returns_only_newer_posts_even_within_the_floor_second(fake, world):
    alice = world.add_account("alice")
    start = datetime.now(UTC).replace(microsecond=100_000) - timedelta(minutes=10)
    posts(world, alice, 10, start, timedelta(seconds=1))
    source = make_source(fake, page_size=4)
    first, cursor, _ = sweep(source)
    newest = max(m.created_at for m in first)

    same_second = world.add_status(alice, "acme again", newest + timedelta(milliseconds=300))
    later = world.add_status(alice, "acme later", newest + timedelta(seconds=3))
    second, _, _ = sweep(source, cursor=cursor)

    assert sorted(m.native_id for m in second) == sorted([native(source, same_second), native(source, later)])


def test_hashtag_timelines_page_by_exact_ids(fake, world):
    alice = world.add_account("alice")
    start = datetime.now(UTC) - timedelta(hours=1)
    tagged = posts(world, alice, 9, start, timedelta(seconds=5), tags=["AcmeFail"])
    other = posts(world, alice, 3, start, timedelta(seconds=5), tags=["acmehelp"])
    source = make_source(fake, token=None, search_terms=False, hashtags=["acmehelp"], page_size=4)

    found, _, pages = sweep(source, BrandQuery("acme", ("acme", "#AcmeFail")))

    assert sorted(m.native_id for m in found) == sorted(native(source, s) for s in tagged + other)
    assert pages == 3 + 1 + 1 + 1  # acmefail: 4+4+1+empty, acmehelp: 3+empty
    timeline_calls = fake.calls("/api/v1/timelines/tag/")
    assert {c.path for c in timeline_calls} == {
        "/api/v1/timelines/tag/acmefail",
        "/api/v1/timelines/tag/acmehelp",
    }
    assert all("since_id" in c.query for c in timeline_calls)
    assert sum("max_id" in c.query for c in timeline_calls) == 4  # every page after the first of a sweep
    assert fake.calls("/api/v2/search") == []


# The newest of the first page (post 29) lands 500 us into a second, post 25 exactly a second earlier: the
# server's filter sees microseconds, the adapter only milliseconds. 0: a whole second, no such edge.
@pytest.mark.parametrize("microsecond", [750_500, 0])
def test_resume_after_a_crash_between_pages(fake, world, microsecond):
    alice = world.add_account("alice")
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=microsecond)
    made = posts(world, alice, 30, start, timedelta(milliseconds=250), tags=["acme"])
    query = BrandQuery("acme", ("acme", "#acme"))
    crashed = make_source(fake, page_size=8)
    page = crashed.search(query, None)
    seen = [m.native_id for m in page.mentions]
    cursor = page.next_cursor

    newcomer = world.add_status(alice, "acme while we were down", datetime.now(UTC), tags=["acme"])
    restarted = make_source(fake, page_size=8)  # a new process with only the stored cursor
    rest, cursor, _ = sweep(restarted, query, cursor)
    seen += [m.native_id for m in rest]
    after, _, _ = sweep(restarted, query, cursor)
    seen += [m.native_id for m in after]

    expected = [native(restarted, s) for s in made]
    assert Counter(seen) == Counter(
        expected * 2 + [native(restarted, newcomer)] * 2
    )  # search + hashtag stream


def test_cursor_stored_by_earlier_versions_resumes_where_it_stood(fake):
    assert StreamCursor.decode(STORED_CURSOR, _Sweep, "test").encode() == STORED_CURSOR  # same format
    source = make_source(fake, hashtags=["acmehelp"])
    page = source.search(BrandQuery("acme", ("acme", "#acme")), STORED_CURSOR)

    (call,) = fake.calls("/api/v2/search")
    assert call.arg("min_id") == str(1795286155000 << 16)  # a second below the floor's second
    assert call.arg("max_id") == str(1795286156000 << 16)  # a second above the bound's second
    assert call.arg("offset") == "3"  # past the three posts already taken in the bound's second
    stored, resumed = json.loads(STORED_CURSOR), json.loads(page.next_cursor)
    assert resumed["current"] == "tag:acme"  # the empty page finished the search sweep
    assert resumed["streams"]["search:acme"]["floor_seen"] == stored["streams"]["search:acme"]["top_seen"]
    for tag in ("tag:acme", "tag:acmehelp"):
        assert resumed["streams"][tag] == stored["streams"][tag]


# -- errors ---------------------------------------------------------------------------------------


def test_429_raises_rate_limited_with_the_reset_and_blocks_until_then(fake, world):
    world.add_status(world.add_account("alice"), "acme", datetime.now(UTC) - timedelta(minutes=1))
    source = make_source(fake)
    reset = (datetime.now(UTC) + timedelta(minutes=4)).replace(microsecond=0)
    fake.rate_limit_next("/api/v2/search", reset)

    with pytest.raises(RateLimited) as caught:
        source.search(ACME, None)

    assert caught.value.reset_at is not None
    assert abs(caught.value.reset_at - reset) < timedelta(seconds=2)
    sent = len(fake.calls())
    with pytest.raises(RateLimited):  # the window is spent: no request goes out
        source.lookup([PostRef(f"1@{source.instance}", f"2@{source.instance}")])
    assert len(fake.calls()) == sent


def test_server_error_then_success(fake, world):
    made = world.add_status(world.add_account("alice"), "acme", datetime.now(UTC) - timedelta(minutes=1))
    source = make_source(fake)
    fake.fail_next("/api/v2/search", Reply(500, {"error": "boom"}))
    with pytest.raises(TransientError) as caught:
        source.search(ACME, None)
    assert not isinstance(caught.value, RateLimited)

    found, _, _ = sweep(source)
    assert [m.native_id for m in found] == [native(source, made)]


def test_malformed_json_is_transient(fake, world):
    status = world.add_status(world.add_account("alice"), "acme", datetime.now(UTC))
    source = make_source(fake)
    fake.fail_next("/api/v2/search", Reply(200, b'{"statuses": [{"id": '))
    with pytest.raises(TransientError, match="malformed"):
        source.search(ACME, None)
    fake.fail_next("/api/v1/statuses", Reply(200, '[{"id": "1", '))
    with pytest.raises(TransientError, match="malformed"):
        source.lookup([ref(source, status)])
    fake.fail_next("/api/v2/search", Reply(200, {"statuses": [{"id": "5"}]}))
    with pytest.raises(TransientError, match="created_at"):
        source.search(ACME, None)


def test_refused_token_is_auth_failed(fake, world):
    status = world.add_status(world.add_account("alice"), "acme", datetime.now(UTC))
    source = make_source(fake, token="revoked-token")
    with pytest.raises(AuthFailed):
        source.search(ACME, None)
    with pytest.raises(AuthFailed):
        source.lookup([ref(source, status)])


# -- re-check -------------------------------------------------------------------------------------


def test_each_status_the_platform_can_express(fake, world):
    people = {name: world.add_account(name) for name in ("live", "deleter", "suspended", "gone", "silenced")}
    people["remote"] = world.add_account("far", "remote.example")
    people["moved"] = world.add_account("mover")
    people["moved"].moved_to = world.add_account("newhome")
    made = {name: world.add_status(account, f"acme {name}") for name, account in people.items()}
    made["deleter"].deleted = True
    made["remote"].deleted = True
    people["suspended"].suspended = True
    people["remote"].suspended = True
    people["gone"].destroyed = True
    people["silenced"].limited = True
    source = make_source(fake)

    result = by_id(source.lookup([ref(source, s) for s in made.values()]).observations)
    seen = {name: result[native(source, status)] for name, status in made.items()}

    assert (seen["live"].status, seen["live"].author_status) == (PostStatus.LIVE, AuthorStatus.ACTIVE)
    assert seen["live"].evidence["status"]["id"] == made["live"].id
    assert seen["deleter"].status is PostStatus.DELETED_BY_AUTHOR
    assert seen["deleter"].detail == DELETED_DETAIL
    assert seen["deleter"].platform_stated is False
    assert seen["deleter"].evidence["account"]["username"] == "deleter"
    assert (seen["suspended"].status, seen["suspended"].author_status) == (
        PostStatus.AUTHOR_SUSPENDED,
        AuthorStatus.SUSPENDED,
    )
    assert seen["suspended"].evidence["account"]["suspended"] is True
    assert seen["suspended"].platform_stated is False  # a local self-deleted account looks the same
    assert (seen["remote"].status, seen["remote"].platform_stated) == (PostStatus.AUTHOR_SUSPENDED, True)
    assert (seen["gone"].status, seen["gone"].author_status) == (
        PostStatus.AUTHOR_DEACTIVATED,
        AuthorStatus.DEACTIVATED,
    )
    assert (seen["silenced"].status, seen["silenced"].flags) == (PostStatus.LIVE, ("author_limited",))
    assert (seen["moved"].status, seen["moved"].flags) == (PostStatus.LIVE, ("author_moved",))


def test_suspension_answered_with_410_by_old_servers(world):
    server = FakeMastodon(world, legacy=True, version="3.1.0", suspended_as_410=True)
    with server.running():
        author = world.add_account("old")
        status = world.add_status(author, "acme")
        author.suspended = True
        source = make_source(server)
        [seen] = source.lookup([ref(source, status)]).observations
        assert (seen.status, seen.author_status) == (PostStatus.AUTHOR_SUSPENDED, AuthorStatus.SUSPENDED)
        assert seen.evidence["account"]["http_status"] == 410


def test_instance_demanding_sign_in_gives_unknown(world):
    server = FakeMastodon(world, require_auth=True)
    with server.running():
        status = world.add_status(world.add_account("alice"), "acme")
        source = make_source(server, token=None, search_terms=False)
        [seen] = source.lookup([ref(source, status)]).observations
        assert (seen.status, seen.author_status) == (PostStatus.UNKNOWN, AuthorStatus.UNKNOWN)
        assert seen.evidence["status"]["http_status"] == 401


def test_restored_post_is_reported_live_again(fake, world):
    status = world.add_status(world.add_account("alice"), "acme")
    source = make_source(fake)
    status.deleted = True
    [gone] = source.lookup([ref(source, status)]).observations
    status.deleted = False
    [back] = source.lookup([ref(source, status)]).observations
    assert (gone.status, back.status) == (PostStatus.DELETED_BY_AUTHOR, PostStatus.LIVE)


def test_other_instances_ids_are_left_undecided(fake, world):
    status = world.add_status(world.add_account("alice"), "acme")
    source = make_source(fake)
    result = source.lookup(
        [PostRef(f"{status.id}@elsewhere.example", "1@elsewhere.example"), ref(source, status)]
    )
    assert [o.native_id for o in result.observations] == [native(source, status)]


def test_batch_lookup_uses_the_platform_minimum_of_calls(fake, world):
    authors = [world.add_account(f"user{i}") for i in range(30)]
    made = [world.add_status(authors[i % 30], f"acme {i}") for i in range(250)]
    for status in made[::25]:  # 10 posts by 10 distinct authors go missing
        status.deleted = True
    missing_authors = {s.account.id for s in made if s.deleted}
    source = make_source(fake)

    result = source.lookup([ref(source, s) for s in made])

    assert result.calls == math.ceil(250 / 20) + math.ceil(len(missing_authors) / 40)
    assert len(fake.calls()) == result.calls
    assert len(fake.calls("/api/v1/statuses")) == 13
    assert all(len(c.query["id[]"]) <= 20 for c in fake.calls("/api/v1/statuses"))
    assert Counter(o.status for o in result.observations) == {
        PostStatus.LIVE: 240,
        PostStatus.DELETED_BY_AUTHOR: 10,
    }


def test_pre_4_3_server_falls_back_to_single_calls_and_remembers(world):
    server = FakeMastodon(world, legacy=True)
    with server.running():
        authors = [world.add_account(f"user{i}") for i in range(4)]
        made = [world.add_status(authors[i % 4], f"acme {i}") for i in range(30)]
        made[0].deleted = made[1].deleted = made[5].deleted = True  # authors 0 and 1
        state: dict[str, str] = {}
        source = make_source(server, state=state, author_cache_s=0)
        refs = [ref(source, s) for s in made]

        first = source.lookup(refs)
        again = source.lookup(refs)
        restarted = make_source(server, state=state, author_cache_s=0).lookup(refs)

        assert first.calls == 1 + 30 + 2  # one probe of the batch route, then one call per post and author
        assert again.calls == restarted.calls == 30 + 2
        assert len(server.calls("/api/v1/statuses/")) == 90
        assert Counter(o.status for o in restarted.observations) == {
            PostStatus.LIVE: 27,
            PostStatus.DELETED_BY_AUTHOR: 3,
        }


def test_authors_are_cached_across_lookup_calls(fake, world):
    author = world.add_account("alice")
    made = [world.add_status(author, f"acme {i}") for i in range(3)]
    for status in made:
        status.deleted = True
    source = make_source(fake)
    source.lookup([ref(source, made[0])])
    source.lookup([ref(source, made[1])])
    assert len(fake.calls("/api/v1/accounts")) == 1
    uncached = make_source(fake, author_cache_s=0)
    uncached.lookup([ref(uncached, made[0])])
    uncached.lookup([ref(uncached, made[1])])
    assert len(fake.calls("/api/v1/accounts")) == 3


def test_failed_version_check_is_one_transient_error_not_a_request_storm(fake, world):
    """Mastodon.py's own check before ``search_v2`` recurses when the instance endpoint fails."""
    source = make_source(fake)
    fake.fail_next("/api/v1/instance", Reply(503, {"error": "maintenance"}))
    with pytest.raises(TransientError, match="503"):
        source.search(ACME, None)
    assert len(fake.calls()) == 1
    sweep(source)  # the check is retried, and passes, on the next run
