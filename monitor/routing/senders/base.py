"""What every sender shares: the message it gets, the errors it raises, and its secrets.

A sender is a function ``send(destination, message) -> Receipt``. It must pass the message's
idempotency key to the receiver (an ``Idempotency-Key`` header, a ``Message-ID``), so that a
message sent again after a crash is recognised by a receiver that honours the key. It raises
:class:`DeliveryError` for anything worth retrying and :class:`PermanentDeliveryError` for what
retrying cannot fix (a rejected request, a missing secret).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.config import ENV_PREFIX
from monitor.settings import DestinationSettings


class DeliveryError(Exception):
    """Delivery failed in a way that may succeed later (network, timeout, 5xx, 429)."""


class PermanentDeliveryError(DeliveryError):
    """Delivery cannot succeed by retrying (4xx, bad configuration): the message goes dead."""


@dataclass(frozen=True)
class OutgoingMessage:
    """One outbox message as a sender sees it."""

    id: int
    purpose: str  # handoff | reply
    idempotency_key: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Receipt:
    """What the receiver told us: its reference for the message (ticket number, status id)."""

    reference: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)


Sender = Callable[[DestinationSettings, OutgoingMessage], Receipt]


def secret_env_name(destination: str, key: str) -> str:
    """``COMPLAINTWATCH_DESTINATION_<NAME>_<KEY>``; non-alphanumerics in the name become ``_``."""
    name = re.sub(r"[^A-Z0-9]", "_", destination.upper())
    return f"{ENV_PREFIX}DESTINATION_{name}_{key.upper()}"


def destination_secret(
    destination: DestinationSettings, key: str, *, required: bool = True, env: Mapping[str, str] | None = None
) -> str:
    """A destination's secret from the environment; :class:`PermanentDeliveryError` if required and unset."""
    env = os.environ if env is None else env
    name = secret_env_name(destination.name, key)
    value = env.get(name, "")
    if required and not value:
        raise PermanentDeliveryError(
            f"destination {destination.name!r} needs the environment variable {name}"
        )
    return value


def option(destination: DestinationSettings, key: str, default: Any = None, *, required: bool = False) -> Any:
    """One of the destination's ``options``, refusing a missing required one by name."""
    if key in destination.options:
        return destination.options[key]
    if required:
        raise PermanentDeliveryError(f"destination {destination.name!r} needs options.{key}")
    return default


def summary_line(payload: Mapping[str, Any]) -> str:
    """A one-line subject for a hand-off: ticket, brand, queue, platform and handle."""
    case, post = payload.get("case", {}), payload.get("post", {})
    return (
        f"[{case.get('ticket', '?')}] {post.get('brand', '')} {case.get('queue', '')} "
        f"(P{case.get('priority', '?')}): {post.get('platform', '')} post by {post.get('author_handle', '')}"
    ).strip()


def summary_text(payload: Mapping[str, Any]) -> str:
    """A plain-text body for a hand-off (e-mail, helpdesk article, chat message)."""
    case, post, tags = payload.get("case", {}), payload.get("post", {}), payload.get("tags", {})
    risk = ", ".join(tags.get("risk") or []) or "none"
    pii = ", ".join(tags.get("pii_types") or []) or "none"
    lines = [
        summary_line(payload),
        f"SLA due: {case.get('sla_due_at', '')}  rule: {case.get('rule', '')}",
        f"Post: {post.get('url', '')}",
        f"Topic: {tags.get('topic') or '-'}  risk: {risk}  personal data: {pii}",
        "",
        post.get("text") or "(text no longer stored)",
    ]
    if case.get("reply_draft"):
        lines += ["", f"Suggested reply: {case['reply_draft']}"]
    return "\n".join(lines)
