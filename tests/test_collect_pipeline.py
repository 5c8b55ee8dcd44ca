"""The four platform adapters through the real pipeline: ``Pipeline(config, store)`` against the fakes.

Each test runs once per platform (real tweepy, praw, Mastodon.py and atproto against the fakes on
127.0.0.1) and on the test database (SQLite, or PostgreSQL with ``COMPLAINTWATCH_TEST_DATABASE_URL``).
What is checked is what the "Platform collectors" issue demands of the pipeline: every post stored
once across pages and crashes, a 429 pauses only its source until the reset, a 5xx backs off, a refused
credential marks the source failing where ``status`` shows it, the monthly read budget holds, and a
re-check stores each status of the vocabulary (or, on a 429, changes nothing).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fakes.mastodon import FakeMastodon
from fakes.server import Reply
from fakes.twitter import TWEETS, FakeX, Window
from platform_worlds import BRAND, PAGE_SIZE, PLATFORMS, World, other_platform, running
from sqlalchemy import func, select

from collectors.base import Mention, Page
from monitor import status_report
from monitor.config import Config, from_settings, parse_settings
from monitor.pipeline import Pipeline, insert_mentions
from monitor.store import Store
from monitor.store.models import CoverageGap, Cursor, SourceHealth, StatusCheck
from monitor.store.models import Mention as MentionRow

SOURCE = "main"
OTHER = "other"


@dataclass
class Clock:
    """The pipeline's clock: stands still at the test's start until the test moves it forward."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(params=PLATFORMS)
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    with running(request.param) as served:
        yield served


@pytest.fixture
def other(world: World) -> Iterator[World]:
    """A second platform, configured beside the first in the same config."""
    with running(other_platform(world.platform)) as served:
        yield served


def make_config(
    store: Store,
    world: World,
    other: World | None = None,
    *,
    secrets: dict[str, str] | None = None,
    **overrides: Any,
) -> Config:
    """A config with ``world`` as source ``main`` (and ``other`` as ``other``), built in code."""
    sources = [{**world.source_table(SOURCE), **overrides}]
    all_secrets = {SOURCE: world.secrets() if secrets is None else secrets}
    if other is not None:
        sources.append(other.source_table(OTHER))
        all_secrets[OTHER] = other.secrets()
    settings = parse_settings({"brands": [{"name": BRAND, "terms": [BRAND]}], "sources": sources})
    return from_settings(settings, store.url, secrets=all_secrets)


def stored_ids(store: Store, source: str = SOURCE) -> list[str]:
    with store.session() as session:
        return list(session.scalars(select(MentionRow.native_id).where(MentionRow.source == source)))


def health_row(store: Store, source: str = SOURCE) -> SourceHealth:
    with store.session() as session:
        row = session.get(SourceHealth, source)
        assert row is not None, f"no health row for {source}"
        return row


def gaps(store: Store, source: str = SOURCE, kind: str = "collect") -> list[CoverageGap]:
    with store.session() as session:
        query = select(CoverageGap).where(CoverageGap.source == source, CoverageGap.kind == kind)
        return list(session.scalars(query.order_by(CoverageGap.id)))


def mentions_by_id(store: Store) -> dict[str, MentionRow]:
    with store.session() as session:
        return {m.native_id: m for m in session.scalars(select(MentionRow))}


def report(store: Store, config: Config) -> dict[str, Any]:
    with store.session() as session:
        return status_report.build(session, config)


def source_entry(built: dict[str, Any], source: str = SOURCE) -> dict[str, Any]:
    return next(s for s in built["sources"] if s["source"] == source)


def whole_second_after(seconds: float) -> datetime:
    """A reset time on a whole second, at least ``seconds`` from now (epoch headers hold whole seconds)."""
    return datetime.fromtimestamp(math.ceil(time.time() + seconds), UTC)


# -- collect ---------------------------------------------------------------------------------


def test_collect_over_several_pages_stores_every_post_once(world: World, store: Store) -> None:
    posts = world.populate(3 * PAGE_SIZE + 5)
    pipeline = Pipeline(make_config(store, world), store)

    stats = pipeline.collect(SOURCE)

    assert stats.pages >= 4, stats
    assert (stats.received, stats.stored) == (len(posts), len(posts)), stats
    ids = stored_ids(store)
    assert sorted(ids) == sorted(posts)
    row = health_row(store)
    assert (row.state, row.reads_this_month, row.calls_this_month) == ("ok", len(posts), stats.pages)
    # The next run reads nothing twice: each adapter's cursor starts where the sweep ended.
    again = pipeline.collect(SOURCE)
    assert (again.received, again.stored) == (0, 0), again


def test_a_crash_between_pages_neither_duplicates_nor_skips(world: World, store: Store) -> None:
    posts = world.populate(3 * PAGE_SIZE + 5)
    config = make_config(store, world)

    first = Pipeline(config, store).collect(SOURCE, max_pages=1)  # then the process dies
    assert (first.pages, first.stored) == (1, PAGE_SIZE), first
    posts += world.populate(3)  # posts keep arriving while the collector is down
    resumed = Pipeline(config, store)  # a new process: new adapters, state from the database only
    rest = resumed.collect(SOURCE)
    late = resumed.collect(SOURCE)

    ids = stored_ids(store)
    assert sorted(ids) == sorted(posts), "a post was skipped or stored twice"
    # No post was read twice either (X bills every read).
    assert first.received + rest.received + late.received == len(posts), (first, rest, late)


def test_mastodon_posts_arriving_in_the_second_being_paged_do_not_stall_the_sweep(store: Store) -> None:
    """Search pages inside one second by ``offset``; posts arriving there shift it (this once looped)."""
    with running("mastodon") as world:
        assert isinstance(world.fake, FakeMastodon)
        instance = world.fake.world
        second = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)

        def add(count: int, at_ms: int) -> list[str]:
            made = [
                instance.add_status(
                    instance.add_account(f"u{at_ms}_{i}"),
                    world.text(),
                    second + timedelta(milliseconds=at_ms + i),
                )
                for i in range(count)
            ]
            return [world.native_id(status) for status in made]

        posts = add(3 * PAGE_SIZE + 5, 0)
        config = make_config(store, world)
        first = Pipeline(config, store).collect(SOURCE, max_pages=1)
        posts += add(3, 900)  # newer than every post so far, inside the second the sweep pages
        resumed = Pipeline(config, store)
        rest, late = resumed.collect(SOURCE), resumed.collect(SOURCE)

        assert sorted(stored_ids(store)) == sorted(posts)
        assert first.received + rest.received + late.received == len(posts)
        # Pages of 10 (the next sweep re-reads the shared second), not a stall until the rate limit.
        assert rest.pages + late.pages <= 12, (rest, late)
        assert health_row(store).state == "ok"


def test_a_429_pauses_only_that_source_until_the_reset(world: World, other: World, store: Store) -> None:
    posts, other_posts = world.populate(PAGE_SIZE + 5), other.populate(5)
    config = make_config(store, world, other)
    pipeline = Pipeline(config, store)
    reset = whole_second_after(1.5)
    world.fail_search(world.rate_limit_reply(reset))

    paused, beside = pipeline.collect_all()

    assert (paused.pages, paused.received) == (0, 0), paused
    assert beside.received == len(other_posts), "the other source must collect in the same run"
    row = health_row(store)
    assert row.state == "paused"
    assert row.paused_until is not None
    assert abs((row.paused_until - reset).total_seconds()) <= world.reset_tolerance_s, (
        row.paused_until,
        reset,
    )
    assert [g.ended_at for g in gaps(store)] == [None]
    assert gaps(store, OTHER) == []
    built = report(store, config)
    assert source_entry(built)["state"] == "paused"
    assert [g["source"] for g in built["open_gaps"]] == [SOURCE]
    just_before = row.paused_until - timedelta(seconds=0.5)  # however slow this machine: before the reset
    assert "paused until" in Pipeline(config, store, clock=lambda: just_before).collect(SOURCE).skipped

    time.sleep(max((row.paused_until - datetime.now(UTC)).total_seconds(), 0) + 0.1)
    after = pipeline.collect(SOURCE)  # the same process, after the reset

    assert after.received == len(posts), after
    assert sorted(stored_ids(store)) == sorted(posts)
    assert health_row(store).state == "ok"
    (gap,) = gaps(store)
    assert gap.ended_at is not None and "rate limited" in gap.reason


def test_a_server_error_backs_off_then_the_next_run_succeeds(world: World, store: Store) -> None:
    posts = world.populate(PAGE_SIZE + 5)
    clock = Clock()
    pipeline = Pipeline(make_config(store, world), store, clock=clock)
    world.fail_search(Reply(503, {"error": "Service Unavailable"}))

    failed = pipeline.collect(SOURCE)

    assert (failed.pages, failed.received) == (0, 0), failed
    row = health_row(store)
    assert (row.state, row.failures) == ("backoff", 1)
    assert row.paused_until is not None and row.paused_until > clock()
    assert "backoff until" in pipeline.collect(SOURCE).skipped  # no retry before the back-off ends
    assert len(gaps(store)) == 1

    clock.advance((row.paused_until - clock()).total_seconds() + 1)
    after = pipeline.collect(SOURCE)

    assert after.received == len(posts), after
    assert sorted(stored_ids(store)) == sorted(posts)
    row = health_row(store)
    assert (row.state, row.failures, row.paused_until) == ("ok", 0, None)
    assert [g.ended_at is not None for g in gaps(store)] == [True]


def test_a_refused_credential_marks_the_source_failing_and_the_others_go_on(
    world: World, other: World, store: Store
) -> None:
    world.populate(3)
    other_posts = other.populate(4)
    config = make_config(store, world, other, secrets=world.wrong_secrets())

    failing, beside = Pipeline(config, store).collect_all()

    assert failing.received == 0 and beside.received == len(other_posts)
    row = health_row(store)
    assert row.state == "failing"
    assert world.platform in row.message and ("401" in row.message or "refused" in row.message), row.message
    built = report(store, config)
    entry = source_entry(built)
    assert (entry["state"], entry["message"]) == ("failing", row.message)
    assert source_entry(built, OTHER)["state"] == "ok"
    (gap,) = built["open_gaps"]
    assert (gap["source"], gap["kind"]) == (SOURCE, "collect") and row.message in gap["reason"]
    text = status_report.render(built)
    assert f"{SOURCE}" in text and "failing" in text and row.message in text
    # Retrying at once cannot help: the source waits until the config changes or the cap passes.
    assert "failing until" in Pipeline(config, store).collect(SOURCE).skipped


def test_the_monthly_read_budget_stops_the_source_and_status_shows_the_use(
    world: World, store: Store
) -> None:
    world.populate(3 * PAGE_SIZE + 5)
    budget = 2 * PAGE_SIZE
    config = make_config(store, world, monthly_read_budget=budget)
    pipeline = Pipeline(config, store)

    stats = pipeline.collect(SOURCE)

    assert (stats.reads, stats.stored) == (budget, budget), stats
    assert "budget" in stats.stopped
    assert len(stored_ids(store)) == budget
    assert "monthly read budget of 20 posts used up" in pipeline.collect(SOURCE).skipped
    built = report(store, config)
    entry = source_entry(built)
    assert (entry["reads_this_month"], entry["monthly_read_budget"]) == (budget, budget)
    assert f"reads this month {budget}/{budget}" in status_report.render(built)
    assert [g["reason"] for g in built["open_gaps"]] == [f"monthly read budget of {budget} posts used up"]


def test_a_page_counts_only_rows_it_inserted_and_stores_its_cursor_with_them(store: Store) -> None:
    settings = parse_settings(
        {"brands": [{"name": BRAND}], "sources": [{"name": SOURCE, "platform": "replay"}]}
    )
    pipeline = Pipeline(from_settings(settings, store.url), store)
    now = datetime.now(UTC)

    def mention(native_id: str) -> Mention:
        return Mention("replay", native_id, "a1", "someone", f"{BRAND} {native_id}", "https://x", now)

    first = Page([mention("1"), mention("2"), mention("2")], next_cursor="c1", exhausted=False)
    again = Page([mention("2"), mention("3")], next_cursor="c2")

    assert pipeline._store_page(pipeline.config.source(SOURCE), BRAND, first) == 2  # "2" twice in a page
    assert pipeline._store_page(pipeline.config.source(SOURCE), BRAND, again) == 1  # "2" already stored
    assert sorted(stored_ids(store)) == ["1", "2", "3"]
    with store.session() as session:
        assert insert_mentions(session, []) == 0
        cursor = session.get(Cursor, (SOURCE, BRAND))
        assert cursor is not None and cursor.cursor == "c2"


# -- re-check --------------------------------------------------------------------------------


def test_recheck_stores_every_status_the_platform_expresses(world: World, store: Store) -> None:
    changes = world.changes()
    posts = {change.name: world.post() for change in changes}
    restored = world.post()
    clock = Clock()
    pipeline = Pipeline(make_config(store, world), store, clock=clock)
    assert pipeline.collect(SOURCE).stored == len(posts) + 1
    world.delete(restored)
    for change in changes:
        change.apply(posts[change.name])

    clock.advance(60)
    stats = pipeline.recheck(everything=True)

    assert (stats.checked, stats.undecided, stats.skipped) == (len(posts) + 1, 0, []), stats
    stored = mentions_by_id(store)
    for change in changes:
        mention = stored[world.native_id(posts[change.name])]
        assert (mention.post_status, mention.author_status) == (change.post_status, change.author_status), (
            change.name
        )
        assert mention.last_checked_at == clock(), change.name
        assert latest_check(store, mention.id).status == (change.observed or change.post_status), change.name
    assert stored[world.native_id(restored)].post_status == "deleted_by_author"

    world.undelete(restored)
    clock.advance(60)
    pipeline.recheck(everything=True)

    mention = mentions_by_id(store)[world.native_id(restored)]
    assert mention.post_status == "restored"
    assert latest_check(store, mention.id).status == "live"  # the platform says live; the log says restored


def latest_check(store: Store, mention_id: int) -> StatusCheck:
    with store.session() as session:
        query = (
            select(StatusCheck).where(StatusCheck.mention_id == mention_id).order_by(StatusCheck.id.desc())
        )
        check = session.scalars(query.limit(1)).first()
        assert check is not None, f"mention {mention_id} was never checked"
        return check


def test_a_429_during_recheck_leaves_the_posts_not_checked_since(world: World, store: Store) -> None:
    world.post()
    deleted = world.post()
    clock = Clock()
    pipeline = Pipeline(make_config(store, world), store, clock=clock)
    pipeline.collect(SOURCE)
    first = pipeline.recheck(everything=True)
    assert first.checked == 2, first
    before = check_state(store)
    checks_before = count_checks(store)
    world.delete(deleted)
    reset = whole_second_after(60)
    world.fail_lookup(world.rate_limit_reply(reset))

    clock.advance(1)
    stats = pipeline.recheck(everything=True)

    assert stats.checked == 0 and stats.skipped and SOURCE in stats.skipped[0], stats
    after = check_state(store)
    assert after == before, "a 429 must change no status and no 'last checked' time"
    assert after[world.native_id(deleted)][0] == "live"  # not seen gone: not checked since, not deleted
    assert count_checks(store) == checks_before
    row = health_row(store)
    assert row.state == "paused"
    assert row.paused_until is not None
    assert abs((row.paused_until - reset).total_seconds()) <= world.reset_tolerance_s
    assert [g.ended_at for g in gaps(store, kind="recheck")] == [None]


@pytest.mark.parametrize("platform", ["twitter", "mastodon"])
def test_a_rate_limit_inside_a_lookup_chunk_keeps_what_was_decided(platform: str, store: Store) -> None:
    with running(platform) as world:
        pipeline = Pipeline(make_config(store, world), store)
        source = pipeline.source(SOURCE)
        batch, chunk = source.lookup_batch, getattr(source, "lookup_chunk", 0)
        posts = world.populate(batch + batch // 2)
        assert chunk > len(posts), "the pipeline hands all these posts to one lookup call"
        pipeline.collect(SOURCE)
        leave_one_call(world)  # the first status call spends the window; the adapter stops before a 429

        stats = pipeline.recheck(everything=True)

        assert (stats.checked, stats.undecided) == (batch, len(posts) - batch), stats
        checked = [m for m in mentions_by_id(store).values() if m.last_checked_at is not None]
        assert len(checked) == batch
        later = pipeline.recheck(everything=True)  # the spent window is known: no call, the source pauses
        assert later.checked == 0 and later.skipped, later
        assert health_row(store).state == "paused"
        assert [g.ended_at for g in gaps(store, kind="recheck")] == [None]


def leave_one_call(world: World) -> None:
    """Let the platform answer one more call in this window (its headers then say 0 remain)."""
    if isinstance(world.fake, FakeX):
        world.fake.windows[TWEETS] = Window(3500, 1, int(time.time()) + 60)
    elif isinstance(world.fake, FakeMastodon):
        world.fake.remaining = 1
    else:
        raise AssertionError(f"no window to spend on {world.platform}")


def check_state(store: Store) -> dict[str, tuple[str, datetime | None, int]]:
    """Per post: its status, when it was last checked, how often."""
    return {n: (m.post_status, m.last_checked_at, m.check_count) for n, m in mentions_by_id(store).items()}


def count_checks(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(StatusCheck)) or 0


def test_x_rechecks_count_each_billed_post_once_a_day_and_stop_at_the_budget(store: Store) -> None:
    with running("twitter") as world:
        deleted = world.post()
        world.populate(4)
        clock = Clock(now=datetime.now(UTC).replace(day=1, hour=10, minute=0, second=0, microsecond=0))
        config = make_config(store, world, monthly_read_budget=12)
        pipeline = Pipeline(config, store, clock=clock)
        assert pipeline.collect(SOURCE).reads == 5

        assert pipeline.recheck(everything=True).checked == 5
        assert health_row(store).reads_this_month == 5, "X does not bill a post twice on one UTC day"
        world.delete(deleted)
        clock.advance(24 * 3600)
        pipeline.recheck(everything=True)
        assert health_row(store).reads_this_month == 9, "the four live posts are billed; the deleted one not"
        clock.advance(60)
        pipeline.recheck(everything=True)
        assert health_row(store).reads_this_month == 9

        clock.advance(24 * 3600)
        pipeline.recheck(everything=True)  # 3 reads left: checked before the call, so one chunk overshoots
        assert health_row(store).reads_this_month == 13
        clock.advance(24 * 3600)
        stats = pipeline.recheck(everything=True)
        assert stats.checked == 0 and stats.skipped == [f"{SOURCE}: monthly read budget of 12 posts used up"]
        assert [g.ended_at for g in gaps(store, kind="recheck")] == [None]


def test_rechecks_the_platform_does_not_bill_ignore_the_read_budget(store: Store) -> None:
    with running("mastodon") as world:
        world.populate(3)
        pipeline = Pipeline(make_config(store, world, monthly_read_budget=3), store)
        pipeline.collect(SOURCE)
        assert health_row(store).reads_this_month == 3
        assert pipeline.recheck(everything=True).checked == 3
        assert health_row(store).reads_this_month == 3
