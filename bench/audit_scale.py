"""Audit log at scale on SQLite: append and verify N events (default 1,000,000), export 10,000 in a dossier.

Each step is printed as CPU seconds of this process (robust on a shared machine), wall seconds, and the
CPU ratio against a baseline measured in the same run: a plain ``hashlib.sha256`` pass over the same
canonical bytes the chain hashes (the least work any hash chain must do). Targets from the issue: verify
1,000,000 events in under 60 s, export 10,000 in under 10 s.

    .venv/bin/python bench/audit_scale.py [--events 1000000] [--export-events 10000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select

from monitor.audit import EventDraft, append_events
from monitor.audit.chain import envelope_text
from monitor.audit.dossier import Selection, export_dossier, verify_export
from monitor.audit.verify import verify_chain
from monitor.store import Store
from monitor.store.models import AuditEvent, Mention

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BATCH = 1000  # events per transaction, about one re-check run's worth


def payload(i: int) -> dict:
    """A payload shaped like a status transition (the most common event)."""
    return {
        "platform": "reddit",
        "native_id": f"t3_{i:08d}",
        "brand": "Telvia",
        "previous_status": "live",
        "status": "deleted_by_author",
        "window": {"from": T0 + timedelta(seconds=i), "to": T0 + timedelta(seconds=i + 300)},
        "verdict": "deleted_by_author",
        "evidence_level": "platform_stated",
        "evidence_sha256": hashlib.sha256(str(i).encode()).hexdigest(),
    }


@dataclass
class Timing:
    cpu: float
    wall: float


@contextmanager
def measure() -> Iterator[Timing]:
    timing = Timing(0.0, 0.0)
    cpu, wall = time.process_time(), time.perf_counter()
    yield timing
    timing.cpu, timing.wall = time.process_time() - cpu, time.perf_counter() - wall


def append(store: Store, count: int, mention_ids: list[int] | None = None) -> None:
    for first in range(0, count, BATCH):
        drafts = [
            EventDraft(
                "post_status_changed",
                f"reddit:t3_{i:08d}",
                payload(i),
                T0 + timedelta(seconds=i),
                mention_id=mention_ids[i % len(mention_ids)] if mention_ids else None,
            )
            for i in range(first, min(count, first + BATCH))
        ]
        with store.session() as session:
            append_events(session, drafts)


def baseline(store: Store) -> float:
    """SHA-256 over exactly the bytes the chain hashes, read back from the database beforehand."""
    with store.session() as session:
        rows = session.execute(select(AuditEvent.__table__)).all()
    texts = [
        envelope_text(
            seq=r.seq,
            kind=r.kind,
            subject=r.subject,
            mention_id=r.mention_id,
            occurred_at=r.occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            recorded_at=r.recorded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            actor=r.actor,
            payload=r.payload,
            prev_hash=r.prev_hash,
        ).encode()
        for r in rows
    ]
    with measure() as timing:
        for data in texts:
            hashlib.sha256(data).hexdigest()
    return timing.cpu


def seed_mentions(store: Store, count: int) -> list[int]:
    rows = [
        {
            "platform": "reddit",
            "native_id": f"m{i}",
            "source": "reddit-main",
            "brand": "Telvia",
            "author_id": f"a{i % 500}",
            "author_handle": f"@a{i % 500}",
            "text": f"Telvia Beschwerde {i}",
            "content_sha256": hashlib.sha256(str(i).encode()).hexdigest(),
            "url": f"https://r.example/{i}",
            "created_at": T0 + timedelta(minutes=i),
            "first_seen_at": T0 + timedelta(minutes=i),
            "raw": {"id": i},
            "raw_sha256": "0" * 64,
            "provenance": {},
            "post_status": "deleted_by_author",
            "author_status": "active",
            "check_count": 0,
            "legal_hold": False,
            "consent": False,
        }
        for i in range(count)
    ]
    with store.session() as session:
        session.execute(insert(Mention), rows)
        return list(session.scalars(select(Mention.id).order_by(Mention.id)))


def report(label: str, timing: Timing, base: float, target: str = "") -> None:
    ratio = timing.cpu / base
    print(f"{label:<30} {timing.cpu:8.2f} s CPU {timing.wall:8.2f} s wall {ratio:8.1f}x baseline  {target}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--export-events", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, default=None, help="Keep the databases in this folder.")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="audit-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        run(folder, args.events, args.export_events)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def run(folder: Path, events: int, export_events: int) -> None:
    big = Store(f"sqlite:///{folder / 'chain.db'}")
    big.upgrade()
    print(f"SQLite, {events:,} events appended in transactions of {BATCH}")
    with measure() as appending:
        append(big, events)
    base = baseline(big)
    print(f"{'baseline: hashlib, same bytes':<30} {base:8.2f} s CPU")
    report("append", appending, base)
    with measure() as verifying, big.session() as session:
        result = verify_chain(session)
    met = "met" if verifying.wall < 60 * events / 1_000_000 else "MISSED"
    report("verify", verifying, base, f"60 s per 1,000,000 (wall): {met}; {result.message[:24]}…")
    big.dispose()

    small = Store(f"sqlite:///{folder / 'export.db'}")
    small.upgrade()
    append(small, export_events, seed_mentions(small, max(1, export_events // 4)))
    selection = Selection("Telvia", T0, T0 + timedelta(days=3650))
    with measure() as exporting, small.session() as session:
        summary = export_dossier(session, selection, folder / "dossier.zip")
    scaled = base * export_events / events
    met = "met" if exporting.wall < 10 else "MISSED"
    report(
        f"export {summary.events:,} events", exporting, scaled, f"target 10 s (wall): {met}; baseline scaled"
    )
    with measure() as checking:
        check = verify_export(folder / "dossier.zip")
    report("verify-export", checking, scaled, "OK" if check.ok else check.message)
    small.dispose()


if __name__ == "__main__":
    main()
