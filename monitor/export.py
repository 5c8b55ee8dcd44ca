"""Export of mentions: one record each, with the latest classification and statuses."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.store.models import Classification, Mention

FIELDS = (
    "platform",
    "native_id",
    "source",
    "brand",
    "author_id",
    "author_handle",
    "lang",
    "url",
    "created_at",
    "first_seen_at",
    "text",
    "content_sha256",
    "post_status",
    "author_status",
    "last_checked_at",
    "check_count",
    "model_version",
    "complaint",
    "topic",
    "tags",
    "scores",
)


def mention_records(session: Session, batch: int = 1000) -> Iterator[dict[str, Any]]:
    """Every mention in id order, joined to its newest classification (streamed, not loaded at once)."""
    latest = (
        select(Classification.mention_id, func.max(Classification.id).label("cid"))
        .group_by(Classification.mention_id)
        .subquery()
    )
    query = (
        select(Mention, Classification)
        .outerjoin(latest, latest.c.mention_id == Mention.id)
        .outerjoin(Classification, Classification.id == latest.c.cid)
        .order_by(Mention.id)
        .execution_options(yield_per=batch)
    )
    for mention, classification in session.execute(query):
        yield _record(mention, classification)


def _record(mention: Mention, classification: Classification | None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "platform": mention.platform,
        "native_id": mention.native_id,
        "source": mention.source,
        "brand": mention.brand,
        "author_id": mention.author_id,
        "author_handle": mention.author_handle,
        "lang": mention.lang,
        "url": mention.url,
        "created_at": mention.created_at.isoformat(),
        "first_seen_at": mention.first_seen_at.isoformat(),
        "text": mention.text,
        "content_sha256": mention.content_sha256,
        "post_status": mention.post_status,
        "author_status": mention.author_status,
        "last_checked_at": mention.last_checked_at.isoformat() if mention.last_checked_at else None,
        "check_count": mention.check_count,
        "model_version": None,
        "complaint": None,
        "topic": None,
        "tags": None,
        "scores": None,
    }
    if classification is not None:
        record.update(
            model_version=classification.model_version,
            complaint=classification.complaint,
            topic=classification.topic,
            tags=classification.tags,
            scores=classification.scores,
        )
    return record


def write_mentions(session: Session, stream: IO[str], fmt: str) -> int:
    """Write every mention as JSON lines or CSV; returns the count."""
    count = 0
    if fmt == "jsonl":
        for record in mention_records(session):
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
        return count
    writer = csv.DictWriter(stream, fieldnames=FIELDS)
    writer.writeheader()
    for record in mention_records(session):
        for key in ("tags", "scores"):
            if record[key] is not None:
                record[key] = json.dumps(record[key], ensure_ascii=False, sort_keys=True)
        writer.writerow(record)
        count += 1
    return count
