"""End to end in a real browser: sign in, route the complaint that exposes personal data, see the
signed webhook arrive once, see the case in the managers' figures; roles and hostile posts hold.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

import pytest
from browser_support import (
    CHROMIUM,
    DESTINATION,
    PASSWORD,
    WEBHOOK_SECRET,
    minutes_ago,
    now,
    screenshot,
    wait_for_script_run,
)
from dashboard_fixtures import add_classification, add_mention
from playwright.sync_api import expect
from sqlalchemy import select

from collectors.base import AuthorStatus, PostStatus, StatusObservation
from monitor import config as config_module
from monitor.audit.observe import record_observations
from monitor.routing import route_pending
from monitor.routing.outbox import deliver_due
from monitor.store.models import Route, User
from monitor.users import hash_password

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium chromium-driver)",
    ),
]
PHONE = "+49 170 5550123"
PII_POST = f"@Acme my invoice is wrong again, call me at {PHONE} today!"
XSS_POSTS = ("<img src=x onerror=alert(1)> refund me", "<script>alert(1)</script> where is my parcel")
ACCOUNTS = {"ann": "agent", "max": "manager", "root": "admin", "ada": "advocate"}


def _span(text: str, part: str, **extra: str) -> dict[str, Any]:
    start = text.index(part)
    return {"start": start, "end": start + len(part), **extra}


@pytest.fixture
def seeded(store, app_env):
    """Accounts, complaints tagged as the classifier would, and routes made by the real routing engine."""
    config = config_module.load()
    password_hash = hash_password(PASSWORD)
    with store.session() as session:
        session.add_all(User(name=n, role=r, password_hash=password_hash) for n, r in ACCOUNTS.items())
        pii = add_mention(session, PII_POST, author="carla", created_at=minutes_ago(3))
        add_classification(
            session,
            pii,
            pii=[_span(PII_POST, PHONE, type="phone")],
            evidence={"complaint": [_span(PII_POST, "my invoice is wrong again")]},
        )
        for i, text in enumerate(XSS_POSTS):
            hostile = add_mention(session, text, author=f"mallory{i}", created_at=minutes_ago(2))
            add_classification(session, hostile)
        add_classification(session, add_mention(session, "late delivery again", created_at=minutes_ago(30)))
        quiet = add_mention(session, "nice weather for a parcel", author="dora", created_at=minutes_ago(90))
        add_classification(session, quiet, complaint=False, topic=None)
        assert route_pending(session, config, now()) == 4
        removed = StatusObservation(quiet.native_id, PostStatus.REMOVED_BY_PLATFORM, AuthorStatus.SUSPENDED)
        record_observations(
            session,
            source="replay-test",
            checked_at=minutes_ago(1),
            observations=[(quiet, removed)],
            preservation={"replay": "full"},
        )
    return store


def close_page_not_found(page: Any) -> None:
    """Streamlit's own "page not found" notice for a URL outside the account's pages."""
    notice = page.get_by_role("heading", name="Page not found")
    notice.wait_for()
    page.get_by_role("button", name="Close").click()
    notice.wait_for(state="hidden")


def sign_in(page: Any, base: str, name: str, path: str = "") -> None:
    page.goto(f"{base}/{path}")
    wait_for_script_run(page)
    if path:
        close_page_not_found(page)
    page.get_by_role("textbox", name="User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("textbox", name="Password").press("Enter")  # the form submits on Enter
    page.get_by_text(f"Signed in as {name}").wait_for()


def sign_out(page: Any) -> None:
    """Sign out and wait for the sign-in form, so the next page load cannot race the sign-out's rerun."""
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("textbox", name="User name").wait_for()


def cards(page: Any) -> Any:
    return page.locator('[class*="st-key-card_"]')


def test_agent_routes_the_pii_complaint_and_the_manager_sees_it(page, dashboard, seeded, receiver):
    sign_in(page, dashboard, "ann")
    page.get_by_role("heading", name="Triage").wait_for()
    first = cards(page).first
    first.wait_for()
    expect(first).to_contain_text("[phone hidden]")
    expect(first).to_contain_text("my invoice is wrong again")
    assert "5550123" not in page.content()  # masked for agents, everywhere on the page
    screenshot(page, "triage")

    first.get_by_role("button", name="Open case").click()
    page.get_by_role("heading", name=re.compile(r"Case #\d+")).wait_for()
    draft_box = page.get_by_label("Public reply draft (never quote personal data)")
    expect(draft_box).to_have_value(re.compile(r"personal data"))  # the privacy template, once rendered
    assert "5550123" not in draft_box.input_value()
    screenshot(page, "triage-case")
    page.get_by_role("button", name="Hand off privately").click()
    page.get_by_text(f"Hand off to {DESTINATION}: done").wait_for()

    with seeded.session() as session:
        route = session.scalars(select(Route).where(Route.queue == "privacy")).one()
        assert route.state == "handed_off"
    counts = deliver_due(seeded, config_module.load())
    assert counts["sent"] == 1
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request["headers"]["X-Complaintwatch-Signature"], expected)
    assert json.loads(request["body"])["case"]["route_id"] == route.id
    assert deliver_due(seeded, config_module.load())["sent"] == 0 and len(receiver.requests) == 1

    sign_out(page)
    sign_in(page, dashboard, "max")
    page.get_by_role("link", name="Overview").click()
    page.get_by_role("heading", name="Overview").wait_for()
    cases = page.locator('[data-testid="stMetric"]').filter(has_text="Cases")
    expect(cases.locator('[data-testid="stMetricValue"]')).to_have_text("4")
    handoff = page.locator('[data-testid="stMetric"]').filter(has_text="Private hand-off, median")
    expect(handoff.locator('[data-testid="stMetricValue"]')).to_have_text(re.compile(r"^\d+ min$"))
    screenshot(page, "overview")


def test_agent_cannot_open_admin(page, dashboard, seeded):
    sign_in(page, dashboard, "ann", path="admin")
    page.get_by_role("heading", name="Triage").wait_for()
    assert page.get_by_role("heading", name="Admin").count() == 0
    assert page.get_by_role("link", name="Admin").count() == 0
    assert page.get_by_role("button", name="Add user").count() == 0


def test_admin_and_advocate_pages(page, dashboard, seeded):
    sign_in(page, dashboard, "root")
    page.get_by_role("link", name="Admin").click()
    page.get_by_role("heading", name="Outbox").wait_for()
    expect(page.get_by_text("No dead letters.")).to_be_visible()
    screenshot(page, "admin")
    page.get_by_role("link", name="Overview").click()
    expect(page.locator('[data-testid="stMetric"]').filter(has_text="Cases")).to_contain_text("4")
    page.get_by_role("heading", name="Removals by moderators and platforms").wait_for()
    sign_out(page)
    sign_in(page, dashboard, "ada")
    page.get_by_role("heading", name="Removal figures by brand").wait_for()
    expect(page.get_by_text("No deletions, removals or lockouts")).to_have_count(0)
    page.get_by_role("button", name="Build dossier").wait_for()
    screenshot(page, "audit")


def test_hostile_posts_show_as_literal_text(page, dashboard, seeded):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, dashboard, "ann")
    for text in XSS_POSTS:
        page.get_by_text(text).first.wait_for()
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator("script", has_text="alert(1)").count() == 0
    page.wait_for_timeout(500)
    assert dialogs == []
    screenshot(page, "triage-hostile-posts")
