"""Builders for the routing tests: tagged mentions, configs with destinations, a clock."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fakes.server import FakeServer, Reply, Request
from sqlalchemy.orm import Session

from monitor.config import Config, from_settings
from monitor.settings import (
    BrandSettings,
    DestinationSettings,
    RoutingRuleSettings,
    RoutingSettings,
    Settings,
)
from monitor.store.models import Classification, Mention

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
BRAND = "Telvia"
HOTLINE = "0800 123 4567"


def add_tagged(
    session: Session,
    native_id: str,
    text: str = "Telvia, mein Internet ist seit drei Tagen weg!",
    *,
    complaint: bool = True,
    lang: str = "de",
    platform: str = "mastodon",
    handle: str = "anna@social.example",
    topic: str | None = "outage",
    risk: Sequence[str] = (),
    pii: Sequence[tuple[str, str]] = (),
    score: float = 0.9,
    created_at: datetime = T0,
    classified: bool = True,
) -> Mention:
    """A stored mention with one classification; ``pii`` = (type, exact substring of ``text``)."""
    mention = Mention(
        platform=platform,
        native_id=native_id,
        source=f"{platform}-main",
        brand=BRAND,
        author_id=f"id-{native_id}",
        author_handle=handle,
        text=text,
        content_sha256=hashlib.sha256(text.encode()).hexdigest(),
        url=f"https://{platform}.example/{native_id}",
        lang=lang,
        created_at=created_at,
        first_seen_at=created_at + timedelta(minutes=1),
        raw={"id": native_id},
        raw_sha256="0" * 64,
        provenance={"source": f"{platform}-main"},
        classified_at=created_at + timedelta(minutes=2) if classified else None,
    )
    session.add(mention)
    session.flush()
    spans = [
        {"type": kind, "start": text.index(value), "end": text.index(value) + len(value)}
        for kind, value in pii
    ]
    tags: dict[str, Any] = {
        "complaint": complaint,
        "topic": topic,
        "pii": spans,
        "lang": lang,
        "truncated": False,
        **{tag: tag in risk for tag in ("legal_threat", "regulator", "defamation_risk", "insult")},
    }
    session.add(
        Classification(
            mention_id=mention.id,
            model_version="test",
            complaint=complaint,
            topic=topic,
            risk=bool(risk),
            pii=bool(spans),
            tags=tags,
            scores={"complaint": score},
            evidence={},
            created_at=created_at,
        )
    )
    session.flush()
    return mention


def make_config(
    database_url: str,
    *,
    rules: Sequence[RoutingRuleSettings] = (),
    destinations: Sequence[DestinationSettings] = (),
    use_default_rules: bool = True,
) -> Config:
    settings = Settings(
        brands=[BrandSettings(name=BRAND, terms=["telvia"], contacts=[HOTLINE, "hilfe@telvia.example"])],
        routing=RoutingSettings(rules=list(rules), use_default_rules=use_default_rules),
        destinations=list(destinations),
    )
    return from_settings(settings, database_url)


# -- receivers ---------------------------------------------------------------------------------------

WEBHOOK_SECRET = "s3cret-for-tests"


class WebhookReceiver:
    """A JSON webhook endpoint that checks the HMAC signature; optionally dedupes by Idempotency-Key."""

    def __init__(self, *, secret: str = WEBHOOK_SECRET, dedupe: bool = True) -> None:
        self.secret, self.dedupe = secret, dedupe
        self.acted_on: list[tuple[str, dict[str, Any]]] = []  # (key, document) for each delivery acted on
        self.duplicates = 0
        self.server = FakeServer()
        self.server.route("POST", "/hook", self._hook)

    def _hook(self, request: Request) -> Reply:
        expected = "sha256=" + hmac.new(self.secret.encode(), request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("x-complaintwatch-signature", ""), expected):
            return Reply(401, {"error": "bad signature"})
        key = request.headers.get("idempotency-key", "")
        if not key:
            return Reply(400, {"error": "Idempotency-Key missing"})
        if self.dedupe and key in {seen for seen, _ in self.acted_on}:
            self.duplicates += 1
            return Reply(200, {"id": f"evt-{key}", "duplicate": True})
        self.acted_on.append((key, request.json()))
        return Reply(202, {"id": f"evt-{key}"})

    def start(self) -> WebhookReceiver:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url + "/hook"
