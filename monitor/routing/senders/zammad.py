"""A Zammad ticket over its REST API: ``POST /api/v1/tickets`` with an API token.

``url`` is the Zammad base URL; options: ``group`` (required), ``customer`` (an e-mail or
``guess:<email>``; default ``guess:social@complaintwatch.invalid``), ``article_type`` (default
``note``). The token comes from ``COMPLAINTWATCH_DESTINATION_<NAME>_TOKEN``. Zammad has no
idempotency header of its own; the key travels as the article's ``message_id`` so an agent (or a
search) can tell a duplicate.
"""

from __future__ import annotations

import json
from typing import Any

from monitor.routing.senders.base import (
    OutgoingMessage,
    PermanentDeliveryError,
    Receipt,
    destination_secret,
    option,
    summary_line,
    summary_text,
)
from monitor.routing.senders.email import message_id
from monitor.routing.senders.http import json_body, post
from monitor.settings import DestinationSettings

DEFAULT_CUSTOMER = "guess:social@complaintwatch.invalid"


def ticket(destination: DestinationSettings, message: OutgoingMessage) -> dict[str, Any]:
    """The ticket document Zammad's ``POST /api/v1/tickets`` expects."""
    return {
        "title": summary_line(message.payload)[:250],
        "group": option(destination, "group", required=True),
        "customer": option(destination, "customer", DEFAULT_CUSTOMER),
        "article": {
            "subject": summary_line(message.payload)[:250],
            "body": summary_text(message.payload),
            "type": option(destination, "article_type", "note"),
            "content_type": "text/plain",
            "internal": False,
            "message_id": message_id(message.idempotency_key),
        },
    }


def send(destination: DestinationSettings, message: OutgoingMessage) -> Receipt:
    """Create the ticket; the receipt holds Zammad's ticket number."""
    if message.purpose != "handoff":
        raise PermanentDeliveryError(f"zammad destination {destination.name!r} only takes hand-offs")
    token = destination_secret(destination, "token")
    body = json.dumps(ticket(destination, message), ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Authorization": f"Token token={token}",
        "Idempotency-Key": message.idempotency_key,
    }
    url = destination.url.rstrip("/") + "/api/v1/tickets"
    answer = json_body(post(url, body, headers, what=f"zammad {destination.name!r}"))
    if not isinstance(answer, dict) or "id" not in answer:
        raise PermanentDeliveryError(f"zammad {destination.name!r}: the answer has no ticket id: {answer!r}")
    return Receipt(reference=str(answer.get("number") or answer["id"]), detail={"ticket_id": answer["id"]})
