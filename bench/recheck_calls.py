"""Re-check cost per platform: HTTP calls an adapter makes against the platform's minimum.

For every platform in ``SCENARIOS``, a fake server holds a world of N posts (default 10,000) with a realistic
share gone (deleted, removed, suspended authors). The adapter's ``lookup`` runs over all of them twice:

* ``per batch``: in slices of ``source.lookup_batch`` (the platform's ids per status call);
* ``pipeline``: in slices of ``lookup_chunk`` (default ``lookup_batch``), exactly as ``Pipeline`` calls it;
* ``one call``: every ref in one ``lookup`` (the adapter batches inside), the best the interface allows.

Each line prints the calls counted at the fake (token/session calls apart: they are amortised), the minimum
from docs/platforms.md §5 computed from the world's ground truth, their ratio, and whether the adapter's own
``LookupResult.calls`` agreed with what the fake saw.

    .venv/bin/python bench/recheck_calls.py [--posts 10000] [--platform twitter] [--mode pipeline]

Adding a platform: write ``def <platform>_scenario(posts: int, rng: random.Random) -> Scenario`` (an
unstarted fake with its world, a source factory, the refs, the minimum and its formula) and add it to
``SCENARIOS``.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fakes live in tests/

from collectors.base import PostRef, Source, SourceSpec
from collectors.bluesky import build as build_bluesky
from collectors.mastodon import build as build_mastodon
from collectors.reddit import build as build_reddit
from collectors.twitter import build as build_twitter
from tests.fakes.bluesky import BlueskyWorld, FakeBluesky
from tests.fakes.mastodon import FakeMastodon, MastodonWorld
from tests.fakes.reddit import FakeReddit
from tests.fakes.server import FakeServer, Request
from tests.fakes.twitter import FakeX

DELETED_SHARE = 0.05  # posts gone (split per platform below)
SUSPENDED_AUTHOR_SHARE = 0.01
POSTS_PER_AUTHOR = 5


@dataclass
class Scenario:
    server: FakeServer  # not started yet
    make_source: Callable[[str], Source]  # the fake's URL → a fresh adapter
    refs: list[PostRef]
    minimum: int  # the platform's minimum calls for these refs
    formula: str
    amortised: Callable[[Request], bool] = lambda request: False  # token or session calls


@dataclass
class Row:
    platform: str
    mode: str
    posts: int
    calls: int
    amortised: int
    minimum: int
    formula: str
    reported_ok: bool
    seconds: float
    slice_size: int

    def line(self) -> str:
        ratio = self.calls / self.minimum if self.minimum else float("nan")
        agreed = "yes" if self.reported_ok else "NO"
        return (
            f"{self.platform:<9} {self.mode:<9} {self.slice_size:>6} {self.posts:>6} {self.calls:>6} "
            f"{self.amortised:>6} {self.minimum:>7} {ratio:>6.2f}  {agreed:<8} {self.seconds:>5.1f}s  "
            f"{self.formula}"
        )


HEADER = (
    f"{'platform':<9} {'mode':<9} {'slice':>6} {'posts':>6} {'calls':>6} {'token':>6} {'minimum':>7} "
    f"{'ratio':>6}  {'reported':<8} {'time':>6}  minimum formula"
)
#: How ``lookup`` is called: slice size from the adapter (or None: every ref at once).
MODES: dict[str, Callable[[Source], int | None]] = {
    "per batch": lambda source: source.lookup_batch,
    "pipeline": lambda source: getattr(source, "lookup_chunk", source.lookup_batch),
    "one call": lambda source: None,
}


# -- scenarios -------------------------------------------------------------------------------


def twitter_scenario(posts: int, rng: random.Random) -> Scenario:
    """X: 5% of posts deleted, 1% of authors suspended (their posts answer Authorization Error)."""
    fake = FakeX()
    tweets = fake.populate(posts, authors=max(posts // POSTS_PER_AUTHOR, 1), seed=rng.randrange(1 << 30))
    for tweet in rng.sample(tweets, int(posts * DELETED_SHARE)):
        tweet.deleted = True
    for user in rng.sample(list(fake.users.values()), int(len(fake.users) * SUSPENDED_AUTHOR_SHARE)):
        user.state = "suspended"
    errored_authors = {t.author.id for t in tweets if not fake.visible(t)}
    minimum = math.ceil(posts / 100) + math.ceil(len(errored_authors) / 100)
    return Scenario(
        server=fake,
        make_source=lambda url: build_twitter(_spec("twitter", url, {"bearer_token": fake.bearer_token})),
        refs=[PostRef(t.id, t.author.id, t.author.username) for t in tweets],
        minimum=minimum,
        formula=f"ceil(N/100) + ceil(U(E)/100), U(E) = {len(errored_authors)}",
    )


def reddit_scenario(posts: int, rng: random.Random) -> Scenario:
    """Reddit: 3% deleted by their authors, 2% removed (mods, spam filter), 1% of authors suspended."""
    fake = FakeReddit()
    things = fake.populate(posts, authors=max(posts // POSTS_PER_AUTHOR, 1), seed=rng.randrange(1 << 30))
    gone = rng.sample(things, int(posts * DELETED_SHARE))
    split = len(gone) * 3 // 5
    for thing in gone[:split]:
        thing.removal = "deleted"
    for thing in gone[split:]:
        thing.removal = "spam" if thing.kind == "t1" else "moderator"
    for account in rng.sample(list(fake.accounts.values()), int(len(fake.accounts) * SUSPENDED_AUTHOR_SHARE)):
        account.state = "suspended"
    # check_authors = "missing": authors of things absent or removed (not deleted by their authors).
    checked = {t.author.name.lower() for t in gone[split:]}
    secrets = {"client_id": fake.client_id, "client_secret": fake.client_secret}
    return Scenario(
        server=fake,
        make_source=lambda url: build_reddit(_spec("reddit", url, secrets)),
        refs=[PostRef(t.fullname, t.author.fullname, t.author.name) for t in things],
        minimum=math.ceil(posts / 100) + len(checked),
        formula=f"ceil(N/100) + U_checked, U_checked = {len(checked)}",
        amortised=lambda request: request.path == "/api/v1/access_token",
    )


def mastodon_scenario(posts: int, rng: random.Random) -> Scenario:
    """Mastodon 4.3+: 5% deleted (author or moderator), 1% of authors suspended; one instance."""
    world = MastodonWorld()
    statuses = world.generate(posts, authors=max(posts // POSTS_PER_AUTHOR, 1))
    for status in rng.sample(statuses, int(posts * DELETED_SHARE)):
        status.deleted = True
    accounts = list(world.accounts.values())
    for account in rng.sample(accounts, int(len(accounts) * SUSPENDED_AUTHOR_SHARE)):
        account.suspended = True
    missing_authors = {s.account.id for s in statuses if not world.visible(s)}
    fake = FakeMastodon(world, rate_limit=10**9)  # the bench counts calls; it does not wait out windows
    instance = "mastodon.example"  # the source's name for the instance, fixed before the fake has a port
    secrets, options = {"access_token": "good-token"}, {"instance": instance}
    return Scenario(
        server=fake,
        make_source=lambda url: build_mastodon(_spec("mastodon", url, secrets, options)),
        refs=[PostRef(f"{s.id}@{instance}", f"{s.account.id}@{instance}") for s in statuses],
        minimum=math.ceil(posts / 20) + math.ceil(len(missing_authors) / 40),
        formula=f"ceil(N/20) + ceil(U(E)/40), U(E) = {len(missing_authors)}",
    )


def bluesky_scenario(posts: int, rng: random.Random) -> Scenario:
    """Bluesky: 5% deleted by their authors, 1% of authors taken down; re-checked on the AppView."""
    world = BlueskyWorld()
    made = world.generate(posts, authors=max(posts // POSTS_PER_AUTHOR, 1))
    for post in rng.sample(made, int(posts * DELETED_SHARE)):
        post.deleted = True
    for actor in rng.sample(list(world.actors.values()), int(len(world.actors) * SUSPENDED_AUTHOR_SHARE)):
        actor.status = "takendown"
    missing_authors = {p.author.did for p in made if not world.appview_visible(p)}
    fake = FakeBluesky(world, rate_limit=10**9)
    secrets = {"handle": "bench.bsky.social", "app_password": "unused: re-checks are anonymous"}
    return Scenario(
        server=fake,
        make_source=lambda url: build_bluesky(_spec("bluesky", url, secrets, {"appview_url": url})),
        refs=[PostRef(p.uri, p.author.did, p.author.handle) for p in made],
        minimum=math.ceil(posts / 25) + len(missing_authors),
        formula=f"ceil(N/25) + U(E), U(E) = {len(missing_authors)}",
        amortised=lambda request: request.path.startswith("/xrpc/com.atproto.server."),
    )


SCENARIOS: dict[str, Callable[[int, random.Random], Scenario]] = {
    "twitter": twitter_scenario,
    "reddit": reddit_scenario,
    "mastodon": mastodon_scenario,
    "bluesky": bluesky_scenario,
}


def _spec(platform: str, url: str, secrets: dict[str, str], options: dict | None = None) -> SourceSpec:
    return SourceSpec(f"bench-{platform}", platform, "acme", url, options or {}, secrets, {})


# -- running ---------------------------------------------------------------------------------


def measure(platform: str, scenario: Scenario, mode: str) -> Row:
    """Run the lookups on a fresh adapter, sliced as ``mode`` says; count what reached the fake."""
    server = scenario.server
    with server.running():
        source = scenario.make_source(server.url)
        size = MODES[mode](source) or len(scenario.refs)
        seen_before = len(server.requests)
        started = time.perf_counter()
        reported = sum(source.lookup(batch).calls for batch in _slices(scenario.refs, size))
        seconds = time.perf_counter() - started
        seen = server.requests[seen_before:]
    amortised = sum(1 for request in seen if scenario.amortised(request))
    return Row(
        platform=platform,
        mode=mode,
        posts=len(scenario.refs),
        calls=len(seen) - amortised,
        amortised=amortised,
        minimum=scenario.minimum,
        formula=scenario.formula,
        reported_ok=reported == len(seen),
        seconds=seconds,
        slice_size=size,
    )


def _slices(refs: Sequence[PostRef], size: int) -> list[Sequence[PostRef]]:
    return [refs[start : start + size] for start in range(0, len(refs), size)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--posts", type=int, default=10_000, help="posts per platform")
    parser.add_argument(
        "--platform", action="append", choices=sorted(SCENARIOS), help="repeatable; default all"
    )
    parser.add_argument("--mode", action="append", choices=list(MODES), help="repeatable; default all")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print(f"re-check calls for {args.posts:,} posts; calls = counted at the fake, token = amortised calls")
    print(HEADER)
    for platform in args.platform or list(SCENARIOS):
        for mode in args.mode or list(MODES):
            scenario = SCENARIOS[platform](args.posts, random.Random(args.seed))
            print(measure(platform, scenario, mode).line(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
