"""The printable HTML report of a dossier: German and English, every user-supplied text escaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

from monitor.audit.canonical import iso_utc
from monitor.audit.chain import ChainLink

if TYPE_CHECKING:
    from monitor.audit.dossier import Selection

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #111; }
h1 { font-size: 1.4em; }
h2 { font-size: 1.15em; margin-top: 2em; border-top: 1px solid #999; padding-top: .5em; }
table { border-collapse: collapse; margin: .5em 0; } td, th { border: 1px solid #bbb; padding: .2em .5em;
vertical-align: top; text-align: left; font-size: .9em; } .hash { font-family: monospace; font-size: .8em; }
blockquote { border-left: 3px solid #666; margin: .5em 0; padding: .2em 1em; white-space: pre-wrap; }
@media print { h2 { page-break-before: always; } }
"""

LEVELS = {
    "platform_stated": "von der Plattform angegeben / stated by the platform",
    "inferred": "abgeleitet / inferred",
    "unknown": "unbekannt / unknown",
}


def render_report(
    cases: Sequence[dict[str, Any]], selection: Selection, head: ChainLink, now: datetime
) -> str:
    """The whole report as one HTML document."""
    title = f"Beweisdokumentation / Evidence dossier — {selection.brand}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="de"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        _overview(cases, selection, head, now),
        *(_case_section(case) for case in cases),
        "</body></html>",
    ]
    return "\n".join(parts)


def _overview(cases: Sequence[dict[str, Any]], selection: Selection, head: ChainLink, now: datetime) -> str:
    rows = [
        ("Marke / Brand", selection.brand),
        ("Zeitraum / Period", f"{iso_utc(selection.since)} – {iso_utc(selection.until)}"),
        ("Erstellt / Created", iso_utc(now)),
        ("Beiträge / Posts", str(len(cases))),
        ("Kettenkopf / Chain head", f"seq {head.seq} · {head.hash}"),
    ]
    note = (
        "<p>Alle Zeiten in UTC. Jedes Ereignis ist über SHA-256 mit seinem Vorgänger verkettet; "
        "<code>manifest.json</code> enthält die Prüfsummen aller Dateien. Prüfen mit "
        "<code>complaintwatch audit verify-export</code>.<br>"
        "All times are UTC. Every event is chained to its predecessor by SHA-256; "
        "<code>manifest.json</code> holds the checksum of every file. Check with "
        "<code>complaintwatch audit verify-export</code>.</p>"
    )
    return _table(rows) + note


def _case_section(case: dict[str, Any]) -> str:
    heading = f"{case['platform']}:{case['native_id']} — {case['author_handle']}"
    facts = [
        ("Link", _link(case["url"])),
        ("Veröffentlicht / Posted", escape(case["created_at"] or "")),
        ("Erstmals gesehen / First seen", escape(case["first_seen_at"] or "")),
        ("Zuletzt öffentlich gesehen / Last seen live", escape(case["last_seen_live_at"] or "—")),
        ("Beitragsstatus / Post status", escape(case["post_status"])),
        ("Kontostatus / Author status", escape(case["author_status"])),
        ("Beschwerde / Complaint", escape(_yes_no(case["complaint"]))),
        ("Inhalts-Hash / Content SHA-256", f'<span class="hash">{escape(case["content_sha256"])}</span>'),
    ]
    return "\n".join(
        [
            f"<h2>{escape(heading)}</h2>",
            _table(facts, escaped=True),
            _text_block(case),
            _transitions(case["transitions"]),
            _checks(case["checks"]),
            _route(case["route"]),
            _lockouts(case["lockouts"]),
            _staff_actions(case["staff_actions"]),
            f"<p>Ereignisse / Events: seq {escape(', '.join(map(str, case['event_seqs'])) or '—')}</p>",
        ]
    )


def _text_block(case: dict[str, Any]) -> str:
    if case["text"] is not None:
        return f"<h3>Text</h3><blockquote>{escape(case['text'])}</blockquote>"
    return (
        f"<h3>Text</h3><p>Gelöscht am / purged on {escape(case['purged_at'] or '')} "
        f"(Aufbewahrungsregel / preservation policy). SHA-256: "
        f'<span class="hash">{escape(case["content_sha256"])}</span></p>'
    )


def _transitions(events: Sequence[dict[str, Any]]) -> str:
    if not events:
        return "<p>Keine Statusänderung / No status change recorded.</p>"
    rows = []
    for event in events:
        payload = event["payload"]
        window = payload.get("window") or {}
        rows.append(
            [
                str(event["seq"]),
                payload.get("field", ""),
                f"{payload.get('previous_status', '')} → {payload.get('status', '')}",
                f"{window.get('from', '')} – {window.get('to', '')}",
                LEVELS.get(payload.get("evidence_level", ""), payload.get("evidence_level", "")),
                payload.get("verdict_basis", ""),
            ]
        )
    header = [
        "seq",
        "Feld / Field",
        "Änderung / Change",
        "Zeitfenster (zuletzt alt – erstmals neu) / Window (last old – first new)",
        "Beweisgrad / Evidence level",
        "Begründung / Basis",
    ]
    return "<h3>Statusänderungen / Status changes</h3>" + _grid(header, rows)


def _checks(checks: Sequence[dict[str, Any]]) -> str:
    if not checks:
        return "<p>Nie geprüft / Never re-checked.</p>"
    rows = [[c["checked_at"], c["status"], c["author_status"], c["detail"], c["source"]] for c in checks]
    header = ["Geprüft / Checked", "Beitrag / Post", "Konto / Author", "Detail", "Quelle / Source"]
    return f"<h3>Prüfungen / Checks ({len(checks)})</h3>" + _grid(header, rows)


def _route(route: dict[str, Any] | None) -> str:
    if route is None:
        return "<p>Nicht weitergeleitet / Not routed.</p>"
    facts = [
        ("Warteschlange / Queue", f"{route['queue']} ({route['rule']})"),
        ("Status / State", route["state"]),
        ("Öffentliche Antwort / Public reply", _yes_no(route["public_reply"])),
        ("Vorlage / Template", route["template"]),
        ("Erste Antwort / First response", route["first_response_at"] or "—"),
        ("Übergeben / Handed off", route["handed_off_at"] or "—"),
    ]
    messages = [[m["kind"], m["destination"], m["state"], m["sent_at"] or "—"] for m in route["messages"]]
    draft = f"<blockquote>{escape(route['reply_draft'])}</blockquote>" if route["reply_draft"] else ""
    sent = (
        _grid(["Art / Kind", "Ziel / Destination", "Status", "Gesendet / Sent"], messages) if messages else ""
    )
    return "<h3>Weiterleitung und Antworten / Routing and replies</h3>" + _table(facts) + draft + sent


def _lockouts(lockouts: Sequence[dict[str, Any]]) -> str:
    if not lockouts:
        return ""
    rows = [
        [x["locked_at"], x["account"], x["reason"], x["reported_by"], str(x["audit_seq"])] for x in lockouts
    ]
    header = ["Gesperrt / Locked", "Konto / Account", "Grund / Reason", "Gemeldet von / Reported by", "seq"]
    return "<h3>Kontosperren der Marke / Brand account lockouts</h3>" + _grid(header, rows)


def _staff_actions(actions: Sequence[dict[str, Any]]) -> str:
    if not actions:
        return ""
    rows = [
        [
            a["application_date"],
            a["actor"],
            a["decision_visibility"] or a["decision_account"] or "",
            a["decision_ground"],
            a["legal_ground"],
            a["explanation"],
            f"{'Yes' if a['automated_detection'] else 'No'} / {a['automated_decision']}",
        ]
        for a in actions
    ]
    header = [
        "Datum / Date",
        "Wer / Who",
        "Entscheidung / Decision",
        "Grund / Ground",
        "Rechtsgrundlage / Legal ground",
        "Erklärung / Explanation",
        "Automatisiert / Automated",
    ]
    return "<h3>Moderation durch die Marke (DSA) / Brand moderation (DSA)</h3>" + _grid(header, rows)


def _table(rows: Sequence[tuple[str, str]], *, escaped: bool = False) -> str:
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{v if escaped else escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def _grid(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _link(url: str) -> str:
    safe = url.startswith(("https://", "http://"))
    return f'<a href="{escape(url)}">{escape(url)}</a>' if safe else escape(url)


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else ("ja / yes" if value else "nein / no")
