"""Delivery channels, one module each; :func:`sender_for` picks one by destination kind."""

from __future__ import annotations

from monitor.routing.senders import dm, email, slack, webhook, zammad
from monitor.routing.senders.base import (
    DeliveryError,
    OutgoingMessage,
    PermanentDeliveryError,
    Receipt,
    Sender,
    secret_env_name,
)

SENDERS: dict[str, Sender] = {
    "webhook": webhook.send,
    "email": email.send,
    "zammad": zammad.send,
    "slack": slack.send,
    "dm": dm.send,
}


def sender_for(kind: str) -> Sender:
    """The send function for a destination kind."""
    try:
        return SENDERS[kind]
    except KeyError:
        raise PermanentDeliveryError(
            f"no sender for destination kind {kind!r} (known: {', '.join(SENDERS)})"
        ) from None


__all__ = [
    "SENDERS",
    "DeliveryError",
    "OutgoingMessage",
    "PermanentDeliveryError",
    "Receipt",
    "Sender",
    "secret_env_name",
    "sender_for",
]
