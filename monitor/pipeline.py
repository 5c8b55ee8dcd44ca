"""The four stages as plain functions over a store: collect → classify → route → re-check.

Each stage is crash-safe on its own: a page of posts and its cursor are stored in one
transaction; a batch of classifications and the ``classified_at`` marks in one; a batch of
status observations and their audit events in one. A kill at any point repeats work at
most, and idempotent writes (``ON CONFLICT DO NOTHING`` on the natural key) make the
repetition harmless.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from collectors.base import (
    Mention,
    Page,
    PostRef,
    RateLimited,
    Source,
    SourceError,
    TransientError,
)
from monitor import __version__, health
from monitor.audit import record_observations
from monitor.audit.cadence import Cadence, due_mentions, next_check_at
from monitor.config import Config
from monitor.settings import BrandSettings, SourceSettings
from monitor.sources import brand_query, make_source
from monitor.store import Store
from monitor.store.models import Classification, Cursor
from monitor.store.models import Mention as MentionRow

log = logging.getLogger(__name__)

COLLECTOR_VERSION = f"complaintwatch/{__version__}"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class CollectStats:
    source: str
    pages: int = 0
    received: int = 0
    stored: int = 0  # new rows; received - stored were already known
    reads: int = 0  # posts the platform billed (counted against ``monthly_read_budget``)
    skipped: str = ""  # why the source was not called, if it was not
    stopped: str = ""  # why the run ended before the source had nothing more, if it did

    def __str__(self) -> str:
        if self.skipped:
            return f"{self.source}: skipped ({self.skipped})"
        text = f"{self.source}: {self.pages} page(s), {self.received} received, {self.stored} new"
        return text + (f"; stopped: {self.stopped}" if self.stopped else "")


@dataclass
class RecheckStats:
    checked: int = 0
    transitions: int = 0
    undecided: int = 0
    calls: int = 0
    skipped: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.checked} checked, {self.transitions} status change(s), {self.undecided} undecided"
        return text + (f"; skipped: {'; '.join(self.skipped)}" if self.skipped else "")


class Pipeline:
    """Runs the stages for one config and store. Sources and the tagger are built lazily, once."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        clock: Callable[[], datetime] = utcnow,
        tagger: Any = None,
        sources: Mapping[str, Source] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self._tagger = tagger
        self._tagger_folder: Path | None = None  # the artifact folder a tagger we loaded came from
        self._sources: dict[str, Source] = dict(sources or {})

    # -- helpers -----------------------------------------------------------------------------
    def source(self, name: str) -> Source:
        if name not in self._sources:
            self._sources[name] = make_source(self.config, self.store, self.config.source(name))
        return self._sources[name]

    @property
    def tagger(self) -> Any:
        if self._tagger is None:
            from monitor.tagging import active_artifacts, load_tagger  # heavy import: only when classifying

            self._tagger_folder = active_artifacts(self.config).resolve()
            self._tagger = load_tagger(self.config)
        return self._tagger

    def _pick_up_promoted_model(self) -> None:
        """Drop a tagger we loaded when `complaintwatch train` has since promoted another model."""
        if self._tagger_folder is None:
            return  # none loaded yet, or one handed in by the caller
        from monitor.tagging import active_artifacts

        folder = active_artifacts(self.config).resolve()
        if folder != self._tagger_folder:
            log.info("the active model changed (%s -> %s); loading it", self._tagger_folder, folder)
            self._tagger, self._tagger_folder = None, None

    def _brands(self, source: SourceSettings) -> list[BrandSettings]:
        wanted = set(self.config.brand_names(source))
        return [b for b in self.config.settings.brands if b.name in wanted]

    # -- collect -----------------------------------------------------------------------------
    def collect_all(self) -> list[CollectStats]:
        return [self.collect(s.name) for s in self.config.enabled_sources()]

    def collect(self, source_name: str, max_pages: int | None = None) -> CollectStats:
        """Fetch new mentions of one source for each of its brands until it has nothing more now."""
        settings = self.config.source(source_name)
        stats = CollectStats(source_name)
        max_pages = max_pages or self.config.settings.scheduler.pages_per_run
        with self.store.session() as session:
            row = health.health(session, source_name)
            now = self.clock()
            paused = health.paused_reason(row, now)
            budget = health.remaining_budget(row, now, settings.monthly_read_budget)
        if paused:
            stats.skipped = paused
            return stats
        if budget == 0:
            stats.skipped = self._budget_used_up(settings)
            return stats
        source = self.source(source_name)
        for brand in self._brands(settings):
            if not self._collect_brand(source, settings, brand, stats, max_pages, budget):
                break
        return stats

    def _collect_brand(
        self,
        source: Source,
        settings: SourceSettings,
        brand: BrandSettings,
        stats: CollectStats,
        max_pages: int,
        budget: int | None,
    ) -> bool:
        """Page through one brand's search; False when the source must stop for now.

        ``budget`` is what is left of the monthly read budget (None: no cap); it is checked before
        every page, so a run stops within one page of the cap. The cursor is read once: each page
        stores the next one in its own transaction, so memory and database agree until a crash.
        """
        query = brand_query(brand)
        cursor = self._load_cursor(settings.name, brand.name)
        for _ in range(max_pages):
            if budget is not None and stats.reads >= budget:
                stats.stopped = self._budget_used_up(settings)
                return False
            try:
                page = source.search(query, cursor)
            except SourceError as exc:
                self._record_failure(settings.name, "collect", exc)
                return False
            stats.stored += self._store_page(settings, brand.name, page, first=stats.pages == 0)
            stats.pages += 1
            stats.received += len(page.mentions)
            stats.reads += page.billed_reads or len(page.mentions)
            cursor = page.next_cursor
            if page.exhausted:
                break
        return True

    def _budget_used_up(self, settings: SourceSettings, kind: str = "collect") -> str:
        """Log and record (as a coverage gap) that the monthly read budget stops collection or re-checks."""
        message = f"monthly read budget of {settings.monthly_read_budget} posts used up"
        log.warning("source %s: %s (%s)", settings.name, message, kind)
        with self.store.session() as session:
            health.open_gap(session, settings.name, kind, message, self.clock())
        return message

    def _read_budget_left(self, settings: SourceSettings) -> int | None:
        with self.store.session() as session:
            row = health.health(session, settings.name)
            return health.remaining_budget(row, self.clock(), settings.monthly_read_budget)

    def _load_cursor(self, source: str, brand: str) -> str | None:
        with self.store.session() as session:
            row = session.get(Cursor, (source, brand))
            return row.cursor if row else None

    def _store_page(self, settings: SourceSettings, brand: str, page: Page, first: bool = True) -> int:
        """Insert the page's mentions and its cursor in ONE transaction; returns new rows.

        Open coverage gaps are closed by the run's first page; no later page of the run can find one.
        """
        now = self.clock()
        rows = self._mention_rows(settings.name, brand, page, now)
        with self.store.session() as session:
            stored = insert_mentions(session, rows)
            save_cursor(session, settings.name, brand, page.next_cursor, now)
            row = health.health(session, settings.name)
            health.record_use(row, now, reads=page.billed_reads or len(page.mentions), calls=1)
            health.record_success(session, row, now, "collect", close_open_gaps=first)
            if page.missed is not None:
                health.record_missed(session, settings.name, page.missed, now)
        return stored

    def _mention_rows(self, source: str, brand: str, page: Page, now: datetime) -> list[dict]:
        """The page's rows; what is the same for the whole page is computed once."""
        provenance = {
            "source": source,
            "collector_version": COLLECTOR_VERSION,
            "retrieved_at": now.isoformat(),
            "request": dict(page.request),
        }
        due = self._next_checks(page.mentions, now)
        return [
            self._mention_row(source, brand, mention, now, next_check, provenance)
            for mention, next_check in zip(page.mentions, due, strict=True)
        ]

    def _next_checks(self, mentions: Sequence[Mention], now: datetime) -> list[datetime]:
        """First re-check time of each mention: the cadence computed once for the whole page."""
        if not mentions:
            return []
        plan = Cadence.parse(self.config.settings.audit.cadence)
        created = np.array([m.created_at.timestamp() for m in mentions], dtype=float)
        epochs = plan.next_check_epoch(created, now.timestamp())
        return [datetime.fromtimestamp(float(epoch), UTC) for epoch in epochs]

    def _mention_row(
        self, source: str, brand: str, mention: Mention, now: datetime, next_check: datetime, provenance: dict
    ) -> dict:
        raw = dict(mention.raw)
        return {
            "platform": mention.platform,
            "native_id": mention.native_id,
            "source": source,
            "brand": brand,
            "author_id": mention.author_id,
            "author_handle": mention.author_handle,
            "text": mention.text,
            "content_sha256": sha256_text(mention.text),
            "url": mention.url,
            "lang": mention.lang,
            "reply_to_id": mention.reply_to_id,
            "created_at": mention.created_at,
            "first_seen_at": now,
            "raw": raw,
            "raw_sha256": sha256_text(canonical_json(raw)),
            "provenance": provenance,
            "post_status": "live",
            "author_status": "active",
            "last_seen_live_at": now,
            "next_check_at": next_check,
            "check_count": 0,
            "legal_hold": False,
            "consent": False,
        }

    def _record_failure(self, source_name: str, kind: str, exc: Exception) -> None:
        now = self.clock()
        with self.store.session() as session:
            row = health.health(session, source_name)
            if isinstance(exc, RateLimited):
                health.record_rate_limit(session, row, now, exc.reset_at, kind, str(exc))
            elif isinstance(exc, TransientError):
                health.record_transient(session, row, now, kind, str(exc), exc.retry_after)
            else:  # credentials refused, or a request the platform rejects (bad option, unknown forum)
                health.record_failing(session, row, now, kind, str(exc))

    # -- classify ----------------------------------------------------------------------------
    def classify(self, limit: int | None = None) -> int:
        """Tag mentions that have no classification yet; returns how many were tagged."""
        scheduler = self.config.settings.scheduler
        limit = limit or scheduler.classify_max_per_run
        self._pick_up_promoted_model()
        done = 0
        while done < limit:
            batch = min(scheduler.classify_batch, limit - done)
            tagged = self._classify_batch(batch)
            if not tagged:
                break
            done += tagged
        return done

    def _classify_batch(self, size: int) -> int:
        contacts = {b.name: tuple(b.contacts) for b in self.config.settings.brands}
        with self.store.session() as session:
            query = (
                select(MentionRow)
                .where(MentionRow.classified_at.is_(None))
                .order_by(MentionRow.id)
                .limit(size)
                .with_for_update(skip_locked=True)
            )
            mentions = list(session.scalars(query))
            if not mentions:
                return 0
            now = self.clock()
            for brand, group in _group_by(mentions, lambda m: m.brand).items():
                results = self.tagger.tag_batch(
                    [m.text or "" for m in group],
                    langs=[m.lang for m in group],
                    brand_contacts=contacts.get(brand, ()),
                )
                for mention, result in zip(group, results, strict=True):
                    session.add(classification_row(mention.id, self.tagger.version, result, now))
                    mention.classified_at = now
            return len(mentions)

    # -- route -------------------------------------------------------------------------------
    def route(self) -> int:
        from monitor.routing import route_pending

        with self.store.session() as session:
            return route_pending(session, self.config, self.clock())

    def send(self) -> dict:
        from monitor.routing.outbox import deliver_due

        return deliver_due(self.store, self.config, self.clock())

    # -- re-check ----------------------------------------------------------------------------
    def recheck(self, *, everything: bool = False, limit: int | None = None) -> RecheckStats:
        """Ask each source for the status of due posts (or of every post with ``everything``)."""
        stats = RecheckStats()
        limit = limit or self.config.settings.scheduler.recheck_max_per_run
        enabled = {s.name for s in self.config.enabled_sources()}
        for source_name, mention_ids in self._due_by_source(everything, limit).items():
            if source_name not in enabled:
                stats.skipped.append(f"{source_name}: source not enabled in the config")
                continue
            self._recheck_source(source_name, mention_ids, stats)
        return stats

    def _due_by_source(self, everything: bool, limit: int) -> dict[str, list[int]]:
        now = self.clock()
        with self.store.session() as session:
            if everything:
                rows = session.execute(select(MentionRow.id, MentionRow.source).order_by(MentionRow.id)).all()
                pairs = [(r.source, r.id) for r in rows]
            else:
                due = due_mentions(session, now, limit, cadence=self.config.settings.audit.cadence)
                pairs = [(m.source, m.id) for m in due]
        grouped: dict[str, list[int]] = defaultdict(list)
        for source, mention_id in pairs:
            grouped[source].append(mention_id)
        return grouped

    def _recheck_source(self, source_name: str, mention_ids: list[int], stats: RecheckStats) -> None:
        settings = self.config.source(source_name)
        with self.store.session() as session:
            reason = health.paused_reason(health.health(session, source_name), self.clock())
        if reason:
            stats.skipped.append(f"{source_name}: {reason}")
            return
        source = self.source(source_name)
        billed = getattr(source, "bills_lookups", False)
        # Adapters that batch inside ``lookup`` (authors across posts) say how much they take at once.
        for chunk in _chunks(mention_ids, getattr(source, "lookup_chunk", source.lookup_batch)):
            if billed and self._read_budget_left(settings) == 0:
                stats.skipped.append(f"{source_name}: {self._budget_used_up(settings, 'recheck')}")
                return
            try:
                self._recheck_chunk(source, settings, chunk, stats)
            except SourceError as exc:
                self._record_failure(source_name, "recheck", exc)
                stats.skipped.append(f"{source_name}: {exc}")
                return

    def _recheck_chunk(
        self, source: Source, settings: SourceSettings, ids: Sequence[int], stats: RecheckStats
    ) -> None:
        with self.store.session() as session:
            refs = [
                PostRef(r.native_id, r.author_id, r.author_handle, r.created_at)
                for r in session.execute(
                    select(
                        MentionRow.native_id,
                        MentionRow.author_id,
                        MentionRow.author_handle,
                        MentionRow.created_at,
                    ).where(MentionRow.id.in_(ids))
                )
            ]
        result = source.lookup(refs)  # network call outside any transaction
        now = self.clock()
        cadence = self.config.settings.audit.cadence
        with self.store.session() as session:
            mentions = session.scalars(select(MentionRow).where(MentionRow.id.in_(ids))).all()
            by_native = {m.native_id: m for m in mentions}
            pairs = [(by_native[o.native_id], o) for o in result.observations if o.native_id in by_native]
            # Counted before the observations move ``last_checked_at`` to now.
            reads = _billed_today(result.billed, by_native, now)
            stats.transitions += record_observations(
                session,
                source=settings.name,
                checked_at=now,
                observations=pairs,
                preservation=self.config.settings.audit.preservation,
            )
            for mention, _ in pairs:
                mention.next_check_at = next_check_at(mention.created_at, now, cadence)
            row = health.health(session, settings.name)
            health.record_use(row, now, reads=reads, calls=result.calls)
            health.record_success(session, row, now, "recheck")
        stats.checked += len(pairs)
        stats.undecided += len(refs) - len(pairs)
        stats.calls += result.calls


def _billed_today(billed: Sequence[str], by_native: Mapping[str, MentionRow], now: datetime) -> int:
    """How many of the ``billed`` posts cost a read now: X bills a post once per UTC day, so one already
    collected or re-checked today is free."""
    today = now.astimezone(UTC).date()

    def read_today(mention: MentionRow) -> bool:
        last = mention.last_checked_at or mention.first_seen_at
        return last is not None and last.astimezone(UTC).date() == today

    billed_mentions = [by_native[native_id] for native_id in set(billed) if native_id in by_native]
    return sum(1 for mention in billed_mentions if not read_today(mention))


def insert_mentions(session: Session, rows: list[dict]) -> int:
    """Insert mention rows, ignoring ones already stored (same platform + native id); returns new rows.

    One statement per page: ``RETURNING`` names exactly the rows inserted (a conflict returns
    nothing), so counting the new ones needs no extra query. SQLAlchemy batches the executemany
    into multi-row ``INSERT … VALUES`` on both SQLite and PostgreSQL.
    """
    if not rows:
        return 0
    table = MentionRow.__table__
    statement = (
        _dialect_insert(session)(table)
        .on_conflict_do_nothing(index_elements=["platform", "native_id"])
        .returning(table.c.id)
    )
    return len(session.execute(statement, rows).all())


def save_cursor(session: Session, source: str, brand: str, cursor: str | None, now: datetime) -> None:
    """Upsert one (source, brand) cursor: one statement instead of a select and an update."""
    values = {"source": source, "brand": brand, "cursor": cursor, "updated_at": now}
    statement = _dialect_insert(session)(Cursor.__table__).values(values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["source", "brand"], set_={"cursor": cursor, "updated_at": now}
        )
    )


def _dialect_insert(session: Session) -> Callable[..., Any]:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def classification_row(mention_id: int, model_version: str, result: Any, now: datetime) -> Classification:
    tags = dict(result.tags)
    risk = any(bool(tags.get(t)) for t in ("legal_threat", "regulator", "defamation_risk", "insult"))
    return Classification(
        mention_id=mention_id,
        model_version=model_version,
        complaint=bool(tags.get("complaint")),
        topic=tags.get("topic"),
        risk=risk,
        pii=bool(tags.get("pii")),
        tags=tags,
        scores=dict(result.scores),
        evidence=dict(result.evidence),
        created_at=now,
    )


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _chunks(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), max(size, 1)):
        yield items[start : start + size]


def _group_by(items: Iterable[MentionRow], key: Callable[[MentionRow], str]) -> dict[str, list[MentionRow]]:
    grouped: dict[str, list[MentionRow]] = defaultdict(list)
    for item in items:
        grouped[key(item)].append(item)
    return grouped
