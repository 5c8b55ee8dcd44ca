"""Triage page speed on 1,000,000 mentions in SQLite: first render and filter changes.

    .venv/bin/python bench/dashboard.py [--mentions 1000000] [--keep PATH]

Builds a database of N mentions (about 30 % complaints with cases, most of them long resolved,
the newest still open), then measures with Streamlit's AppTest, as an agent would see it:

* the first render of the triage page in a fresh session (targets: under 1.5 s), and
* each filter change (a filter set in the sidebar form, then Apply; target: under 300 ms);

and, for the query underneath, the library's keyset query against a baseline measured in the
same run: the naive way (the whole joined queue read into pandas, filtered and sorted there,
then the first 25 rows shown).
"""

from __future__ import annotations

import argparse
import functools
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")  # AppTest's bare-mode warnings are noise here

import pandas as pd  # noqa: E402
from sqlalchemy import select  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from monitor import queries  # noqa: E402
from monitor.queries import TriageCursor, TriageFilters  # noqa: E402
from monitor.store import Store  # noqa: E402
from monitor.store.models import Mention, Route, User  # noqa: E402
from monitor.users import hash_password  # noqa: E402

APP = REPO / "dashboard" / "app.py"
BRANDS = 8
SPACING_S = 7  # seconds between two generated posts: 1M posts span about 81 days
FIRST_RENDER_TARGET_S = 1.5
FILTER_TARGET_S = 0.3
REPEATS = 5
NOW = datetime.now(UTC).replace(microsecond=0)


# -- data --------------------------------------------------------------------------------------------

_TS = "strftime('%Y-%m-%d %H:%M:%S', :end, '-' || ((:n - i) * {spacing}) || ' seconds') || '.000000'"

MENTIONS_SQL = f"""
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < :n)
INSERT INTO mentions (id, platform, native_id, source, brand, author_id, author_handle, text, content_sha256,
    url, lang, created_at, first_seen_at, raw, raw_sha256, provenance, classified_at, routed_at,
    post_status, author_status, check_count, legal_hold, consent)
SELECT i,
    CASE i % 5 WHEN 0 THEN 'replay' WHEN 1 THEN 'twitter' WHEN 2 THEN 'reddit' WHEN 3 THEN 'mastodon'
        ELSE 'bluesky' END,
    'n' || i, 'bench', 'Brand' || (i % {BRANDS}), 'a' || (i % 50000), 'user' || (i % 50000),
    'Post ' || i || ': my invoice is wrong and the parcel is late, please help',
    printf('%064d', i), 'https://example.test/post/' || i,
    CASE i % 4 WHEN 0 THEN 'de' WHEN 1 THEN 'fr' ELSE 'en' END,
    {_TS.format(spacing=SPACING_S)}, {_TS.format(spacing=SPACING_S)}, NULL, printf('%064d', i), '{{}}',
    {_TS.format(spacing=SPACING_S)}, {_TS.format(spacing=SPACING_S)},
    CASE WHEN i % 97 = 0 THEN 'removed_by_moderator' WHEN i % 89 = 0 THEN 'deleted_by_author' ELSE 'live' END,
    'active', 0, 0, 0
FROM seq
"""

CLASSIFICATIONS_SQL = """
INSERT INTO classifications (id, mention_id, model_version, complaint, topic, risk, pii, tags, scores,
    evidence, created_at)
SELECT id, id, 'bench', (id % 10) < 3,
    CASE (id / 10) % 8 WHEN 0 THEN 'delivery' WHEN 1 THEN 'billing' WHEN 2 THEN 'contract_cancellation'
        WHEN 3 THEN 'product_defect' WHEN 4 THEN 'service_reachability' WHEN 5 THEN 'account_access'
        WHEN 6 THEN 'privacy_data' ELSE 'other' END,
    id % 50 = 3, id % 33 = 0,
    json_object('complaint', json((id % 10) < 3), 'legal_threat', json(id % 50 = 3), 'lang', lang,
        'pii', json(CASE WHEN id % 33 = 0 THEN '[{"type": "phone", "start": 0, "end": 4}]' ELSE '[]' END)),
    '{"complaint": 0.8}', '{"complaint": [{"start": 10, "end": 31}]}', created_at
FROM mentions
"""

# The newest 5 % of cases are still open (or assigned); older ones were handed off or resolved.
ROUTES_SQL = """
INSERT INTO routes (mention_id, rule, queue, priority, sla_due_at, destination, template, reply_draft,
    public_reply, state, assignee, created_at, first_response_at, handed_off_at, resolved_at)
SELECT m.id, 'support', CASE WHEN c.pii THEN 'privacy' ELSE 'support' END,
    CASE WHEN c.pii THEN 1 WHEN c.risk THEN 2 ELSE 3 + (m.id % 2) END,
    strftime('%Y-%m-%d %H:%M:%S', m.created_at, '+' || (15 + (m.id % 8) * 30) || ' minutes') || '.000000',
    '', 'support_dm', 'Sorry to hear that! Please send us a DM.', 1,
    CASE WHEN m.id > :active_from THEN (CASE WHEN m.id % 5 = 0 THEN 'assigned' ELSE 'open' END)
        WHEN m.id % 7 = 0 THEN 'handed_off' ELSE 'resolved' END,
    CASE WHEN m.id > :active_from AND m.id % 5 = 0 THEN 'agent' || (m.id % 12) ELSE NULL END,
    m.created_at,
    CASE WHEN m.id > :active_from THEN NULL
        ELSE strftime('%Y-%m-%d %H:%M:%S', m.created_at, '+' || (m.id % 300) || ' minutes') || '.000000' END,
    NULL,
    CASE WHEN m.id > :active_from OR m.id % 7 = 0 THEN NULL
        ELSE strftime('%Y-%m-%d %H:%M:%S', m.created_at, '+1 day') || '.000000' END
FROM mentions m JOIN classifications c ON c.mention_id = m.id
WHERE c.complaint OR c.pii
"""


def build(path: Path, n: int) -> Store:
    """A migrated SQLite database at ``path`` with ``n`` generated mentions, classifications and cases."""
    store = Store(f"sqlite:///{path}")
    store.upgrade()
    connection = sqlite3.connect(path)
    end = NOW.strftime("%Y-%m-%d %H:%M:%S")
    with connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute(MENTIONS_SQL, {"n": n, "end": end})
        connection.execute(CLASSIFICATIONS_SQL)
        connection.execute(ROUTES_SQL, {"active_from": int(n * 0.95)})
    connection.close()
    with store.session() as session:
        session.add(User(name="agent0", role="agent", password_hash=hash_password("bench-password-0")))
    return store


def counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as connection:
        tables = ("mentions", "classifications", "routes")
        found = {t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        found["active cases"] = connection.execute(
            "SELECT count(*) FROM routes WHERE state IN ('open', 'assigned')"
        ).fetchone()[0]
    return found


# -- timing ------------------------------------------------------------------------------------------


def timed(action: Callable[[], Any], repeats: int = REPEATS) -> float:
    """Median wall time of ``action`` in seconds."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


NAIVE_SQL = """
SELECT r.*, m.brand, m.platform, m.lang, m.text, m.created_at AS posted_at, c.topic, c.risk, c.pii, c.tags
FROM routes r JOIN mentions m ON m.id = r.mention_id
LEFT JOIN classifications c ON c.id = (SELECT max(id) FROM classifications WHERE mention_id = m.id)
"""


def naive_page(store: Store, filters: TriageFilters) -> pd.DataFrame:
    """Baseline: the whole queue into pandas, filtered and sorted there, first 25 rows."""
    with store.engine.connect() as connection:
        frame = pd.read_sql(NAIVE_SQL, connection)
    states = filters.states or queries.ACTIVE_STATES
    frame = frame[frame["state"].isin(states)]
    for column, values in (
        ("brand", filters.brands),
        ("platform", filters.platforms),
        ("lang", filters.langs),
    ):
        if values:
            frame = frame[frame[column].isin(values)]
    if filters.topics:
        frame = frame[frame["topic"].isin(filters.topics)]
    if filters.risk_only:
        frame = frame[frame["risk"] == 1]
    return frame.sort_values(["priority", "sla_due_at", "id"]).head(queries.PAGE_SIZE)


def library_page(store: Store, filters: TriageFilters) -> queries.TriagePage:
    with store.session() as session:
        return queries.triage_page(session, filters)


FILTERS: dict[str, TriageFilters] = {
    "default (active queue)": TriageFilters(),
    "brand": TriageFilters(brands=("Brand3",)),
    "platform + language": TriageFilters(platforms=("reddit",), langs=("de",)),
    "topic": TriageFilters(topics=("billing",)),
    "legal risk only": TriageFilters(risk_only=True),
    "status = resolved": TriageFilters(states=("resolved",)),
}


def query_figures(store: Store) -> list[tuple[str, float, float]]:
    rows = []
    for name, filters in FILTERS.items():
        fast = timed(functools.partial(library_page, store, filters))
        naive = timed(functools.partial(naive_page, store, filters), repeats=1)
        rows.append((name, fast, naive))
    return rows


DEEP_ROW = 100_000  # a page far down the resolved cases


def deep_page_figures(store: Store) -> tuple[float, float]:
    """Page at row 100,000 of the resolved cases: keyset (start after a key) against OFFSET."""
    order = (Route.priority, Route.sla_due_at, Route.id)
    resolved = select(*order).where(Route.state == "resolved").order_by(*order)
    with store.session() as session:
        priority, due, route_id = session.execute(resolved.offset(DEEP_ROW - 1).limit(1)).one()
    cursor = TriageCursor(priority, due, route_id)
    filters = TriageFilters(states=("resolved",))

    def keyset() -> None:
        with store.session() as session:
            queries.triage_page(session, filters, after=cursor)

    def offset() -> None:
        ids = select(Route.id).where(Route.state == "resolved").order_by(*order)
        with store.session() as session:
            page = list(session.scalars(ids.offset(DEEP_ROW).limit(queries.PAGE_SIZE)))
            # One query for the rows, like the keyset page (a little less: no classification join).
            session.execute(select(Route, Mention).join(Mention).where(Route.id.in_(page))).all()

    return timed(keyset), timed(offset)


# -- the page, through AppTest -----------------------------------------------------------------------


def fresh_session() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["account"] = "agent0"
    return at


def first_render() -> tuple[AppTest, float]:
    at = fresh_session()
    start = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"the triage page failed: {at.exception}")
    if not at.title or at.title[0].value != "Triage":
        raise RuntimeError(f"expected the triage page, got {[t.value for t in at.title]}")
    return at, elapsed


def _apply(at: AppTest) -> float:
    button = next(b for b in at.button if b.label == "Apply")
    start = time.perf_counter()
    button.click().run()
    elapsed = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"filter change failed: {at.exception}")
    return elapsed


def _set(at: AppTest, label: str, value: Any) -> None:
    widget = next(w for w in (*at.multiselect, *at.checkbox, *at.selectbox) if w.label == label)
    widget.set_value(value)


FILTER_STEPS: list[tuple[str, list[tuple[str, Any]]]] = [
    ("brand = Brand3", [("Brand", ["Brand3"])]),
    ("+ platform = reddit", [("Platform", ["reddit"])]),
    ("+ language = de", [("Language", ["de"])]),
    ("topic = billing only", [("Brand", []), ("Platform", []), ("Language", []), ("Topic", ["billing"])]),
    ("legal risk only", [("Topic", []), ("Legal risk only", True)]),
    ("status = resolved", [("Legal risk only", False), ("Status", ["resolved"])]),
    ("assignee = unassigned", [("Status", []), ("Assignee", "unassigned")]),
    ("all filters cleared", [("Assignee", "anyone")]),
]


def page_figures() -> tuple[float, float, list[tuple[str, float]]]:
    cold_at, cold = first_render()  # first in this process: imports and opening the store included
    del cold_at
    warm = statistics.median(first_render()[1] for _ in range(3))
    at, _ = first_render()
    steps = []
    for name, changes in FILTER_STEPS:
        for label, value in changes:
            _set(at, label, value)
        steps.append((name, _apply(at)))
    return cold, warm, steps


def _verdict(elapsed: float, target: float) -> str:
    return f"(target < {target * 1000:.0f} ms: {'ok' if elapsed < target else 'TOO SLOW'})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the database at this path")
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    path = args.keep or Path(folder.name) / "bench.db"
    if path.exists():
        store = Store(f"sqlite:///{path}")
        print(f"reusing {path}")
    else:
        start = time.perf_counter()
        store = build(path, args.mentions)
        print(f"built {path} in {time.perf_counter() - start:.1f} s")
    print("rows:", ", ".join(f"{k} {v:,}" for k, v in counts(path).items()))
    config = Path(folder.name) / "config.toml"
    config.write_text('[[brands]]\nname = "Brand0"\n', encoding="utf-8")
    os.environ["COMPLAINTWATCH_CONFIG"] = str(config)
    os.environ["COMPLAINTWATCH_DATABASE_URL"] = f"sqlite:///{path}"

    print("\nTriage query (median of 5; baseline: whole queue into pandas, filtered, sorted, head(25)):")
    print(f"  {'filter':<24} {'keyset query':>13} {'baseline':>10} {'speed-up':>9}")
    for name, fast, naive in query_figures(store):
        print(f"  {name:<24} {fast * 1000:>10.1f} ms {naive * 1000:>7.0f} ms {naive / fast:>8.0f}x")

    keyset, offset = deep_page_figures(store)
    print(
        f"\n  page at row {DEEP_ROW:,} of the resolved cases: keyset {keyset * 1000:.1f} ms, "
        f"OFFSET {offset * 1000:.1f} ms ({offset / keyset:.1f}x)"
    )

    cold, warm, steps = page_figures()
    print("\nTriage page through AppTest (agent):")
    print(f"  first render, new process       {cold * 1000:7.0f} ms")
    print(f"  first render, new session       {warm * 1000:7.0f} ms  {_verdict(warm, FIRST_RENDER_TARGET_S)}")
    for name, elapsed in steps:
        print(f"  filter: {name:<24} {elapsed * 1000:7.0f} ms  {_verdict(elapsed, FILTER_TARGET_S)}")
    store.dispose()
    folder.cleanup()


if __name__ == "__main__":
    main()
