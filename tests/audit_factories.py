"""Small builders for the audit tests: stored mentions, classifications and observations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from collectors.base import AuthorStatus, PostStatus, StatusObservation
from monitor.audit.canonical import canonical_json, sha256_hex
from monitor.store.models import Classification, Mention

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def add_mention(
    session: Session,
    native_id: str,
    *,
    platform: str = "reddit",
    brand: str = "Telvia",
    text: str = "Telvia hat mein Konto gesperrt <b>frech</b>",
    created_at: datetime = T0,
    first_seen_at: datetime | None = None,
    author_id: str = "u1",
    **extra: Any,
) -> Mention:
    raw = {"id": native_id, "body": text}
    fields: dict[str, Any] = {
        "post_status": "live",
        "author_status": "active",
        "check_count": 0,
        "legal_hold": False,
        "consent": False,
        **extra,
    }
    mention = Mention(
        platform=platform,
        native_id=native_id,
        source=f"{platform}-main",
        brand=brand,
        author_id=author_id,
        author_handle=f"@{author_id}",
        text=text,
        content_sha256=sha256_hex(text),
        url=f"https://{platform}.example/{native_id}",
        lang="de",
        created_at=created_at,
        first_seen_at=first_seen_at or created_at + timedelta(seconds=30),
        raw=raw,
        raw_sha256=sha256_hex(canonical_json(raw)),
        provenance={"source": f"{platform}-main"},
        **fields,
    )
    session.add(mention)
    session.flush()
    return mention


def classify(session: Session, mention: Mention, *, complaint: bool, risk: bool = False) -> None:
    session.add(
        Classification(
            mention_id=mention.id,
            model_version="test",
            complaint=complaint,
            risk=risk,
            tags={"complaint": complaint},
            scores={},
            evidence={},
        )
    )
    session.flush()


def observation(
    native_id: str,
    status: PostStatus = PostStatus.LIVE,
    author: AuthorStatus = AuthorStatus.ACTIVE,
    **extra: Any,
) -> StatusObservation:
    evidence = extra.pop("evidence", {"id": native_id, "state": status.value, "body": "Telvia text"})
    return StatusObservation(
        native_id=native_id, status=status, author_status=author, evidence=evidence, **extra
    )
