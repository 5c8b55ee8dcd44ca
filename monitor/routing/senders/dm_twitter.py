"""Private messages and public replies on X through ``tweepy.Client`` (API v2, user context).

Both need a user-context token: app-only bearer tokens are refused with 403. Secrets, from
``COMPLAINTWATCH_DESTINATION_<NAME>_<KEY>``: ``CONSUMER_KEY``, ``CONSUMER_SECRET``, ``ACCESS_TOKEN`` and
``ACCESS_TOKEN_SECRET`` (OAuth 1.0a), or only ``ACCESS_TOKEN`` (an OAuth 2 user access token with the
``dm.write`` and ``tweet.write`` scopes). ``url`` replaces ``https://api.twitter.com`` (a proxy, a test
server); tweepy has no setting for its host, so the rewrite happens in the session.

A DM goes to ``POST /2/dm_conversations/with/:participant_id/messages``; the recipient is a handle
(resolved to the user id with ``GET /2/users/by/username/:username``) or ``id:<user id>``. A reply is
``POST /2/tweets`` with ``reply.in_reply_to_tweet_id``. X honours no idempotency key: a message sent again
after a crash between the send and the outbox's record is sent twice (at-least-once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from monitor.routing.senders.base import DeliveryError, PermanentDeliveryError, destination_secret
from monitor.settings import DestinationSettings

X_API = "https://api.twitter.com"
TIMEOUT_S = 30.0
USER_CONTEXT_HINT = "X DMs and replies need a user-context token (OAuth 1.0a, or OAuth 2 with dm.write)"
T = TypeVar("T")


class TwitterMessenger:
    """DMs and replies as the destination's X account; see the module docstring."""

    platform = "twitter"

    def __init__(self, client: Any, *, oauth1: bool) -> None:
        self.client = client
        self.user_auth = oauth1  # tweepy: True signs with OAuth 1.0a, False sends the (user) bearer token

    def send_dm(self, recipient: str, text: str, *, idempotency_key: str) -> str:
        participant = self._user_id(recipient)
        body = self._call(
            "DM",
            lambda: self.client.create_direct_message(
                participant_id=participant, text=text, user_auth=self.user_auth
            ),
        )
        return str(body["data"]["dm_event_id"])

    def reply(self, in_reply_to: str, text: str, *, idempotency_key: str) -> str:
        body = self._call(
            "reply",
            lambda: self.client.create_tweet(
                text=text, in_reply_to_tweet_id=in_reply_to, user_auth=self.user_auth
            ),
        )
        return str(body["data"]["id"])

    def _user_id(self, recipient: str) -> str:
        if recipient.startswith("id:"):
            return recipient.removeprefix("id:")
        username = recipient.lstrip("@")
        body = self._call(
            f"user lookup @{username}",
            lambda: self.client.get_user(username=username, user_auth=self.user_auth),
        )
        if not body.get("data"):
            detail = "; ".join(str(e.get("detail", "")) for e in body.get("errors") or [])
            raise PermanentDeliveryError(f"X: no user @{username} to write to ({detail or 'not found'})")
        return str(body["data"]["id"])

    def _call(self, what: str, call: Callable[[], T]) -> T:
        with _translated(what):
            return call()


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """tweepy/requests failures as delivery errors: 429, 5xx and network retry, other 4xx are final."""
    import requests
    import tweepy

    try:
        yield
    except (tweepy.TooManyRequests, tweepy.TwitterServerError) as exc:
        raise DeliveryError(f"X {what}: {exc.response.status_code} {_detail(exc)}") from None
    except tweepy.HTTPException as exc:
        hint = f" ({USER_CONTEXT_HINT})" if isinstance(exc, tweepy.Unauthorized | tweepy.Forbidden) else ""
        raise PermanentDeliveryError(f"X {what}: {exc.response.status_code} {_detail(exc)}{hint}") from None
    except requests.RequestException as exc:
        raise DeliveryError(f"X {what}: {type(exc).__name__}: {exc}") from None


def _detail(exc: Any) -> str:
    return "; ".join(exc.api_messages) or str(exc.response.reason)


def twitter_messenger(destination: DestinationSettings) -> TwitterMessenger:
    """A messenger for an X account: OAuth 1.0a when a consumer key is set, else an OAuth 2 user token."""
    import tweepy

    from collectors._http import ApiSession

    consumer_key = destination_secret(destination, "consumer_key", required=False)
    access_token = destination_secret(destination, "access_token")
    if consumer_key:
        client = tweepy.Client(
            consumer_key=consumer_key,
            consumer_secret=destination_secret(destination, "consumer_secret"),
            access_token=access_token,
            access_token_secret=destination_secret(destination, "access_token_secret"),
            return_type=dict,
        )
    else:
        client = tweepy.Client(bearer_token=access_token, return_type=dict)
    client.session = ApiSession(X_API, destination.url or None, TIMEOUT_S)
    return TwitterMessenger(client, oauth1=bool(consumer_key))
