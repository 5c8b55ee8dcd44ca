"""Evidence dossier: a ZIP an advocate can hand to a lawyer or a consumer centre, checkable offline.

Contents:

* ``events.json`` / ``events.csv`` — the audit events of the selected complaints with every
  hashed field, so each event's hash can be re-computed without the database;
* ``mentions.json`` — per complaint: facts, text (or its hash once purged), every check, route;
* ``report.html``  — the printable report (German and English headers, all user text escaped);
* ``manifest.json`` — SHA-256 of every file, the chain head (seq + hash) at export time and a
  digest of the manifest itself.

:func:`verify_export` checks a dossier: every file against the manifest, the manifest against
its digest, and every event against its hash and its predecessor.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.audit.canonical import canonical_json, iso_utc, sha256_hex
from monitor.audit.chain import ChainLink, chain_head, event_hash
from monitor.audit.report import render_report
from monitor.store.models import (
    AuditEvent,
    Classification,
    Lockout,
    Mention,
    OutboxMessage,
    Route,
    StaffAction,
    StatusCheck,
)

FORMAT = "complaintwatch-dossier/1"
EVENT_FIELDS = (
    "seq",
    "kind",
    "subject",
    "mention_id",
    "occurred_at",
    "recorded_at",
    "actor",
    "payload",
    "prev_hash",
    "hash",
)
MANIFEST = "manifest.json"
CHUNK = 900  # ids per IN (...) list: below SQLite's variable limit


class DossierError(Exception):
    """The selection is empty or the output cannot be written."""


@dataclass(frozen=True)
class Selection:
    brand: str
    since: datetime
    until: datetime
    mention_id: int | None = None


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    mentions: int
    events: int
    head: ChainLink
    manifest_sha256: str


@dataclass(frozen=True)
class ExportCheck:
    ok: bool
    message: str
    bad_file: str | None = None


# -- export ----------------------------------------------------------------------------------------


def export_dossier(
    session: Session, selection: Selection, out: Path, now: datetime | None = None
) -> ExportSummary:
    """Write the dossier for ``selection`` to ``out`` (a .zip)."""
    now = now or datetime.now(UTC)
    mentions = _select_mentions(session, selection)
    if not mentions:
        raise DossierError(_empty_message(selection))
    ids = [m.id for m in mentions]
    events = _events(session, ids)
    records = [_event_record(e) for e in events]
    by_mention: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_mention[record["mention_id"]].append(record)
    related = _load_related(session, ids)
    cases = [_case(mention, by_mention.get(mention.id, []), related) for mention in mentions]
    head = chain_head(session)
    files = {
        "events.json": _json_bytes(records),
        "events.csv": _events_csv(events),
        "mentions.json": _json_bytes(cases),
        "report.html": render_report(cases, selection, head, now).encode("utf-8"),
    }
    manifest = _manifest(files, selection, head, now, len(events))
    manifest_bytes = _json_bytes(manifest)
    _write_zip(out, {**files, MANIFEST: manifest_bytes})
    return ExportSummary(out, len(mentions), len(events), head, sha256_hex(manifest_bytes))


def _empty_message(selection: Selection) -> str:
    if selection.mention_id is not None:
        return f"mention {selection.mention_id} is not a post of brand {selection.brand!r}"
    return (
        f"no complaints and no audited posts of brand {selection.brand!r} between "
        f"{iso_utc(selection.since)} and {iso_utc(selection.until)}"
    )


def _select_mentions(session: Session, selection: Selection) -> list[Mention]:
    """One mention, or the brand's complaints and every post with an audit event in the window."""
    query = select(Mention).where(Mention.brand == selection.brand).order_by(Mention.created_at, Mention.id)
    if selection.mention_id is not None:
        return list(session.scalars(query.where(Mention.id == selection.mention_id)))
    query = query.where(Mention.created_at >= selection.since, Mention.created_at < selection.until)
    candidates = list(session.scalars(query))
    complaints = _complaint_ids(session, [m.id for m in candidates])
    audited: set[int | None] = set()
    for chunk in _chunks([m.id for m in candidates]):
        audited.update(session.scalars(select(AuditEvent.mention_id).where(AuditEvent.mention_id.in_(chunk))))
    return [m for m in candidates if m.id in complaints or m.id in audited]


def _complaint_ids(session: Session, ids: Sequence[int]) -> set[int]:
    latest: dict[int, bool] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(Classification.mention_id, Classification.complaint)
            .where(Classification.mention_id.in_(chunk))
            .order_by(Classification.id)
        )
        latest.update({mention_id: complaint for mention_id, complaint in rows})
    return {mention_id for mention_id, complaint in latest.items() if complaint}


def _events(session: Session, ids: Sequence[int]) -> list[Any]:
    table = AuditEvent.__table__
    rows: list[Any] = []
    for chunk in _chunks(ids):
        rows.extend(session.execute(select(table).where(table.c.mention_id.in_(chunk))))
    return sorted(rows, key=lambda row: row.seq)


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _event_record(row: Any) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "kind": row.kind,
        "subject": row.subject,
        "mention_id": row.mention_id,
        "occurred_at": iso_utc(row.occurred_at),
        "recorded_at": iso_utc(row.recorded_at),
        "actor": row.actor,
        "payload": json.loads(row.payload),
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


def _events_csv(rows: Sequence[Any]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EVENT_FIELDS)
    for row in rows:
        record = _event_record(row)
        writer.writerow([*(record[f] for f in EVENT_FIELDS[:7]), row.payload, row.prev_hash, row.hash])
    return buffer.getvalue().encode("utf-8")


@dataclass
class _Related:
    """Rows about the selected mentions, loaded in a few batched queries and grouped by mention."""

    checks: dict[int, list[StatusCheck]]
    taggings: dict[int, Classification]
    routes: dict[int, Route]
    messages: dict[int, list[OutboxMessage]]
    lockouts: dict[int, list[Lockout]]
    staff_actions: dict[int, list[StaffAction]]


def _load_related(session: Session, ids: Sequence[int]) -> _Related:
    checks = _by_mention(session, StatusCheck, ids, StatusCheck.checked_at, StatusCheck.id)
    classifications = _by_mention(session, Classification, ids, Classification.id)
    taggings = {m: rows[-1] for m, rows in classifications.items()}
    routes = {m: rows[0] for m, rows in _by_mention(session, Route, ids, Route.id).items()}
    messages: dict[int, list[OutboxMessage]] = defaultdict(list)
    route_ids = [route.id for route in routes.values()]
    for chunk in _chunks(route_ids):
        query = select(OutboxMessage).where(OutboxMessage.route_id.in_(chunk)).order_by(OutboxMessage.id)
        for message in session.scalars(query):
            messages[message.route_id or 0].append(message)
    lockouts = _by_mention(session, Lockout, ids, Lockout.id)
    staff_actions = _by_mention(session, StaffAction, ids, StaffAction.id)
    return _Related(checks, taggings, routes, messages, lockouts, staff_actions)


def _by_mention(session: Session, model: Any, ids: Sequence[int], *order: Any) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    for chunk in _chunks(ids):
        for row in session.scalars(select(model).where(model.mention_id.in_(chunk)).order_by(*order)):
            grouped[row.mention_id].append(row)
    return grouped


def _case(mention: Mention, events: Sequence[dict[str, Any]], related: _Related) -> dict[str, Any]:
    """Everything the report shows about one complaint, as plain JSON-ready data."""
    tagging = related.taggings.get(mention.id)
    route = related.routes.get(mention.id)
    return {
        "mention_id": mention.id,
        "platform": mention.platform,
        "native_id": mention.native_id,
        "brand": mention.brand,
        "url": mention.url,
        "author_handle": mention.author_handle,
        "author_id": mention.author_id,
        "text": mention.text,
        "content_sha256": mention.content_sha256,
        "raw_sha256": mention.raw_sha256,
        "purged_at": _iso(mention.purged_at),
        "legal_hold": mention.legal_hold,
        "created_at": _iso(mention.created_at),
        "first_seen_at": _iso(mention.first_seen_at),
        "post_status": mention.post_status,
        "author_status": mention.author_status,
        "last_seen_live_at": _iso(mention.last_seen_live_at),
        "complaint": bool(tagging.complaint) if tagging else None,
        "topic": tagging.topic if tagging else None,
        "checks": [_check_record(c) for c in related.checks.get(mention.id, ())],
        "transitions": [e for e in events if e["kind"] in ("post_status_changed", "author_status_changed")],
        "route": _route(route, related.messages.get(route.id, []) if route else []),
        "lockouts": [_lockout_record(r) for r in related.lockouts.get(mention.id, ())],
        "staff_actions": [_staff_action_record(r) for r in related.staff_actions.get(mention.id, ())],
        "event_seqs": [e["seq"] for e in events],
    }


def _check_record(check: StatusCheck) -> dict[str, Any]:
    return {
        "checked_at": _iso(check.checked_at),
        "source": check.source,
        "status": check.status,
        "author_status": check.author_status,
        "platform_stated": check.platform_stated,
        "detail": check.detail,
        "evidence_sha256": sha256_hex(canonical_json(check.evidence)) if check.evidence is not None else None,
    }


def _route(route: Route | None, messages: Sequence[OutboxMessage]) -> dict[str, Any] | None:
    if route is None:
        return None
    return {
        "queue": route.queue,
        "rule": route.rule,
        "state": route.state,
        "template": route.template,
        "public_reply": route.public_reply,
        "reply_draft": route.reply_draft,
        "created_at": _iso(route.created_at),
        "first_response_at": _iso(route.first_response_at),
        "handed_off_at": _iso(route.handed_off_at),
        "resolved_at": _iso(route.resolved_at),
        "messages": [
            {"kind": m.kind, "destination": m.destination, "state": m.state, "sent_at": _iso(m.sent_at)}
            for m in messages
        ],
    }


def _lockout_record(row: Lockout) -> dict[str, Any]:
    return {
        "account": row.account,
        "reason": row.reason,
        "reported_by": row.reported_by,
        "locked_at": _iso(row.locked_at),
        "audit_seq": row.audit_seq,
    }


def _staff_action_record(row: StaffAction) -> dict[str, Any]:
    return {
        "actor": row.actor,
        "decision_visibility": row.decision_visibility,
        "decision_account": row.decision_account,
        "decision_ground": row.decision_ground,
        "legal_ground": row.legal_ground,
        "explanation": row.explanation,
        "automated_detection": row.automated_detection,
        "automated_decision": row.automated_decision,
        "source_type": row.source_type,
        "application_date": _iso(row.application_date),
        "audit_seq": row.audit_seq,
    }


def _iso(value: datetime | None) -> str | None:
    return iso_utc(value) if value is not None else None


def _json_bytes(value: Any) -> bytes:
    """JSON; a list is written one item per line (readable, and the C encoder stays fast)."""
    if isinstance(value, list):
        lines = ",\n".join(json.dumps(item, ensure_ascii=False, sort_keys=True) for item in value)
        return f"[\n{lines}\n]\n".encode()
    return (json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")


def _manifest(
    files: dict[str, bytes], selection: Selection, head: ChainLink, now: datetime, events: int
) -> dict[str, Any]:
    body = {
        "format": FORMAT,
        "created_at": iso_utc(now),
        "brand": selection.brand,
        "from": iso_utc(selection.since),
        "to": iso_utc(selection.until),
        "mention_id": selection.mention_id,
        "events": events,
        "chain_head": {"seq": head.seq, "hash": head.hash},
        "files": {name: sha256_hex(data) for name, data in sorted(files.items())},
    }
    return {**body, "manifest_digest": sha256_hex(canonical_json(body))}


def _write_zip(out: Path, files: dict[str, bytes]) -> None:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                archive.writestr(
                    zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED
                )
    except OSError as exc:
        raise DossierError(f"cannot write {out}: {exc.strerror or exc}") from None


# -- offline check ---------------------------------------------------------------------------------


def verify_export(path: Path) -> ExportCheck:
    """Check a dossier without the database; names the first file that does not match."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return ExportCheck(False, f"{path}: not a readable ZIP file ({exc})", str(path))
    with archive:
        contents, failure = _read_members(archive)
        if failure is not None:
            return failure
    manifest, failure = _load_manifest(contents)
    if failure is not None:
        return failure
    for check in (_check_files, _check_events):
        failure = check(contents, manifest)
        if failure is not None:
            return failure
    head = manifest["chain_head"]
    return ExportCheck(
        True,
        f"OK: {len(manifest['files'])} files and {manifest['events']} events match; "
        f"chain head at export: seq {head['seq']} hash {head['hash']}",
    )


def _read_members(archive: zipfile.ZipFile) -> tuple[dict[str, bytes], ExportCheck | None]:
    contents: dict[str, bytes] = {}
    for info in archive.infolist():
        try:
            contents[info.filename] = archive.read(info)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
            reason = str(exc) or type(exc).__name__
            return contents, ExportCheck(
                False, f"{info.filename}: damaged in the ZIP ({reason})", info.filename
            )
    return contents, None


def _load_manifest(contents: dict[str, bytes]) -> tuple[dict[str, Any], ExportCheck | None]:
    if MANIFEST not in contents:
        return {}, ExportCheck(False, f"{MANIFEST}: missing", MANIFEST)
    try:
        manifest = json.loads(contents[MANIFEST].decode("utf-8"))
        body = {k: v for k, v in manifest.items() if k != "manifest_digest"}
        intact = manifest.get("format") == FORMAT and manifest.get("manifest_digest") == sha256_hex(
            canonical_json(body)
        )
    except (UnicodeDecodeError, ValueError, AttributeError):
        intact = False
    if not intact:
        return {}, ExportCheck(
            False, f"{MANIFEST}: changed (its digest does not match its content)", MANIFEST
        )
    return manifest, None


def _check_files(contents: dict[str, bytes], manifest: dict[str, Any]) -> ExportCheck | None:
    listed: dict[str, str] = manifest["files"]
    for name, expected in sorted(listed.items()):
        if name not in contents:
            return ExportCheck(False, f"{name}: listed in the manifest but missing from the ZIP", name)
        if sha256_hex(contents[name]) != expected:
            return ExportCheck(False, f"{name}: changed (SHA-256 does not match the manifest)", name)
    extra = sorted(set(contents) - set(listed) - {MANIFEST})
    if extra:
        return ExportCheck(False, f"{extra[0]}: not listed in the manifest (added after export)", extra[0])
    return None


def _check_events(contents: dict[str, bytes], manifest: dict[str, Any]) -> ExportCheck | None:
    """Each event's hash re-computed; consecutive events must link; none past the recorded head."""
    events = json.loads(contents["events.json"].decode("utf-8"))
    if len(events) != manifest["events"]:
        return ExportCheck(
            False, f"events.json: {len(events)} events, the manifest says {manifest['events']}"
        )
    previous: dict[str, Any] | None = None
    for event in events:
        recomputed = event_hash(
            **{**{k: event[k] for k in EVENT_FIELDS[:-1]}, "payload": canonical_json(event["payload"])}
        )
        if recomputed != event["hash"]:
            return ExportCheck(
                False, f"events.json: event seq {event['seq']} does not match its hash", "events.json"
            )
        if (
            previous is not None
            and event["seq"] == previous["seq"] + 1
            and event["prev_hash"] != previous["hash"]
        ):
            return ExportCheck(
                False, f"events.json: event seq {event['seq']} does not link to its predecessor"
            )
        if event["seq"] > manifest["chain_head"]["seq"]:
            return ExportCheck(False, f"events.json: event seq {event['seq']} lies past the chain head")
        previous = event
    return None
