"""The four platform fakes behind one small interface, for tests that drive the pipeline and the CLI.

A ``World`` owns a started fake on 127.0.0.1 and knows how to configure a source on it (its
``[[sources]]`` table and its secrets), how to add brand posts, how the adapter names them, which paths a
search and a re-check call, how the platform phrases a 429 with a reset, and which changes of its world
produce which entry of the status vocabulary (docs/architecture.md, docs/platforms.md).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fakes.bluesky import BlueskyWorld, FakeBluesky, FakePost
from fakes.mastodon import FakeMastodon, FakeStatus, MastodonWorld
from fakes.reddit import FakeReddit, RedditThing
from fakes.server import FakeServer, Reply
from fakes.twitter import FakeX, XTweet

BRAND = "acme"
PLATFORMS = ("twitter", "reddit", "mastodon", "bluesky")
PAGE_SIZE = 10  # small pages, so a few dozen posts make several of them
BSKY_HANDLE, BSKY_PASSWORD = "monitor.bsky.social", "app-pass-word"
MASTODON_TOKEN = "good-token"


@dataclass(frozen=True)
class Change:
    """One change of the world and what a re-check must then store for the post."""

    name: str
    apply: Callable[[Any], None]  # gets the platform's post object
    post_status: str
    author_status: str
    observed: str = ""  # what ``status_checks.status`` says, when it differs from ``post_status``


class World:
    """A started fake plus what a test needs to know about its platform."""

    platform: str
    env_prefix: str
    search_path: str
    lookup_path: str
    #: How far the reset the adapter reads may be from the one sent (Reddit sends seconds from now).
    reset_tolerance_s: float = 0.0

    def __init__(self, fake: FakeServer) -> None:
        self.fake = fake
        self._serial = itertools.count(1)

    @property
    def url(self) -> str:
        return self.fake.url

    def source_table(self, name: str) -> dict[str, Any]:
        """The ``[[sources]]`` table of a source on this fake (without secrets)."""
        return {"name": name, "platform": self.platform, "api_base_url": self.url, "options": self.options()}

    def options(self) -> dict[str, Any]:
        raise NotImplementedError

    def secrets(self) -> dict[str, str]:
        raise NotImplementedError

    def wrong_secrets(self) -> dict[str, str]:
        raise NotImplementedError

    def env(self, secrets: dict[str, str] | None = None) -> dict[str, str]:
        """The secrets as ``COMPLAINTWATCH_<PLATFORM>_<NAME>`` variables."""
        values = self.secrets() if secrets is None else secrets
        return {f"COMPLAINTWATCH_{self.env_prefix}_{k.upper()}": v for k, v in values.items()}

    def post(self) -> Any:
        """A new post mentioning the brand, by a new author."""
        raise NotImplementedError

    def native_id(self, post: Any) -> str:
        raise NotImplementedError

    def populate(self, count: int) -> list[str]:
        return [self.native_id(self.post()) for _ in range(count)]

    def text(self) -> str:
        return f"{BRAND} broke my order #{next(self._serial)}"

    def rate_limit_reply(self, reset: datetime) -> Reply:
        raise NotImplementedError

    def fail_search(self, reply: Reply) -> None:
        self.fake.fail_next(self.search_path, reply)

    def fail_lookup(self, reply: Reply) -> None:
        self.fake.fail_next(self.lookup_path, reply)

    def changes(self) -> list[Change]:
        """Every status of the vocabulary this platform can express, and how to cause it."""
        raise NotImplementedError

    def delete(self, post: Any) -> None:
        raise NotImplementedError

    def undelete(self, post: Any) -> None:
        raise NotImplementedError


class TwitterPlatform(World):
    platform, env_prefix = "twitter", "TWITTER"
    search_path, lookup_path = "/2/tweets/search/recent", "/2/tweets"
    fake: FakeX

    def options(self) -> dict[str, Any]:
        return {"max_results": PAGE_SIZE}

    def secrets(self) -> dict[str, str]:
        return {"bearer_token": self.fake.bearer_token}

    def wrong_secrets(self) -> dict[str, str]:
        return {"bearer_token": "revoked-token"}

    def post(self) -> XTweet:
        return self.fake.add_tweet(self.fake.add_user(f"user{next(self._serial)}"), self.text())

    def native_id(self, post: XTweet) -> str:
        return post.id

    def rate_limit_reply(self, reset: datetime) -> Reply:
        headers = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(reset.timestamp()))}
        return Reply(429, {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}, headers)

    def changes(self) -> list[Change]:
        def suspend(tweet: XTweet) -> None:
            tweet.author.state = "suspended"

        def deactivate(tweet: XTweet) -> None:
            tweet.author.state = "deactivated"

        def protect(tweet: XTweet) -> None:
            tweet.author.protected = True

        def restrict(tweet: XTweet) -> None:
            tweet.restricted = True

        return [
            Change("untouched", lambda tweet: None, "live", "active"),
            Change("deleted", self.delete, "deleted_by_author", "active"),
            Change("suspended", suspend, "author_suspended", "suspended"),
            Change("deactivated", deactivate, "author_deactivated", "deactivated"),
            Change("protected", protect, "author_protected", "protected"),
            # X answers "not authorized" for a post it hid itself: it does not say why, so nothing changes.
            Change("restricted by X", restrict, "live", "active", observed="unknown"),
        ]

    def delete(self, post: XTweet) -> None:
        post.deleted = True

    def undelete(self, post: XTweet) -> None:
        post.deleted = False


class RedditPlatform(World):
    platform, env_prefix = "reddit", "REDDIT"
    search_path, lookup_path = "/r/", "/api/info"
    reset_tolerance_s = 1.5
    fake: FakeReddit

    def options(self) -> dict[str, Any]:
        return {"time_filter": "week", "page_size": PAGE_SIZE}

    def secrets(self) -> dict[str, str]:
        return {"client_id": self.fake.client_id, "client_secret": self.fake.client_secret}

    def wrong_secrets(self) -> dict[str, str]:
        return {"client_id": self.fake.client_id, "client_secret": "revoked-secret"}

    def post(self) -> RedditThing:
        author = self.fake.add_account(f"redditor{next(self._serial)}")
        return self.fake.add_submission(author, self.text(), "details inside")

    def native_id(self, post: RedditThing) -> str:
        return post.fullname

    def rate_limit_reply(self, reset: datetime) -> Reply:
        seconds = max(int((reset - datetime.now(UTC)).total_seconds()), 1)
        headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(seconds)}
        return Reply(429, {"message": "Too Many Requests", "error": 429}, headers)

    def changes(self) -> list[Change]:
        def removal(category: str) -> Callable[[RedditThing], None]:
            def apply(thing: RedditThing) -> None:
                thing.removal = category

            return apply

        def delete_account(thing: RedditThing) -> None:
            thing.author.state = "deleted"

        def suspend_and_hide(thing: RedditThing) -> None:
            thing.author.state, thing.hidden = "suspended", True

        return [
            Change("untouched", lambda thing: None, "live", "active"),
            Change("deleted", self.delete, "deleted_by_author", "active"),
            Change("removed by a moderator", removal("moderator"), "removed_by_moderator", "active"),
            Change("removed by Reddit", removal("anti_evil_ops"), "removed_by_platform", "active"),
            Change("account deleted", delete_account, "author_deactivated", "deactivated"),
            Change("author suspended", suspend_and_hide, "author_suspended", "suspended"),
        ]

    def delete(self, post: RedditThing) -> None:
        post.removal = "deleted"

    def undelete(self, post: RedditThing) -> None:
        post.removal = None


class MastodonPlatform(World):
    platform, env_prefix = "mastodon", "MASTODON"
    search_path, lookup_path = "/api/v2/search", "/api/v1/statuses"
    fake: FakeMastodon

    @property
    def world(self) -> MastodonWorld:
        return self.fake.world

    def options(self) -> dict[str, Any]:
        return {"page_size": PAGE_SIZE}

    def secrets(self) -> dict[str, str]:
        return {"access_token": MASTODON_TOKEN}

    def wrong_secrets(self) -> dict[str, str]:
        return {"access_token": "revoked-token"}

    def post(self) -> FakeStatus:
        return self.world.add_status(self.world.add_account(f"user{next(self._serial)}"), self.text())

    def native_id(self, post: FakeStatus) -> str:
        return f"{post.id}@{self.url.removeprefix('http://')}"

    def rate_limit_reply(self, reset: datetime) -> Reply:
        headers = {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }
        return Reply(429, {"error": "Too many requests"}, headers)

    def changes(self) -> list[Change]:
        def suspend(status: FakeStatus) -> None:
            status.account.suspended = True

        def destroy(status: FakeStatus) -> None:
            status.account.destroyed = True

        return [
            Change("untouched", lambda status: None, "live", "active"),
            Change("deleted", self.delete, "deleted_by_author", "active"),
            Change("author suspended", suspend, "author_suspended", "suspended"),
            Change("account deleted", destroy, "author_deactivated", "deactivated"),
        ]

    def delete(self, post: FakeStatus) -> None:
        post.deleted = True

    def undelete(self, post: FakeStatus) -> None:
        post.deleted = False


class BlueskyPlatform(World):
    platform, env_prefix = "bluesky", "BLUESKY"
    search_path, lookup_path = "/xrpc/app.bsky.feed.searchPosts", "/xrpc/app.bsky.feed.getPosts"
    fake: FakeBluesky

    @property
    def world(self) -> BlueskyWorld:
        return self.fake.world

    def options(self) -> dict[str, Any]:
        return {"appview_url": self.url, "plc_url": self.url, "page_size": PAGE_SIZE}

    def secrets(self) -> dict[str, str]:
        return {"handle": BSKY_HANDLE, "app_password": BSKY_PASSWORD}

    def wrong_secrets(self) -> dict[str, str]:
        return {"handle": BSKY_HANDLE, "app_password": "revoked-password"}

    def post(self) -> FakePost:
        return self.world.add_post(self.world.add_actor(f"user{next(self._serial)}.bsky.social"), self.text())

    def native_id(self, post: FakePost) -> str:
        return post.uri

    def rate_limit_reply(self, reset: datetime) -> Reply:
        headers = {
            "ratelimit-limit": "3000",
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(int(reset.timestamp())),
            "ratelimit-policy": "3000;w=300",
        }
        return Reply(429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, headers)

    def changes(self) -> list[Change]:
        def take_down(post: FakePost) -> None:
            self.world.label(post, "!takedown")

        def status(value: str) -> Callable[[FakePost], None]:
            def apply(post: FakePost) -> None:
                post.author.status = value

            return apply

        return [
            Change("untouched", lambda post: None, "live", "active"),
            Change("deleted", self.delete, "deleted_by_author", "active"),
            Change("taken down", take_down, "removed_by_platform", "active"),
            Change("author taken down", status("takendown"), "author_suspended", "suspended"),
            Change("author deactivated", status("deactivated"), "author_deactivated", "deactivated"),
        ]

    def delete(self, post: FakePost) -> None:
        post.deleted = True

    def undelete(self, post: FakePost) -> None:
        post.deleted = False


def _bluesky() -> FakeBluesky:
    fake = FakeBluesky()
    fake.world.add_actor(BSKY_HANDLE, BSKY_PASSWORD)  # the account the source signs in with
    return fake


FACTORIES: dict[str, tuple[type[World], Callable[[], FakeServer]]] = {
    "twitter": (TwitterPlatform, FakeX),
    "reddit": (RedditPlatform, FakeReddit),
    "mastodon": (MastodonPlatform, FakeMastodon),
    "bluesky": (BlueskyPlatform, _bluesky),
}


@contextmanager
def running(platform: str) -> Iterator[World]:
    """A fresh world for ``platform``, served on 127.0.0.1 for the duration."""
    world_class, make_fake = FACTORIES[platform]
    fake = make_fake()
    with fake.running():
        yield world_class(fake)


def other_platform(platform: str) -> str:
    """Another platform, to run beside ``platform`` in the same config."""
    return PLATFORMS[(PLATFORMS.index(platform) + 1) % len(PLATFORMS)]
