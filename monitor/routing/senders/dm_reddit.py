"""Private messages and public replies on Reddit through praw (script app, the brand's account).

Secrets, from ``COMPLAINTWATCH_DESTINATION_<NAME>_<KEY>``: ``CLIENT_ID``, ``CLIENT_SECRET``, ``USERNAME``
and ``PASSWORD`` (a "script" app of that account: praw signs in with the password grant). ``url`` replaces
praw's Reddit hosts (a path-less root such as ``http://127.0.0.1:8082``); options ``subject`` (the private
message's subject) and ``user_agent``.

A DM is ``redditor(name).message`` (``POST /api/compose``; Reddit answers no message id, so the reference
names the recipient). A reply is ``comment(id).reply`` or ``submission(id).reply`` by the post's fullname
(``POST /api/comment`` with ``thing_id``); the reference is the new comment's fullname. Reddit honours no
idempotency key: a message sent again after a crash between the send and the outbox's record is sent twice
(at-least-once). 5xx and network errors are raised at once (no sleeping retries inside prawcore): the outbox
schedules the retry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from monitor.routing.senders.base import DeliveryError, PermanentDeliveryError, destination_secret, option
from monitor.settings import DestinationSettings

TIMEOUT_S = 30
DEFAULT_SUBJECT = "About your post"
ACCOUNT_HINT = "needs a script app of the sending account, with the submit and privatemessages scopes"
T = TypeVar("T")


class RedditMessenger:
    """DMs and replies as the destination's Reddit account; see the module docstring."""

    platform = "reddit"

    def __init__(self, reddit: Any, *, subject: str = DEFAULT_SUBJECT) -> None:
        self.reddit = reddit
        self.subject = subject

    def send_dm(self, recipient: str, text: str, *, idempotency_key: str) -> str:
        name = recipient.strip().removeprefix("/").removeprefix("u/").lstrip("@")
        self._call("message", lambda: self.reddit.redditor(name).message(subject=self.subject, message=text))
        return f"u/{name}"

    def reply(self, in_reply_to: str, text: str, *, idempotency_key: str) -> str:
        kind, _, id36 = in_reply_to.partition("_")
        if kind == "t1" and id36:
            parent = self.reddit.comment(id=id36)
        elif kind == "t3" and id36:
            parent = self.reddit.submission(id=id36)
        else:
            raise PermanentDeliveryError(f"Reddit reply: {in_reply_to!r} is not a t1_/t3_ fullname")
        comment = self._call("reply", lambda: parent.reply(text))
        if comment is None:  # Reddit accepted the comment but its answer carried none
            raise PermanentDeliveryError(f"Reddit reply to {in_reply_to}: no comment in Reddit's answer")
        return str(comment.fullname)

    def _call(self, what: str, call: Callable[[], T]) -> T:
        with _translated(what):
            return call()


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """praw/prawcore failures as delivery errors: 429, 5xx and network retry, the rest is final."""
    import praw.exceptions
    import prawcore

    from collectors.base import TransientError

    try:
        yield
    except TransientError as exc:  # 5xx, 408 and network errors, from the collectors' requestor
        raise DeliveryError(f"Reddit {what}: {exc}") from None
    except prawcore.TooManyRequests as exc:
        raise DeliveryError(f"Reddit {what}: 429 {exc.response.reason}") from None
    except (prawcore.Forbidden, prawcore.InvalidToken, prawcore.InsufficientScope) as exc:
        raise PermanentDeliveryError(f"Reddit {what}: {exc} ({ACCOUNT_HINT})") from None
    except prawcore.OAuthException as exc:
        raise PermanentDeliveryError(f"Reddit {what}: sign-in refused: {exc}") from None
    except prawcore.ResponseException as exc:
        raise PermanentDeliveryError(f"Reddit {what}: {exc}") from None
    except praw.exceptions.RedditAPIException as exc:  # 200 with json.errors, e.g. USER_DOESNT_EXIST
        raise PermanentDeliveryError(f"Reddit {what}: {exc}") from None
    except prawcore.RequestException as exc:
        raise DeliveryError(f"Reddit {what}: {exc}") from None


def reddit_messenger(destination: DestinationSettings) -> RedditMessenger:
    """A messenger for a Reddit account signed in with script auth; the secrets from the environment."""
    import praw

    from collectors.reddit import OAUTH_URL, REDDIT_URL, SHORT_URL, ObservingRequestor, Traffic

    username = destination_secret(destination, "username")
    root = destination.url.rstrip("/") if destination.url else None  # prawcore concatenates and urljoins
    reddit = praw.Reddit(
        client_id=destination_secret(destination, "client_id"),
        client_secret=destination_secret(destination, "client_secret"),
        username=username,
        password=destination_secret(destination, "password"),
        user_agent=str(option(destination, "user_agent", f"python:complaintwatch:0.1 (by /u/{username})")),
        reddit_url=root or REDDIT_URL,
        oauth_url=root or OAUTH_URL,
        short_url=root or SHORT_URL,
        check_for_updates=False,
        timeout=TIMEOUT_S,
        requestor_class=ObservingRequestor,
        requestor_kwargs={"traffic": Traffic()},
    )
    return RedditMessenger(reddit, subject=str(option(destination, "subject", DEFAULT_SUBJECT)))
