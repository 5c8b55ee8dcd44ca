"""A span a source can no longer reach is recorded as a closed coverage gap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from collectors.base import BrandQuery, LookupResult, Page, PostRef
from monitor.config import from_settings, parse_settings
from monitor.pipeline import Pipeline
from monitor.store.models import CoverageGap


class LateSource:
    """A source whose first page says the week before last could not be searched any more."""

    platform = "replay"
    lookup_batch = 100

    def __init__(self, missed: tuple[datetime, datetime]) -> None:
        self.missed = missed

    def search(self, query: BrandQuery, cursor: str | None) -> Page:
        return Page([], "done", exhausted=True, missed=None if cursor else self.missed)

    def lookup(self, posts: list[PostRef]) -> LookupResult:
        return LookupResult([])


def test_missed_span_becomes_a_closed_gap(store):
    settings = parse_settings(
        {"brands": [{"name": "A"}], "sources": [{"name": "late", "platform": "replay"}]}
    )
    end = datetime(2026, 11, 14, tzinfo=UTC)
    source = LateSource((end - timedelta(days=2), end))
    pipeline = Pipeline(from_settings(settings, store.url), store, sources={"late": source})

    pipeline.collect("late")
    pipeline.collect("late")  # the next page reports nothing missed: no second gap

    with store.session() as session:
        gaps = session.scalars(select(CoverageGap)).all()
    assert [(g.source, g.kind, g.started_at, g.ended_at) for g in gaps] == [
        ("late", "collect", end - timedelta(days=2), end)
    ]
    assert "search window expired" in gaps[0].reason
