"""Private messages and public replies on Bluesky through the atproto SDK (the brand's account).

Secrets, from ``COMPLAINTWATCH_DESTINATION_<NAME>_<KEY>``: ``HANDLE`` and ``APP_PASSWORD`` (an app password
allowed to use direct messages). ``url`` is the PDS or entryway to sign in at (default
``https://bsky.social``).

A DM goes through the chat service: the SDK sends ``chat.bsky.convo.getConvoForMembers`` and
``chat.bsky.convo.sendMessage`` to the PDS with ``atproto-proxy: did:web:api.bsky.chat#bsky_chat``
(``Client.with_bsky_chat_proxy()``); the recipient is a handle or a DID. A reply is an
``app.bsky.feed.post`` record whose ``reply`` holds strong refs to the parent and the thread's root, both
read from ``getPosts``. Bluesky honours no idempotency key: a message sent again after a crash between the
send and the outbox's record is sent twice (at-least-once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from monitor.routing.senders.base import DeliveryError, PermanentDeliveryError, destination_secret
from monitor.settings import DestinationSettings

DEFAULT_PDS = "https://bsky.social"
TIMEOUT_S = 30.0
CHAT_HINT = "Bluesky DMs need an app password with direct-message access, and a recipient who accepts them"
T = TypeVar("T")


class BlueskyMessenger:
    """DMs and replies as the destination's Bluesky account; see the module docstring."""

    platform = "bluesky"

    def __init__(self, client: Any) -> None:
        self.client = client  # signed in

    def send_dm(self, recipient: str, text: str, *, idempotency_key: str) -> str:
        from atproto import models

        did = self._did(recipient)
        convo = self.client.with_bsky_chat_proxy().chat.bsky.convo
        found = _call(
            "conversation",
            lambda: convo.get_convo_for_members(models.ChatBskyConvoGetConvoForMembers.Params(members=[did])),
        )
        data = models.ChatBskyConvoSendMessage.Data(
            convo_id=found.convo.id, message=models.ChatBskyConvoDefs.MessageInput(text=text)
        )
        sent = _call("DM", lambda: convo.send_message(data))
        return str(sent.id)

    def reply(self, in_reply_to: str, text: str, *, idempotency_key: str) -> str:
        from atproto import models

        posts = _call("post lookup", lambda: self.client.get_posts([in_reply_to])).posts
        if not posts:
            raise PermanentDeliveryError(f"Bluesky reply: {in_reply_to} is gone (deleted or hidden)")
        parent = models.create_strong_ref(posts[0])
        thread = getattr(posts[0].record, "reply", None)
        root = thread.root if thread is not None else parent
        reply_to = models.AppBskyFeedPost.ReplyRef(parent=parent, root=root)
        created = _call("reply", lambda: self.client.send_post(text, reply_to=reply_to))
        return str(created.uri)

    def _did(self, recipient: str) -> str:
        actor = recipient.strip().lstrip("@")
        if actor.startswith("did:"):
            return actor
        return str(_call(f"profile of {actor}", lambda: self.client.get_profile(actor)).did)


def _call(what: str, call: Callable[[], T]) -> T:
    with _translated(what):
        return call()


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """SDK failures as delivery errors: 429, 5xx and network retry; 400, 401, 403 and 404 are final."""
    from atproto_client import exceptions
    from atproto_core.exceptions import AtProtocolError

    try:
        yield
    except (exceptions.RateLimitExceededError, exceptions.NetworkError) as exc:
        raise DeliveryError(f"Bluesky {what}: {type(exc).__name__}: {exc}") from None
    except exceptions.UnauthorizedError as exc:
        raise PermanentDeliveryError(f"Bluesky {what}: {exc} ({CHAT_HINT})") from None
    except exceptions.RequestException as exc:
        status = exc.response.status_code if exc.response is not None else 0
        error = DeliveryError if status >= 500 or status == 0 else PermanentDeliveryError
        raise error(f"Bluesky {what}: {status} {exc}") from None
    except exceptions.RequestErrorBase as exc:  # BadRequestError: the XRPC's answer, e.g. InvalidRequest
        raise PermanentDeliveryError(f"Bluesky {what}: {exc}") from None
    except AtProtocolError as exc:  # the SDK refused before sending (not signed in, a bad model)
        raise PermanentDeliveryError(f"Bluesky {what}: {type(exc).__name__}: {exc}") from None


def bluesky_messenger(destination: DestinationSettings) -> BlueskyMessenger:
    """A messenger signed in as the destination's account with its app password."""
    from atproto import Client
    from atproto_client.request import Request

    handle = destination_secret(destination, "handle").strip().lstrip("@")
    password = destination_secret(destination, "app_password")
    client = Client(base_url=(destination.url or DEFAULT_PDS).rstrip("/"), request=Request(timeout=TIMEOUT_S))
    # The profile fetch fills ``client.me``, which ``send_post`` needs for the repo to write to.
    _call(f"sign-in as {handle}", lambda: client.login(handle, password))
    return BlueskyMessenger(client)
