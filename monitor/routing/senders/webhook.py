"""Generic JSON webhook, signed with HMAC-SHA256 so the receiver can trust it.

The body is the outbox payload plus the idempotency key, as compact JSON. Headers:
``Idempotency-Key``, and ``X-Complaintwatch-Signature: sha256=<hex HMAC-SHA256 of the exact
body>`` with the secret from ``COMPLAINTWATCH_DESTINATION_<NAME>_SECRET``.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from monitor.routing.senders.base import OutgoingMessage, Receipt, destination_secret
from monitor.routing.senders.http import json_body, post
from monitor.settings import DestinationSettings

SIGNATURE_HEADER = "X-Complaintwatch-Signature"


def sign(secret: str, body: bytes) -> str:
    """The signature header value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(destination: DestinationSettings, message: OutgoingMessage) -> Receipt:
    """POST the payload as signed JSON."""
    secret = destination_secret(destination, "secret")
    document = {"idempotency_key": message.idempotency_key, **message.payload}
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": message.idempotency_key,
        SIGNATURE_HEADER: sign(secret, body),
    }
    response = post(destination.url, body, headers, what=f"webhook {destination.name!r}")
    answer = json_body(response)
    reference = str(answer.get("id", "")) if isinstance(answer, dict) else ""
    return Receipt(reference=reference)
