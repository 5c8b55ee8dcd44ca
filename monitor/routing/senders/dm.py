"""Messages on the post's own platform: a private message to the author, or the public reply.

A ``dm`` destination names an account on one platform: ``url`` is the API base URL (the
Mastodon instance; for the others a proxy or test server, optional), options ``platform`` (default
``mastodon``) and ``recipient``: ``author`` (default: write to the post's author, with the route's
masked reply draft) or a fixed handle (write the whole case to that account, e.g. the support team's),
and ``max_chars``: the longest post the account may publish (a Mastodon instance's own limit, default
500; X, Bluesky and Reddit default to theirs). Reply drafts are fitted to it and longer edits refused.
Mastodon's access token comes from ``COMPLAINTWATCH_DESTINATION_<NAME>_ACCESS_TOKEN``. Public replies
approved in the dashboard (outbox destination ``reply:<platform>``) go out through the ``dm``
destination of that platform.

Platforms plug in through :class:`PlatformMessenger`, one module each: Mastodon here (a ``direct``
status that mentions the recipient, and a public status ``in_reply_to`` the post; Mastodon honours the
``Idempotency-Key``), X in :mod:`~monitor.routing.senders.dm_twitter` (tweepy ``create_direct_message``
and ``create_tweet``, user-context credentials), Reddit in :mod:`~monitor.routing.senders.dm_reddit` (praw
``redditor(name).message`` and ``reply``, script auth) and Bluesky in
:mod:`~monitor.routing.senders.dm_bluesky` (``chat.bsky.convo.sendMessage`` through the chat proxy, and a
post with reply refs). X, Reddit and Bluesky honour no idempotency key: for them the outbox's guarantee is
at-least-once. Each module's docstring names its secrets.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from monitor.routing.senders.base import (
    DeliveryError,
    OutgoingMessage,
    PermanentDeliveryError,
    Receipt,
    destination_secret,
    option,
    secret_env_name,
    summary_text,
)
from monitor.routing.senders.dm_bluesky import bluesky_messenger
from monitor.routing.senders.dm_reddit import reddit_messenger
from monitor.routing.senders.dm_twitter import twitter_messenger
from monitor.settings import DestinationSettings

if TYPE_CHECKING:
    from mastodon import Mastodon

TIMEOUT_S = 30.0
#: Mastodon's default status length; longer case summaries are cut (the link stays on top).
MASTODON_MAX_CHARS = 500


class PlatformMessenger(Protocol):
    """What routing needs from a platform client; each method returns the platform's id of the message."""

    platform: str

    def send_dm(self, recipient: str, text: str, *, idempotency_key: str) -> str: ...

    def reply(self, in_reply_to: str, text: str, *, idempotency_key: str) -> str: ...


class MastodonMessenger:
    """Direct and public statuses through Mastodon.py; Mastodon honours ``Idempotency-Key``."""

    platform = "mastodon"

    def __init__(self, client: Mastodon, *, reply_visibility: str = "public", max_chars: int = 500) -> None:
        self.client = client
        self.reply_visibility = reply_visibility
        self.max_chars = max_chars

    def send_dm(self, recipient: str, text: str, *, idempotency_key: str) -> str:
        mention = "@" + recipient.lstrip("@")
        status = text if text.startswith(mention) else f"{mention} {text}"
        return self._post(status[: self.max_chars], None, "direct", idempotency_key)

    def reply(self, in_reply_to: str, text: str, *, idempotency_key: str) -> str:
        return self._post(text[: self.max_chars], in_reply_to, self.reply_visibility, idempotency_key)

    def _post(self, status: str, in_reply_to: str | None, visibility: str, key: str) -> str:
        from mastodon.errors import (
            MastodonAPIError,
            MastodonError,
            MastodonNetworkError,
            MastodonRatelimitError,
            MastodonServerError,
        )

        try:
            posted = self.client.status_post(
                status, in_reply_to_id=in_reply_to, visibility=visibility, idempotency_key=key
            )
        except (MastodonNetworkError, MastodonRatelimitError, MastodonServerError) as exc:
            raise DeliveryError(f"mastodon: {type(exc).__name__}: {exc}") from None
        except MastodonAPIError as exc:
            raise PermanentDeliveryError(f"mastodon: {type(exc).__name__}: {exc}") from None
        except MastodonError as exc:
            raise DeliveryError(f"mastodon: {type(exc).__name__}: {exc}") from None
        return str(posted["id"])


def mastodon_messenger(destination: DestinationSettings) -> PlatformMessenger:
    """A messenger for a Mastodon account: the instance in ``url``, the token from the environment."""
    from mastodon import Mastodon  # loaded only when a Mastodon destination is used

    if not destination.url:
        raise PermanentDeliveryError(f"dm destination {destination.name!r} needs url (the instance)")
    client = Mastodon(
        access_token=destination_secret(destination, "access_token"),
        api_base_url=destination.url,
        request_timeout=TIMEOUT_S,
        ratelimit_method="throw",  # the outbox schedules the retry; never sleep in a sender
        version_check_mode="none",
    )
    visibility = str(option(destination, "reply_visibility", "public"))
    return MastodonMessenger(
        client, reply_visibility=visibility, max_chars=int(option(destination, "max_chars", 500))
    )


#: Messenger factories by platform.
MESSENGERS: dict[str, Callable[[DestinationSettings], PlatformMessenger]] = {
    "mastodon": mastodon_messenger,
    "twitter": twitter_messenger,
    "reddit": reddit_messenger,
    "bluesky": bluesky_messenger,
}


def messenger_for(destination: DestinationSettings) -> PlatformMessenger:
    """The messenger for the destination's platform; a permanent error for a platform not supported yet."""
    platform = destination_platform(destination)
    try:
        factory = MESSENGERS[platform]
    except KeyError:
        known = ", ".join(sorted(MESSENGERS))
        raise PermanentDeliveryError(
            f"dm destination {destination.name!r}: messages on {platform!r} are not supported yet"
            f" (supported: {known})"
        ) from None
    return factory(destination)


def destination_platform(destination: DestinationSettings) -> str:
    return str(option(destination, "platform", "mastodon"))


#: Signed-in messengers kept for the process, by destination and its secrets: Bluesky allows 30 sign-ins
#: per 5 minutes and 300 a day per account, so signing in for every message would lock a busy brand out.
_SIGNED_IN: dict[str, PlatformMessenger] = {}
_SIGNED_IN_LOCK = threading.Lock()


def send(destination: DestinationSettings, message: OutgoingMessage) -> Receipt:
    """A public reply, a private note to the author, or the case to a fixed account.

    The messenger (and its sign-in) is reused for the next message to the same destination; a failed
    delivery drops it, so an expired session or rotated credentials get a fresh sign-in on the retry.
    """
    key = _messenger_key(destination)
    with _SIGNED_IN_LOCK:
        messenger = _SIGNED_IN.pop(key, None)
    if messenger is None:
        messenger = messenger_for(destination)
    receipt = _send_with(messenger, destination, message)
    with _SIGNED_IN_LOCK:
        _SIGNED_IN[key] = messenger
    return receipt


def _messenger_key(destination: DestinationSettings) -> str:
    prefix = secret_env_name(destination.name, "")
    secrets = sorted((k, v) for k, v in os.environ.items() if k.startswith(prefix))
    return hashlib.sha256(repr((destination, secrets)).encode()).hexdigest()


def _send_with(
    messenger: PlatformMessenger, destination: DestinationSettings, message: OutgoingMessage
) -> Receipt:
    payload = message.payload
    key = message.idempotency_key
    if message.purpose == "reply":
        return Receipt(
            reference=messenger.reply(str(payload["in_reply_to"]), str(payload["text"]), idempotency_key=key)
        )
    recipient = str(option(destination, "recipient", "author"))
    if recipient == "author":
        return Receipt(reference=_to_author(messenger, payload, key), detail={"first_response": True})
    return Receipt(reference=messenger.send_dm(recipient, summary_text(payload), idempotency_key=key))


def _to_author(messenger: PlatformMessenger, payload: Mapping[str, Any], key: str) -> str:
    post, case = payload.get("post", {}), payload.get("case", {})
    if post.get("platform") != messenger.platform:
        raise PermanentDeliveryError(
            f"the post is on {post.get('platform')!r}, this destination writes on {messenger.platform!r}"
        )
    if not case.get("reply_draft") or not post.get("author_handle"):
        raise PermanentDeliveryError("a message to the author needs a reply draft and the author's handle")
    return messenger.send_dm(str(post["author_handle"]), str(case["reply_draft"]), idempotency_key=key)
