"""Streamlit AppTest: every page for every role renders, and what a role may not do is refused."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dashboard_fixtures import add_case, add_classification, add_mention
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from collectors.base import AuthorStatus, PostStatus, StatusObservation
from monitor import users
from monitor.audit.observe import record_observations
from monitor.store.models import AuditEvent, Label, Mention, OutboxMessage, Route, User
from monitor.users import LOCAL_OPERATOR

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
PASSWORD = "dashboard-test-password"
ROLES = {"ann": "agent", "ada": "advocate", "max": "manager", "root": "admin"}
PAGE_TITLES = {"triage": "Triage", "audit": "Moderation audit", "overview": "Overview", "admin": "Admin"}
PASSWORD_HASH = users.hash_password(PASSWORD)
TIMEOUT = 60
NOW = datetime.now(UTC)
PII_POST = "Call me at +49 170 1234567, my invoice is wrong!"
XSS = "<img src=x onerror=alert(1)> <script>alert(1)</script> [click](javascript:alert(1)) **bold**"


def _span(text: str, part: str, **extra: str) -> dict[str, object]:
    start = text.index(part)
    return {"start": start, "end": start + len(part), **extra}


@pytest.fixture
def app_env(store, tmp_path, monkeypatch, database_url):
    """A config file naming the test database, one account per role, and a few cases."""
    config = tmp_path / "config.toml"
    config.write_text(
        '[[brands]]\nname = "Acme"\n\n'
        '[[destinations]]\nname = "support-desk"\nkind = "webhook"\nurl = "http://127.0.0.1:9/hook"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("COMPLAINTWATCH_CONFIG", str(config))
    monkeypatch.setenv("COMPLAINTWATCH_DATABASE_URL", database_url)
    with store.session() as session:
        # One argon2 hash for all (hashing costs ~0.4 s; users.add_user is tested in test_users.py).
        session.add_all(
            User(name=name, role=role, password_hash=PASSWORD_HASH) for name, role in ROLES.items()
        )
        add_case(
            session,
            PII_POST,
            priority=1,
            sla_minutes=15,
            created_at=NOW - timedelta(minutes=5),
            pii=[_span(PII_POST, "+49 170 1234567", type="phone")],
            evidence={"complaint": [_span(PII_POST, "my invoice is wrong")]},
            reply_draft="Sorry! Please do not share personal data publicly; we will DM you.",
        )
        add_case(session, XSS, priority=2, created_at=NOW - timedelta(minutes=1))
        add_case(session, "the delivery is late", priority=3, created_at=NOW - timedelta(days=1))
        removed = add_mention(
            session, "a complaint the moderators removed", created_at=NOW - timedelta(days=2)
        )
        add_classification(session, removed)
        gone = StatusObservation(
            removed.native_id, PostStatus.REMOVED_BY_MODERATOR, AuthorStatus.ACTIVE, platform_stated=True
        )
        record_observations(
            session,
            source="replay-test",
            checked_at=NOW - timedelta(days=1),
            observations=[(removed, gone)],
            preservation={"replay": "full"},
        )
    return store


def _app(name: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if name is not None:
        at.session_state["account"] = name
    return at.run()


def _open(name: str, page: str) -> AppTest:
    at = _app(name)
    if page != "triage" or not at.title or at.title[0].value != "Triage":
        at.switch_page(f"views/{page}.py").run()
    return at


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [e.value for e in at.error]
    return "\n".join(str(p) for p in parts)


def test_signed_out_visitor_sees_only_the_sign_in_form(app_env):
    at = _app()
    assert not at.exception
    assert [t.value for t in at.title] == ["complaintwatch"]
    assert [b.label for b in at.button] == ["Sign in"]


def test_sign_in_with_the_form(app_env):
    at = _app()
    at.text_input[0].input("ann")
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["account"] == "ann"
    assert [t.value for t in at.title] == ["Triage"]


def test_wrong_password_and_disabled_user_are_refused(app_env):
    at = _app()
    at.text_input[0].input("ann")
    at.text_input[1].input("not the password")
    at.button[0].click().run()
    assert "wrong user name or password" in at.error[0].value
    with app_env.session() as session:
        users.set_disabled(session, LOCAL_OPERATOR, "ann")
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert "disabled" in at.error[0].value
    assert "account" not in at.session_state


def test_a_user_disabled_mid_session_is_signed_out(app_env):
    at = _app("ann")
    assert at.title[0].value == "Triage"
    with app_env.session() as session:
        users.set_disabled(session, LOCAL_OPERATOR, "ann")
    at.run()
    assert [t.value for t in at.title] == ["complaintwatch"]


ALLOWED = [(name, page) for name, role in ROLES.items() for page in users.Account(0, name, role).pages()]
FORBIDDEN = [
    (name, page)
    for name, role in ROLES.items()
    for page in PAGE_TITLES
    if page not in users.Account(0, name, role).pages()
]


@pytest.mark.parametrize("name, page", ALLOWED)
def test_every_allowed_page_renders(app_env, name, page):
    at = _open(name, page)
    assert not at.exception, at.exception
    assert at.title[0].value == PAGE_TITLES[page]
    assert not [e.value for e in at.error]


@pytest.mark.parametrize("name, page", FORBIDDEN)
def test_forbidden_pages_are_not_in_the_navigation(app_env, name, page):
    at = _app(name)
    assert not at.exception
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(f"views/{page}.py")


@pytest.mark.parametrize("name, page", FORBIDDEN)
def test_forbidden_page_refuses_even_when_run_directly(app_env, name, page):
    at = AppTest.from_file(str(APP.parent / "views" / f"{page}.py"), default_timeout=TIMEOUT)
    at.session_state["account"] = name
    at.run()
    assert not at.exception
    assert f"may not open the {page} page" in at.error[0].value
    assert not at.title


def test_triage_queue_masks_personal_data_for_agents(app_env):
    at = _open("ann", "triage")
    text = _texts(at)
    assert "1234567" not in text
    assert "phone hidden" in text
    # The evidence span is highlighted, the rest is escaped plain text.
    assert ":orange-background[my invoice is wrong]" in text.replace("\\", "")


def test_triage_shows_hostile_markup_escaped(app_env):
    at = _open("ann", "triage")
    post = next(m.value for m in at.markdown if "onerror" in m.value)
    assert re.search(r"(?<!\\)[<>\[\]()*]", post) is None, post  # no unescaped markup character
    assert r"\<img src\=x onerror\=alert\(1\)\>" in post
    assert r"\[click\]\(javascript\:alert\(1\)\)" in post


def _open_first_case(at: AppTest) -> AppTest:
    at.button(key=next(b.key for b in at.button if b.key and b.key.startswith("open_"))).click().run()
    return at


def test_agent_hands_off_and_approves_as_themselves(app_env):
    at = _open_first_case(_open("ann", "triage"))
    assert not at.exception
    assert at.subheader[0].value.startswith("Case #")
    reply = at.text_area[0]
    assert "1234567" not in reply.value
    handoff = next(b for b in at.button if b.label == "Hand off privately")
    handoff.click().run()
    assert not at.exception, at.exception
    with app_env.session() as session:
        message = session.scalars(select(OutboxMessage)).one()
        route = session.get(Route, message.route_id)
        event = session.scalars(select(AuditEvent).where(AuditEvent.kind == "handed_off")).one()
    assert (message.destination, message.created_by, route.state) == ("support-desk", "ann", "handed_off")
    assert event.actor == "ann"


def test_agent_edits_and_approves_the_reply(app_env):
    at = _open_first_case(_open("ann", "triage"))
    at.text_area[0].input("Sorry about the invoice! We will DM you.")
    next(b for b in at.button if b.label == "Approve and send reply").click().run()
    assert not at.exception, at.exception
    with app_env.session() as session:
        route = session.scalars(select(Route).where(Route.priority == 1)).one()
        message = session.scalars(select(OutboxMessage)).one()
    assert (route.approved_by, route.reply_draft) == ("ann", "Sorry about the invoice! We will DM you.")
    assert message.created_by == "ann"


def test_a_reply_quoting_the_personal_data_is_refused(app_env):
    at = _open_first_case(_open("ann", "triage"))
    at.text_area[0].input("We will call you at +49 170 1234567")
    next(b for b in at.button if b.label == "Approve and send reply").click().run()
    assert any("Approve the reply: refused" in e.value for e in at.error)
    with app_env.session() as session:
        assert session.scalars(select(OutboxMessage)).all() == []


def test_agent_corrects_a_tag(app_env):
    at = _open_first_case(_open("ann", "triage"))
    form_value = next(t for t in at.text_input if t.label == "New value")
    form_value.input("no")
    next(b for b in at.button if b.label == "Save correction").click().run()
    assert not at.exception
    with app_env.session() as session:
        label = session.scalars(select(Label)).one()
    assert (label.field, label.value, label.reviewer) == ("complaint", False, "ann")


def test_manager_reads_triage_without_actions(app_env):
    at = _open_first_case(_open("max", "triage"))
    assert not at.exception
    labels = {b.label for b in at.button}
    assert not labels & {
        "Hand off privately",
        "Approve and send reply",
        "Resolve",
        "Assign",
        "Apply to selected",
    }
    assert any("Read only" in c.value for c in at.caption)


def test_an_agent_demoted_mid_session_cannot_act(app_env):
    at = _open_first_case(_open("ann", "triage"))
    with app_env.session() as session:
        users.set_role(session, LOCAL_OPERATOR, "ann", "advocate")
    next(b for b in at.button if b.label == "Resolve").click().run()
    with app_env.session() as session:
        assert not session.scalars(select(Route).where(Route.state == "resolved")).all()


def test_admin_adds_a_user(app_env):
    at = _open("root", "admin")
    name, password = at.text_input[0], at.text_input[1]
    name.input("newbie")
    password.input("a long enough password")
    next(b for b in at.button if b.label == "Add user").click().run()
    assert not at.exception
    with app_env.session() as session:
        assert "newbie" in [a.name for a in users.list_users(session)]


def test_overview_figures_include_the_cases(app_env):
    at = _open("max", "overview")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Cases"] == "3"
    assert {"Download cases (CSV)", "Download figures (CSV)"} <= {b.label for b in at.get("download_button")}


def test_audit_lists_status_changes_and_figures(app_env):
    at = _open("ada", "audit")
    assert not at.exception
    assert at.subheader[0].value == "Deletions, removals and lockouts"
    changes, figures = at.dataframe[0].value, at.dataframe[1].value
    assert list(changes["status"]) == ["removed_by_moderator"]
    assert list(changes["evidence_level"]) == ["platform_stated"]
    assert figures["complaints_removed"].sum() == 1


def test_advocate_exports_a_dossier_and_verifies_it(app_env):
    at = _open("ada", "audit")
    next(b for b in at.button if b.label == "Build dossier").click().run()
    assert not at.exception, at.exception
    assert any("manifest SHA-256" in s.value for s in at.success)
    archive = at.session_state["dossier_zip"]
    at.get("file_uploader")[0].upload("dossier.zip", archive, "application/zip")
    at.run()
    assert any(s.value.startswith("OK:") for s in at.success)
    assert not at.error
    with zipfile.ZipFile(io.BytesIO(archive)) as original, io.BytesIO() as buffer:
        with zipfile.ZipFile(buffer, "w") as tampered:
            for info in original.infolist():
                data = original.read(info)
                tampered.writestr(info, data + b" " if info.filename == "mentions.json" else data)
        at.get("file_uploader")[0].upload("dossier.zip", buffer.getvalue(), "application/zip")
    at.run()
    assert [e.value for e in at.error] and "mentions.json" in at.error[0].value


def test_manager_verifies_but_cannot_export(app_env):
    at = _open("max", "audit")
    assert "Build dossier" not in [b.label for b in at.button]
    assert any("may not export" in c.value for c in at.caption)
    assert at.get("file_uploader")


SSO = {"redirect_uri": "http://127.0.0.1/oauth2callback", "cookie_secret": "x" * 32}


def _sso_app(user: dict[str, object], **auth: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.secrets["auth"] = {**SSO, **auth}
    at.user = user
    return at.run()


def test_single_sign_on_creates_the_account_with_the_default_role(app_env):
    at = _sso_app({"is_logged_in": True, "email": "sso.user@example.org"}, default_role="advocate")
    assert not at.exception, at.exception
    assert at.title[0].value == "Moderation audit"
    with app_env.session() as session:
        account = next(a for a in users.list_users(session) if a.name == "sso.user@example.org")
    assert account.role == "advocate"


def test_single_sign_on_never_grants_admin_by_default(app_env):
    at = _sso_app({"is_logged_in": True, "email": "eve@example.org"}, default_role="admin")
    assert at.title[0].value == "Triage"


def test_sign_in_page_offers_single_sign_on_when_configured(app_env):
    at = _sso_app({"is_logged_in": False})
    assert "Sign in with single sign-on" in [b.label for b in at.button]


def _card_texts(at: AppTest) -> list[str]:
    return [
        m.value for m in at.markdown if "wrong" in m.value or "delivery" in m.value or "onerror" in m.value
    ]


def test_filters_apply_and_survive_a_rerun(app_env):
    at = _open("ann", "triage")
    assert len(_card_texts(at)) == 3
    at.multiselect(key="flt_states").set_value(["open"])
    at.checkbox(key="flt_pii_only").check()
    next(b for b in at.button if b.label == "Apply").click().run()
    assert not at.exception
    assert len(_card_texts(at)) == 1 and "phone hidden" in _card_texts(at)[0]
    at.run()
    assert len(_card_texts(at)) == 1
    at.checkbox(key="flt_pii_only").uncheck()
    next(b for b in at.button if b.label == "Apply").click().run()
    assert len(_card_texts(at)) == 3


def test_pages_of_the_queue(app_env):
    with app_env.session() as session:
        for i in range(30):
            add_case(session, f"delivery number {i}", priority=4, created_at=NOW - timedelta(minutes=i))
    at = _open("ann", "triage")
    first = _card_texts(at)
    assert len(first) == 25
    at.button(key="page_next").click().run()
    second = _card_texts(at)
    assert len(second) == 8 and not set(first) & set(second)
    assert "page_next" not in [b.key for b in at.button]
    at.button(key="page_prev").click().run()
    assert _card_texts(at) == first


def test_bulk_assign_to_me(app_env):
    at = _open("ann", "triage")
    for box in at.checkbox:
        if box.key and box.key.startswith("select_"):
            box.check()
    next(b for b in at.button if b.label == "Apply to selected").click().run()
    assert not at.exception
    with app_env.session() as session:
        assert {r.assignee for r in session.scalars(select(Route))} == {"ann"}


def test_admin_retries_a_dead_letter(app_env):
    with app_env.session() as session:
        route = session.scalars(select(Route).where(Route.priority == 1)).one()
        session.add(
            OutboxMessage(
                route_id=route.id,
                destination="support-desk",
                kind="handoff",
                payload={"purpose": "handoff"},
                idempotency_key="dead-1",
                state="dead",
                attempts=8,
                last_error="HTTP 500",
                created_at=NOW,
            )
        )
    at = _open("root", "admin")
    message_id = at.dataframe[-1].value["id"].iloc[0]
    at.multiselect(key="retry_ids").set_value([message_id])
    next(b for b in at.button if b.label == "Retry now").click().run()
    assert not at.exception, at.exception
    with app_env.session() as session:
        message = session.scalars(select(OutboxMessage)).one()
        event = session.scalars(select(AuditEvent).where(AuditEvent.kind == "outbox_retry")).one()
    assert (message.state, message.attempts) == ("pending", 0)
    assert event.actor == "root"


@pytest.mark.parametrize("dimension", ["Platform", "Topic", "Language"])
def test_overview_breaks_down_by_each_dimension(app_env, dimension):
    at = _open("max", "overview")
    at.selectbox(key="overview_dimension").select(
        dimension.lower() if dimension != "Language" else "lang"
    ).run()
    assert not at.exception, at.exception
    assert len(at.dataframe) == 2


def test_resolve_then_reopen(app_env):
    at = _open_first_case(_open("ann", "triage"))
    next(b for b in at.button if b.label == "Resolve").click().run()
    assert not at.exception, at.exception
    assert any("Resolved" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "Reopen").click().run()
    with app_env.session() as session:
        route = session.scalars(select(Route).where(Route.priority == 1)).one()
        kinds = list(session.scalars(select(AuditEvent.kind).where(AuditEvent.actor == "ann")))
    assert route.state == "open"
    assert kinds == ["case_resolved", "case_reopened"]


def test_sign_in_is_throttled_after_repeated_failures(app_env):
    at = _app()
    for _ in range(users.Throttle().limit):
        at.text_input[0].input("mallory")
        at.text_input[1].input("guess-guess-guess")
        at.button[0].click().run()
        assert "wrong user name or password" in at.error[0].value
    at.button[0].click().run()
    assert "too many failed sign-ins for 'mallory'" in at.error[0].value


def test_advocate_reads_the_checks_of_one_post(app_env):
    with app_env.session() as session:
        removed_id = session.scalars(select(Mention.id).where(Mention.post_status != "live")).one()
    at = _open("ada", "audit")
    next(n for n in at.number_input if n.label == "Post #").set_value(removed_id)
    next(b for b in at.button if b.label == "Show checks").click().run()
    assert not at.exception, at.exception
    (history,) = [d.value for d in at.dataframe if "checked_at" in d.value.columns]
    assert list(history["status"]) == ["removed_by_moderator"]
