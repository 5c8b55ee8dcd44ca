"""Evidence dossier export and its offline check, lockouts and staff actions through the CLI."""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta

import pytest
from audit_factories import T0, add_mention, classify, observation
from sqlalchemy import select

from collectors.base import PostStatus
from monitor.audit import record_observations
from monitor.audit.canonical import canonical_json, sha256_hex
from monitor.audit.dossier import MANIFEST, Selection, export_dossier, verify_export
from monitor.cli import main
from monitor.store.models import AuditEvent, Lockout, Route, StaffAction

EVIL = 'Telvia <script>alert("x")</script> sperrt Konten & löscht Beschwerden'


@pytest.fixture
def cli(database_url, tmp_path, monkeypatch, capsys):
    config = tmp_path / "config.toml"
    config.write_text("[database]\nurl = 'sqlite:///unused.db'\n", encoding="utf-8")
    monkeypatch.setenv("COMPLAINTWATCH_DATABASE_URL", database_url)

    def run(*args: str) -> tuple[int, str, str]:
        try:
            main(["--config", str(config), *args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def case(store):
    """One complaint that was answered, then deleted; plus posts that must stay out of the dossier."""
    with store.session() as session:
        complaint = add_mention(session, "c1", platform="mastodon", text=EVIL)
        classify(session, complaint, complaint=True)
        session.add(
            Route(
                mention_id=complaint.id,
                rule="support",
                queue="support",
                priority=3,
                sla_due_at=T0 + timedelta(hours=4),
                template="support_dm",
                reply_draft="Bitte schreib uns eine Direktnachricht <b>",
                public_reply=True,
                state="handed_off",
                first_response_at=T0 + timedelta(minutes=20),
            )
        )
        for minutes, status in ((5, PostStatus.LIVE), (65, PostStatus.REMOVED_BY_MODERATOR)):
            record_observations(
                session,
                source="mastodon-main",
                checked_at=T0 + timedelta(minutes=minutes),
                observations=[(complaint, observation("c1", status))],
                preservation={"mastodon": "full"},
            )
        other = add_mention(session, "n1", platform="mastodon", text="Telvia ist super")
        classify(session, other, complaint=False)
        add_mention(session, "o1", brand="Nordbahn", text="Nordbahn zu spät")
        return complaint.id


def test_lockout_and_staff_action_are_chained_events(store, case, cli):
    lockout_args = (
        f"audit lockout add --mention {case} --account KD-4711 --by consumer --at 2026-03-02T11:00Z"
    )
    code, out, _ = cli(*lockout_args.split(), "--reason", "Verdacht auf Missbrauch")
    assert code == 0 and "recorded as audit event seq 2" in out
    action_args = (
        f"audit staff-action add --mention {case} --by agent.k --visibility removed --ground incompatible "
        "--legal-ground AGB§7 --explanation Beleidigung --automated-decision not"
    )
    code, out, _ = cli(*action_args.split())
    assert code == 0 and "seq 3" in out
    with store.session() as session:
        lockout = session.scalars(select(Lockout)).one()
        action = session.scalars(select(StaffAction)).one()
        events = {
            e.seq: (e.kind, e.actor, json.loads(e.payload)) for e in session.scalars(select(AuditEvent))
        }
    assert (lockout.account, lockout.reported_by) == ("KD-4711", "consumer")
    assert lockout.locked_at == T0 + timedelta(hours=2)
    assert events[2][:2] == ("brand_account_locked", "consumer")
    kind, actor, payload = events[3]
    assert (kind, actor) == ("staff_moderation_action", "agent.k")
    assert payload["decision_visibility"] == "DECISION_VISIBILITY_CONTENT_REMOVED"
    assert payload["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert payload["incompatible_content_ground"] == "AGB§7"
    assert payload["illegal_content_legal_ground"] is None
    assert payload["automated_detection"] == "No" and payload["content_date"] == "2026-03-02T09:00:00.000000Z"
    assert action.source_type == "SOURCE_VOLUNTARY"
    assert cli("audit", "verify")[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("lockout add --mention 999 --account a --reason r --by b", "no mention with id 999"),
        ("lockout add --mention 1 --account= --reason r --by b", "account must not be empty"),
        (
            "staff-action add --mention 1 --by a --ground illegal --legal-ground StGB§185 --explanation x",
            "needs a decision",
        ),
        ("export --brand Telvia --from 2026-03-03 --to 2026-03-01 --out x.zip", "must be after --from"),
        (
            "export --brand Nobody --from 2026-03-01 --to 2026-03-03 --out x.zip",
            "no complaints and no audited posts of brand 'Nobody'",
        ),
        ("hold --mention 999 --on", "no mention with id 999"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(case, cli, args, message):
    code, _, err = cli("audit", *args.split())
    assert code == 2
    assert err.strip().startswith("error: ") and message in err and len(err.strip().splitlines()) == 1


def _export(cli, tmp_path, *extra: str):
    out = tmp_path / "dossier.zip"
    command = "audit export --brand Telvia --from 2026-03-01 --to 2026-03-03 --out"
    code, stdout, err = cli(*command.split(), str(out), *extra)
    assert code == 0, err
    return out, stdout


def test_export_contains_events_report_and_manifest(store, case, cli, tmp_path):
    out, stdout = _export(cli, tmp_path)
    assert "1 posts, 1 events, chain head seq 1" in stdout
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        events = json.loads(archive.read("events.json"))
        csv_text = archive.read("events.csv").decode()
        html = archive.read("report.html").decode()
        cases = json.loads(archive.read("mentions.json"))
    assert names == {"events.json", "events.csv", "mentions.json", "report.html", "manifest.json"}
    assert set(manifest["files"]) == names - {"manifest.json"}
    assert manifest["chain_head"]["seq"] == 1 and manifest["brand"] == "Telvia"
    assert [e["payload"]["status"] for e in events] == ["removed_by_moderator"]
    assert csv_text.splitlines()[0].startswith("seq,kind,subject")
    assert "<script>" not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "Bitte schreib uns eine Direktnachricht &lt;b&gt;" in html
    assert "Beweisdokumentation / Evidence dossier" in html and "Statusänderungen / Status changes" in html
    assert "2026-03-02T09:05:00.000000Z – 2026-03-02T10:05:00.000000Z" in html
    assert [c["native_id"] for c in cases] == ["c1"] and len(cases[0]["checks"]) == 2
    expected = (
        f"OK: 4 files and 1 events match; chain head at export: seq 1 hash {manifest['chain_head']['hash']}"
    )
    assert cli("audit", "verify-export", str(out))[:2] == (0, expected + "\n")


def _rewrite(source, target, name: str, change) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            new.writestr(info, change(data) if info.filename == name else data)


@pytest.mark.parametrize("name", ["events.json", "events.csv", "mentions.json", "report.html", MANIFEST])
def test_one_changed_byte_fails_naming_the_file(case, cli, tmp_path, name):
    out, _ = _export(cli, tmp_path)
    changed = tmp_path / "changed.zip"
    _rewrite(out, changed, name, lambda data: data[:40] + bytes([data[40] ^ 1]) + data[41:])
    code, _, err = cli("audit", "verify-export", str(changed))
    assert code == 1 and err.startswith(f"{name}: ")


def test_flipped_byte_inside_the_zip_is_caught(case, cli, tmp_path):
    out, _ = _export(cli, tmp_path)
    data = bytearray(out.read_bytes())
    with zipfile.ZipFile(out) as archive:
        info = archive.getinfo("report.html")
    data[info.header_offset + 30 + len("report.html") + 10] ^= 0x55
    out.write_bytes(bytes(data))
    result = verify_export(out)
    assert not result.ok and result.bad_file == "report.html"


def test_added_file_is_caught(case, cli, tmp_path):
    out, _ = _export(cli, tmp_path)
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr("extra.txt", "later addition")
    assert verify_export(out).message.startswith("extra.txt: not listed")


def test_forged_event_with_a_rewritten_manifest_is_caught(case, cli, tmp_path):
    out, _ = _export(cli, tmp_path)
    with zipfile.ZipFile(out) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    events = json.loads(files["events.json"])
    events[0]["payload"]["status"] = "deleted_by_author"
    files["events.json"] = json.dumps(events).encode()
    manifest = json.loads(files["manifest.json"])
    manifest["files"]["events.json"] = sha256_hex(files["events.json"])
    body = {k: v for k, v in manifest.items() if k != "manifest_digest"}
    digest = sha256_hex(canonical_json(body))
    files["manifest.json"] = json.dumps({**body, "manifest_digest": digest}).encode()
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(forged, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    result = verify_export(forged)
    assert (result.ok, result.bad_file) == (False, "events.json")
    assert "event seq 1 does not match its hash" in result.message


def test_export_of_one_mention_and_empty_selection(store, case, tmp_path):
    with store.session() as session:
        summary = export_dossier(session, Selection("Telvia", T0, T0, mention_id=case), tmp_path / "one.zip")
    assert (summary.mentions, summary.events) == (1, 1)
    assert verify_export(tmp_path / "one.zip").ok


def test_hold_and_verify_after_everything(store, case, cli):
    assert cli("audit", "hold", "--mention", str(case), "--on")[0] == 0
    with store.session() as session:
        kinds = [e.kind for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert kinds[-1] == "legal_hold_set"
    code, out, _ = cli("audit", "verify")
    assert code == 0 and out.startswith("OK: 2 events")
