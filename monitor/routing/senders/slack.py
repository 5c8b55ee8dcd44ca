"""Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat): ``{"text": …, "blocks": …}``.

The webhook URL is itself the credential, so it may come from
``COMPLAINTWATCH_DESTINATION_<NAME>_URL`` instead of the config file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from monitor.routing.senders.base import (
    OutgoingMessage,
    PermanentDeliveryError,
    Receipt,
    destination_secret,
    summary_line,
    summary_text,
)
from monitor.routing.senders.http import post
from monitor.settings import DestinationSettings

#: Slack refuses section texts longer than this.
SECTION_LIMIT = 3000


def send(destination: DestinationSettings, message: OutgoingMessage) -> Receipt:
    """Post the hand-off as a chat message with a header, the post and a link."""
    if message.purpose != "handoff":
        raise PermanentDeliveryError(f"slack destination {destination.name!r} only takes hand-offs")
    url = destination_secret(destination, "url", required=False) or destination.url
    body = json.dumps(chat_message(message.payload), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": message.idempotency_key}
    post(url, body, headers, what=f"slack {destination.name!r}")
    return Receipt()


def chat_message(payload: Mapping[str, Any]) -> dict[str, Any]:
    """``text`` (the notification fallback) and Block Kit ``blocks``."""
    post_info = payload.get("post", {})
    details = summary_text(payload).split("\n", 1)[1] if "\n" in summary_text(payload) else ""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": summary_line(payload)[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _escape(details)[:SECTION_LIMIT]}},
    ]
    if post_info.get("url"):
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open post"},
                        "url": post_info["url"],
                    }
                ],
            }
        )
    return {"text": summary_line(payload), "blocks": blocks}


def _escape(text: str) -> str:
    # Slack mrkdwn treats these three as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
