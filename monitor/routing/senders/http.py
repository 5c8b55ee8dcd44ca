"""One HTTP POST with the error classification every HTTP sender shares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from monitor.routing.senders.base import DeliveryError, PermanentDeliveryError

TIMEOUT_S = 30.0
#: Statuses worth retrying: timeouts, conflicts while processing, rate limits and server errors.
RETRYABLE = frozenset({408, 409, 425, 429})


def post(url: str, body: bytes, headers: Mapping[str, str], *, what: str) -> httpx.Response:
    """POST ``body``; a 2xx response is returned, anything else raises a delivery error naming ``what``."""
    if not url.startswith(("http://", "https://")):
        raise PermanentDeliveryError(f"{what}: url {url!r} is not an http(s) URL")
    try:
        response = httpx.post(url, content=body, headers=dict(headers), timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{what}: {type(exc).__name__}: {exc}") from None
    if response.is_success:
        return response
    message = f"{what}: HTTP {response.status_code}: {response.text[:200]}"
    if response.status_code in RETRYABLE or response.status_code >= 500:
        raise DeliveryError(message)
    raise PermanentDeliveryError(message)


def json_body(response: httpx.Response) -> Any:
    """The response's JSON, or None when it has none."""
    try:
        return response.json()
    except ValueError:
        return None
