"""The whole loop on the replay source: collect → classify → route → re-check → export.

The replay's story clock and the pipeline share one virtual clock, stepped forward so that
every re-check sees every state of the timeline; the export must then hold every bundled post
exactly once, each classified, each with the final status of the replay, and the audit log
must hold each post's history of transitions in order.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from collectors.base import SourceSpec
from collectors.replay import ReplaySource, expected_history, load_timeline
from monitor.config import from_settings, parse_settings
from monitor.export import write_mentions
from monitor.pipeline import Pipeline
from monitor.sources import DatabaseState
from monitor.store.models import AuditEvent, Mention, Route

pytestmark = pytest.mark.slow


class VirtualClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def demo_settings(timeline):
    brands = sorted({p.brand for p in timeline.posts})
    return parse_settings(
        {
            "brands": [{"name": b} for b in brands],
            "sources": [{"name": "replay", "platform": "replay", "options": {"speed": 1}}],
            # Every post is due every 5 story minutes: the timeline spaces events ≥ 10 minutes apart.
            "audit": {"cadence": [[1e12, 300]]},
        }
    )


@pytest.fixture
def finished_run(store):
    timeline = load_timeline()
    clock = VirtualClock()
    settings = demo_settings(timeline)
    config = from_settings(settings, store.url)
    spec = SourceSpec("replay", "replay", "", None, {"speed": 1}, {}, DatabaseState(store, "replay"))
    pipeline = Pipeline(config, store, clock=clock, sources={"replay": ReplaySource(spec, clock=clock)})
    end = clock.now + timedelta(hours=5, minutes=30)
    while clock.now <= end:
        pipeline.collect("replay")
        pipeline.classify()
        pipeline.route()
        pipeline.recheck()
        clock.now += timedelta(minutes=5)
    return timeline, pipeline


def test_every_post_once_classified_and_every_event_reflected(finished_run):
    timeline, pipeline = finished_run
    buffer = io.StringIO()
    with pipeline.store.session() as session:
        write_mentions(session, buffer, "jsonl")
    records = [json.loads(line) for line in buffer.getvalue().splitlines()]
    ids = [r["native_id"] for r in records]
    assert len(ids) == len(set(ids)) == len(timeline.posts)
    assert all(r["model_version"] and isinstance(r["complaint"], bool) for r in records)
    final = {r["native_id"]: r["post_status"] for r in records}
    mismatched = {
        post.id: (final[post.id], expected_history(post.id, timeline)[-1])
        for post in timeline.posts
        if final[post.id] != expected_history(post.id, timeline)[-1]
    }
    assert not mismatched


def test_the_audit_log_holds_each_posts_history_in_order(finished_run):
    timeline, pipeline = finished_run
    with pipeline.store.session() as session:
        ids = dict(session.execute(select(Mention.native_id, Mention.id)).all())
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.kind == "post_status_changed").order_by(AuditEvent.seq)
        ).all()
    observed: dict[int, list[str]] = {}
    for event in events:
        observed.setdefault(event.mention_id, ["live"]).append(json.loads(event.payload)["status"])
    for post in timeline.posts:
        expected = expected_history(post.id, timeline)
        assert observed.get(ids[post.id], ["live"]) == expected, post.id
    for event in events:
        payload = json.loads(event.payload)
        if payload["status"] in ("removed_by_moderator", "removed_by_platform"):
            # the replay "platform" states removals itself, as Reddit's removed_by_category does
            assert payload["evidence_level"] == "platform_stated", payload
        if payload["status"] == "restored":
            assert payload["previous_status"] not in ("live", "restored"), payload


def test_complaints_land_in_the_queue_with_a_routing_suggestion(finished_run):
    _timeline, pipeline = finished_run
    with pipeline.store.session() as session:
        routes = session.scalars(select(Route)).all()
    assert len(routes) > 100
    assert {r.queue for r in routes} >= {"support", "privacy", "legal_review"}
    assert all(r.reply_draft or not r.public_reply for r in routes)
