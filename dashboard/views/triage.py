"""Triage: the agents' queue of complaints, most urgent first, with the case actions.

Left: the queue (keyset-paginated, refreshed every ``REFRESH_S`` seconds in a fragment, so the
agent's page and selections survive the refresh). Right: the open case with its actions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import streamlit as st

from dashboard import components as ui
from monitor import queries, users
from monitor.queries import TriageCursor, TriageFilters, TriageItem
from monitor.routing import actions
from monitor.users import Account

REFRESH_S = 30
FILTERS_KEY = "triage_filter_values"
CURSORS_KEY = "triage_cursors"  # stack of page starts; the last one is the page shown
OPEN_KEY = "triage_open"
SNOOZE_CHOICES = {"30 minutes": 30, "1 hour": 60, "4 hours": 240, "1 day": 1440, "1 week": 10080}
TAG_FIELDS = actions.CORRECTABLE
ANYONE, NOBODY, ME = "anyone", "unassigned", "me"


# -- filters -----------------------------------------------------------------------------------------


def filter_form(account: Account) -> None:
    """The filters, in one form: change several, press Enter or Apply, the queue restarts at page 1.

    Each widget has a key, so its value survives reruns; it is seeded from the applied filters
    when absent (e.g. after visiting another page, which drops the widgets' state).
    """
    options = ui.filter_options()
    people = [a.name for a in ui.read(users.list_users) if a.can("triage.act") and a.name != account.name]
    choices = [ANYONE, NOBODY, ME, *people]
    _seed_widgets(st.session_state.get(FILTERS_KEY, TriageFilters()), account, choices)
    with st.sidebar.form("triage_filters"):
        st.subheader("Filters")
        lists = {
            "brands": st.multiselect("Brand", options.brands, key="flt_brands"),
            "platforms": st.multiselect("Platform", options.platforms, key="flt_platforms"),
            "langs": st.multiselect("Language", options.langs, key="flt_langs"),
            "topics": st.multiselect("Topic", options.topics, key="flt_topics"),
            "queues": st.multiselect("Queue", options.queues, key="flt_queues"),
            "states": st.multiselect(
                "Status", queries.ROUTE_STATES, key="flt_states", placeholder="active (open, assigned)"
            ),
        }
        assignee = st.selectbox("Assignee", choices, key="flt_assignee")
        risk_only = st.checkbox("Legal risk only", key="flt_risk_only")
        pii_only = st.checkbox("Personal data only", key="flt_pii_only")
        dates = st.date_input("Posted between", key="flt_dates", format="YYYY-MM-DD")
        if st.form_submit_button("Apply", type="primary"):
            since, until = _date_bounds(dates)
            st.session_state[FILTERS_KEY] = TriageFilters(
                **{name: tuple(values) for name, values in lists.items()},
                risk_only=risk_only,
                pii_only=pii_only,
                assignee=_assignee_value(assignee, account),
                since=since,
                until=until,
            )
            st.session_state[CURSORS_KEY] = [None]


def _seed_widgets(current: TriageFilters, account: Account, choices: list[str]) -> None:
    state = st.session_state
    for name in ("brands", "platforms", "langs", "topics", "queues", "states"):
        state.setdefault(f"flt_{name}", list(getattr(current, name)))
    state.setdefault("flt_risk_only", current.risk_only)
    state.setdefault("flt_pii_only", current.pii_only)
    state.setdefault("flt_dates", _date_value(current))
    if state.get("flt_assignee") not in choices:
        state["flt_assignee"] = _assignee_choice(current, account, choices)


def _assignee_choice(current: TriageFilters, account: Account, choices: list[str]) -> str:
    if current.assignee is None:
        return ANYONE
    if current.assignee == queries.UNASSIGNED:
        return NOBODY
    wanted = ME if current.assignee == account.name else current.assignee
    return wanted if wanted in choices else ANYONE


def _assignee_value(choice: str, account: Account) -> str | None:
    return {ANYONE: None, NOBODY: queries.UNASSIGNED, ME: account.name}.get(choice, choice)


def _date_value(current: TriageFilters) -> Any:
    if current.since and current.until:
        return (current.since.date(), (current.until - timedelta(days=1)).date())
    return ()


def _date_bounds(dates: Any) -> tuple[datetime | None, datetime | None]:
    if not isinstance(dates, tuple | list) or len(dates) != 2:
        return None, None
    start = datetime(dates[0].year, dates[0].month, dates[0].day, tzinfo=UTC)
    end = datetime(dates[1].year, dates[1].month, dates[1].day, tzinfo=UTC) + timedelta(days=1)
    return start, end


# -- the queue ---------------------------------------------------------------------------------------


def _cursors() -> list[TriageCursor | None]:
    return st.session_state.setdefault(CURSORS_KEY, [None])


def _next_page(cursor: TriageCursor) -> None:
    _cursors().append(cursor)


def _previous_page() -> None:
    if len(_cursors()) > 1:
        _cursors().pop()


@st.fragment(run_every=REFRESH_S)
def queue(account: Account) -> None:
    """The current page of the queue; re-read every ``REFRESH_S`` s without losing the page."""
    filters: TriageFilters = st.session_state.get(FILTERS_KEY, TriageFilters())
    cursors = _cursors()
    page = ui.read(queries.triage_page, filters, after=cursors[-1])
    now = datetime.now(UTC)
    st.caption(f"Page {len(cursors)} · refreshed {now:%H:%M:%S} UTC · {len(page.items)} cases shown")
    if not page.items:
        st.info("No cases match these filters.")
    if account.can("triage.act") and page.items:
        bulk_form(account, page.items)
    for item in page.items:
        card(item, account, now)
    left, right = st.columns(2)
    left.button("← Previous", on_click=_previous_page, disabled=len(cursors) <= 1, key="page_prev")
    if page.next_cursor is not None:
        right.button("Next →", on_click=_next_page, args=(page.next_cursor,), key="page_next")


def card(item: TriageItem, account: Account, now: datetime) -> None:
    """One case in the queue: priority, SLA clock, where, who, the post (masked), its tags."""
    with st.container(border=True, key=f"card_{item.route_id}"):
        head, pick = st.columns([6, 1])
        where = f"{item.brand} · {item.platform} · {item.lang or '?'} · {item.state}"
        clock = ui.sla_markdown(item.sla_due_at, item.first_response_at, now)
        head.markdown(f"**P{item.priority}** · {clock} · {ui.escape_markdown(where)}")
        if account.can("triage.act"):
            pick.checkbox("select", key=f"select_{item.route_id}", label_visibility="collapsed")
        who = ui.escape_markdown(f"@{item.author_handle} · {item.created_at:%Y-%m-%d %H:%M} UTC")
        link = ui.link_markdown(f"open on {item.platform}", item.url)
        st.caption(f"{who} · {link}" if link else who)
        pii = item.tags.get("pii") or []
        st.markdown(ui.post_markdown(item.text, item.evidence, pii, show_pii=account.can("pii.view")))
        st.markdown(ui.chips(ui.tag_names(item.tags)) or "*no tags*")
        suggestion = f"→ {item.queue} (rule {item.rule}), hand off to {item.destination or 'nobody yet'}"
        st.caption(ui.escape_markdown(suggestion))
        if st.button("Open case", key=f"open_{item.route_id}", icon=":material/open_in_new:"):
            st.session_state[OPEN_KEY] = item.route_id
            st.rerun()


def bulk_form(account: Account, items: list[TriageItem]) -> None:
    """Apply one action to every selected card of this page."""
    with st.form("bulk"):
        action = st.selectbox("Bulk action on selected cases", ["assign to me", "snooze 1 hour", "resolve"])
        if st.form_submit_button("Apply to selected"):
            chosen = [i.route_id for i in items if st.session_state.get(f"select_{i.route_id}")]
            if not chosen:
                st.warning("Select cases first (the box at the right of each card).")
                return
            until = datetime.now(UTC) + timedelta(hours=1)
            run = {
                "assign to me": lambda s, u, r: actions.assign(s, r, u, account.name),
                "snooze 1 hour": lambda s, u, r: actions.snooze(s, r, u, until),
                "resolve": lambda s, u, r: actions.resolve(s, r, u),
            }[action]
            done = f"{action}: {len(chosen)} case(s)"
            if ui.act(account, "triage.act", done, lambda s, u: [run(s, u, r) for r in chosen]):
                # Allowed here: the cards' boxes are drawn after this form in the same run.
                for route_id in chosen:
                    st.session_state[f"select_{route_id}"] = False
                st.rerun()


# -- the open case -----------------------------------------------------------------------------------


def case_panel(account: Account) -> None:
    """The case the agent opened: the full post, the routing suggestion, the reply and the actions."""
    route_id = st.session_state.get(OPEN_KEY)
    item = ui.read(queries.triage_item, route_id) if route_id else None
    if item is None:
        st.info("Open a case from the queue to work on it.")
        return
    now = datetime.now(UTC)
    st.subheader(f"Case #{item.route_id}")
    st.markdown(
        ui.escape_markdown(f"{item.brand} · {item.platform} · priority {item.priority} · {item.state}")
    )
    st.markdown(ui.sla_markdown(item.sla_due_at, item.first_response_at, now))
    st.caption(
        ui.escape_markdown(
            f"@{item.author_handle} ({item.author_id}) · assignee: {item.assignee or 'nobody'}"
        )
    )
    link = ui.safe_link(item.url)
    if link:
        st.link_button(f"Open on {item.platform}", link, icon=":material/link:")
    pii = item.tags.get("pii") or []
    with st.container(border=True):
        st.markdown(ui.post_markdown(item.text, item.evidence, pii, show_pii=account.can("pii.view")))
    st.markdown(ui.chips(ui.tag_names(item.tags)) or "*no tags*")
    suggestion = f"Rule {item.rule}: queue {item.queue}, hand off to {item.destination or '(dashboard only)'}"
    st.markdown("**Routing suggestion:** " + ui.escape_markdown(suggestion))
    if not account.can("triage.act"):
        st.caption("Read only: your role cannot act on cases.")
        if item.public_reply:
            st.text_area("Public reply draft", item.reply_draft, disabled=True)
        return
    case_actions(item, account)


def case_actions(item: TriageItem, account: Account) -> None:
    """The forms that act on one case; each calls ``monitor.routing.actions`` as the signed-in user."""
    if item.state == "resolved":
        st.caption("Resolved. Reopen it to work on it again.")
        _button(item, account, "Reopen", lambda s, u: actions.reopen(s, item.route_id, u))
        return
    reply_form(item, account)
    handoff_form(item, account)
    assign_col, snooze_col = st.columns(2)
    with assign_col:
        assign_form(item, account)
    with snooze_col:
        snooze_form(item, account)
    resolve_col, not_col = st.columns(2)
    with resolve_col:
        _button(item, account, "Resolve", lambda s, u: actions.resolve(s, item.route_id, u))
    with not_col:
        mid = item.mention_id
        _button(item, account, "Not a complaint", lambda s, u: actions.mark_not_complaint(s, mid, u))
    correct_tag_form(item, account)


def _run(account: Account, label: str, action: Any) -> None:
    """Run an action as ``account``; on success rerun so every part of the page shows the new state."""
    if ui.act(account, "triage.act", label, action):
        st.rerun()


def _button(item: TriageItem, account: Account, label: str, action: Any) -> None:
    if st.button(label, key=f"{label.lower().replace(' ', '_')}_{item.route_id}"):
        _run(account, f"{label} (case {item.route_id})", action)


def reply_form(item: TriageItem, account: Account) -> None:
    """Edit and approve the public reply (the library refuses one that quotes personal data)."""
    if not item.public_reply:
        return
    if item.approved_by:
        st.success(f"Public reply approved by {item.approved_by}.")
        st.text_area("Public reply", item.reply_draft, disabled=True, key=f"approved_{item.route_id}")
        return
    with st.form(f"reply_{item.route_id}"):
        text = st.text_area("Public reply draft (never quote personal data)", item.reply_draft, height=120)
        if st.form_submit_button("Approve and send reply", type="primary"):
            config = ui.config()
            _run(
                account,
                "Approve the reply",
                lambda s, u: actions.approve_reply(s, item.route_id, u, text, config=config),
            )


def handoff_form(item: TriageItem, account: Account) -> None:
    """Hand the case to a private channel (the rule's destination is preselected)."""
    destinations = [d.name for d in ui.config().settings.destinations]
    with st.form(f"handoff_{item.route_id}"):
        default = destinations.index(item.destination) if item.destination in destinations else 0
        destination = st.selectbox("Hand off to", destinations or ["(none configured)"], index=default)
        if st.form_submit_button("Hand off privately", disabled=not destinations):
            config = ui.config()
            _run(
                account,
                f"Hand off to {destination}",
                lambda s, u: actions.hand_off(s, item.route_id, u, destination, config=config),
            )


def assign_form(item: TriageItem, account: Account) -> None:
    with st.form(f"assign_{item.route_id}"):
        people = [a.name for a in ui.read(users.list_users) if a.can("triage.act")]
        mine = people.index(account.name) if account.name in people else 0
        who = st.selectbox("Assign to", people, index=mine)
        if st.form_submit_button("Assign"):
            _run(account, f"Assign to {who}", lambda s, u: actions.assign(s, item.route_id, u, who))


def snooze_form(item: TriageItem, account: Account) -> None:
    with st.form(f"snooze_{item.route_id}"):
        span = st.selectbox("Snooze for", list(SNOOZE_CHOICES))
        if st.form_submit_button("Snooze"):
            until = datetime.now(UTC) + timedelta(minutes=SNOOZE_CHOICES[span])
            _run(account, f"Snooze for {span}", lambda s, u: actions.snooze(s, item.route_id, u, until))


def correct_tag_form(item: TriageItem, account: Account) -> None:
    """Correct one tag (a label: training data for the next model); the library checks the value."""
    with st.form(f"correct_{item.route_id}"):
        field_col, value_col = st.columns(2)
        field = field_col.selectbox("Correct tag", TAG_FIELDS)
        value = value_col.text_input("New value", placeholder="yes / no / a topic / a language code")
        if st.form_submit_button("Save correction"):
            parsed = _tag_value(value)
            mid = item.mention_id
            _run(account, f"Correct {field}", lambda s, u: actions.correct_tag(s, mid, u, field, parsed))


def _tag_value(text: str) -> Any:
    """yes/no (true/false) as booleans, "none" as None, anything else as typed."""
    word = text.strip().lower()
    return {"yes": True, "true": True, "no": False, "false": False, "none": None}.get(word, text.strip())


def main() -> None:
    account = ui.require_page("triage")
    st.title("Triage")
    counts = ui.read(queries.queue_counts)
    cols = st.columns(4)
    for col, (label, key) in zip(
        cols,
        [("Open", "open"), ("Assigned", "assigned"), ("Overdue", "overdue"), ("Snoozed", "snoozed")],
        strict=True,
    ):
        col.metric(label, counts[key])
    filter_form(account)
    left, right = st.columns([5, 6], gap="large")
    with left:
        queue(account)
    with right:
        case_panel(account)


if __name__ == "__main__":
    main()
