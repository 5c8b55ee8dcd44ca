"""Collection throughput: posts per second from a platform fake into a fresh SQLite file, end to end.

For each platform a fake server on 127.0.0.1 (in this process) holds N posts (default 10,000) that mention
the brand. Three runs, each from scratch, in the same process and with the same fake:

* ``search only``: the adapter's own ``search`` loop until ``exhausted``, nothing stored (HTTP, JSON,
  mapping to ``Mention``: the floor the pipeline cannot go below);
* ``pipeline``: ``Pipeline.collect`` into a fresh, migrated SQLite file (no classification): search, rows,
  insert, cursor and source health per page, one transaction per page;
* ``executemany``: the very rows the pipeline built, inserted page by page into another fresh file with one
  ``INSERT`` executemany and one commit per page: the floor of the storage side.

Printed: posts/s of each, the pipeline against the search-only loop, and the pipeline's overhead over
search (its time minus the search-only time) against the executemany time. ``--profile`` prints the top
functions of the pipeline run (cProfile, cumulative).

    .venv/bin/python bench/collect_throughput.py [--posts 10000] [--platform twitter --platform bluesky]

The default is X, whose fake serves a page in O(page) (bisect on ids). ``--platform bluesky`` and
``--platform mastodon`` work too, but their fakes filter and sort the whole world on every search page, so
at 10,000 posts the fake, not the pipeline, sets the pace (compare "search only"). Reddit is left out: its
listings stop at 1,000 items.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fakes live in tests/

from sqlalchemy import func, insert, select

from collectors.base import BrandQuery, Page, Source, SourceSpec
from collectors.registry import build_source
from monitor.config import Config, from_settings, parse_settings
from monitor.pipeline import Pipeline
from monitor.store import Store
from monitor.store.models import Mention as MentionRow
from tests.fakes.bluesky import BlueskyWorld, FakeBluesky
from tests.fakes.mastodon import FakeMastodon, MastodonWorld
from tests.fakes.server import FakeServer
from tests.fakes.twitter import FakeX

BRAND = "acme"
TEXT = "acme lost my parcel again"
BSKY_HANDLE, BSKY_PASSWORD = "bench.bsky.social", "app-pass-word"


@dataclass
class Scenario:
    """An unstarted fake holding the posts, and how to configure a source against it."""

    server: FakeServer
    platform: str
    secrets: dict[str, str]
    options: Callable[[str], dict[str, Any]]  # the fake's URL → source options


def twitter_scenario(posts: int) -> Scenario:
    fake = FakeX()
    fake.populate(posts, authors=max(posts // 5, 1), text=TEXT)
    return Scenario(fake, "twitter", {"bearer_token": fake.bearer_token}, lambda url: {"max_results": 100})


def bluesky_scenario(posts: int) -> Scenario:
    world = BlueskyWorld()
    world.add_actor(BSKY_HANDLE, BSKY_PASSWORD)
    world.generate(posts, authors=max(posts // 5, 1), text=TEXT)
    fake = FakeBluesky(world, rate_limit=10**9)
    secrets = {"handle": BSKY_HANDLE, "app_password": BSKY_PASSWORD}
    return Scenario(fake, "bluesky", secrets, lambda url: {"appview_url": url, "page_size": 100})


def mastodon_scenario(posts: int) -> Scenario:
    world = MastodonWorld()
    world.generate(posts, authors=max(posts // 5, 1), text=TEXT)
    fake = FakeMastodon(world, rate_limit=10**9)
    return Scenario(fake, "mastodon", {"access_token": "good-token"}, lambda url: {"page_size": 40})


SCENARIOS: dict[str, Callable[[int], Scenario]] = {
    "twitter": twitter_scenario,
    "bluesky": bluesky_scenario,
    "mastodon": mastodon_scenario,
}


@dataclass
class Timing:
    """Wall seconds, and CPU seconds of this process (the fake's thread included)."""

    posts: int
    seconds: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.posts / self.seconds if self.seconds else float("nan")

    @property
    def cpu_rate(self) -> float:
        return self.posts / self.cpu if self.cpu else float("nan")


class Stopwatch:
    """Wall and process CPU time from creation to ``timing``."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def timing(self, posts: int) -> Timing:
        return Timing(posts, time.perf_counter() - self.wall, time.process_time() - self.cpu)


# -- the three runs --------------------------------------------------------------------------


def search_only(scenario: Scenario, url: str) -> Timing:
    """The adapter's search loop, nothing stored."""
    spec = SourceSpec("bench", scenario.platform, BRAND, url, scenario.options(url), scenario.secrets, {})
    source: Source = build_source(spec)
    query = BrandQuery(BRAND, (BRAND,))
    cursor: str | None = None
    received = 0
    watch = Stopwatch()
    while True:
        page: Page = source.search(query, cursor)
        received += len(page.mentions)
        cursor = page.next_cursor
        if page.exhausted:
            break
    return watch.timing(received)


class RecordingPipeline(Pipeline):
    """The pipeline, keeping each page it stored (a list append) for the executemany run."""

    pages: list[tuple[Any, str, Page]]

    def _store_page(self, settings: Any, brand: str, page: Page, first: bool = True) -> int:
        self.pages.append((settings, brand, page))
        return super()._store_page(settings, brand, page, first)

    def page_rows(self) -> list[list[dict]]:
        """The rows the pipeline builds for each page, built again outside the timed run."""
        now = self.clock()
        return [self._mention_rows(settings.name, brand, page, now) for settings, brand, page in self.pages]


def pipeline_run(
    scenario: Scenario, url: str, folder: Path, profile: bool
) -> tuple[Timing, list[list[dict]]]:
    """``Pipeline.collect`` into a fresh SQLite file; returns its timing and the rows of every page."""
    store = _fresh_store(folder / "pipeline.db")
    config = _config(scenario, url, store.url)
    pipeline = RecordingPipeline(config, store)
    pipeline.pages = []
    profiler = cProfile.Profile() if profile else None
    watch = Stopwatch()
    if profiler:
        profiler.enable()
    stats = pipeline.collect("bench")
    if profiler:
        profiler.disable()
    timing = watch.timing(stats.received)
    stored = _count(store)
    store.dispose()
    if stats.skipped or stored != stats.received:
        raise SystemExit(f"pipeline run went wrong: {stats}; {stored} rows stored")
    if profiler:
        _print_profile(profiler)
    return timing, pipeline.page_rows()


def executemany_run(pages: list[list[dict]], folder: Path) -> Timing:
    """The pipeline's rows, one INSERT executemany and one commit per page, into a fresh file."""
    store = _fresh_store(folder / "executemany.db")
    statement = insert(MentionRow)
    watch = Stopwatch()
    for rows in pages:
        if rows:
            with store.engine.begin() as connection:
                connection.execute(statement, rows)
    timing = watch.timing(sum(len(rows) for rows in pages))
    if _count(store) != timing.posts:
        raise SystemExit("executemany run went wrong")
    store.dispose()
    return timing


# -- helpers ---------------------------------------------------------------------------------


def _fresh_store(path: Path) -> Store:
    store = Store(f"sqlite:///{path}")
    store.upgrade()
    return store


def _config(scenario: Scenario, url: str, database_url: str) -> Config:
    settings = parse_settings(
        {
            "scheduler": {"pages_per_run": 100_000},
            "brands": [{"name": BRAND, "terms": [BRAND]}],
            "sources": [
                {
                    "name": "bench",
                    "platform": scenario.platform,
                    "api_base_url": url,
                    "options": scenario.options(url),
                }
            ],
        }
    )
    return from_settings(settings, database_url, secrets={"bench": scenario.secrets})


def _count(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(MentionRow)) or 0


def _print_profile(profiler: cProfile.Profile) -> None:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    print(out.getvalue())


@contextmanager
def _served(scenario: Scenario) -> Iterator[str]:
    with scenario.server.running() as server:
        yield server.url


def measure(platform: str, posts: int, profile: bool) -> list[str]:
    scenario = SCENARIOS[platform](posts)
    with tempfile.TemporaryDirectory(prefix="collect-bench-") as tmp, _served(scenario) as url:
        folder = Path(tmp)
        raw = search_only(scenario, url)
        end_to_end, pages = pipeline_run(scenario, url, folder, profile)
        floor = executemany_run(pages, folder)
    overhead = Timing(end_to_end.posts, end_to_end.seconds - raw.seconds, end_to_end.cpu - raw.cpu)
    return [
        _line(platform, "search only", raw),
        _line(platform, "pipeline", end_to_end)
        + f"   {end_to_end.rate / raw.rate:.2f}x / {end_to_end.cpu_rate / raw.cpu_rate:.2f}x search only",
        _line(platform, "executemany", floor),
        f"{platform:<9} {'pipeline - search':<17} {overhead.seconds:6.2f} s {overhead.cpu:6.2f} s   "
        f"{overhead.seconds / floor.seconds:.2f}x / {overhead.cpu / floor.cpu:.2f}x the executemany time",
    ]


def _line(platform: str, what: str, timing: Timing) -> str:
    return (
        f"{platform:<9} {what:<17} {timing.seconds:6.2f} s {timing.cpu:6.2f} s "
        f"{timing.rate:8.0f} {timing.cpu_rate:8.0f}  ({timing.posts} posts)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--posts", type=int, default=10_000, help="posts in each fake's world")
    parser.add_argument(
        "--platform", action="append", choices=sorted(SCENARIOS), help="repeatable; default twitter"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the pipeline run")
    args = parser.parse_args(argv)
    print(f"collect throughput, {args.posts:,} posts, fresh SQLite file, fake in this process")
    print("target: pipeline >= 2,000 posts/s end to end; CPU = this process's CPU time (fake included)")
    print(f"{'platform':<9} {'run':<17} {'wall':>8} {'CPU':>8} {'posts/s':>8} {'per CPU s':>8}")
    for platform in args.platform or ["twitter"]:
        for line in measure(platform, args.posts, args.profile):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
