"""Admin: accounts and roles, and the outbox's dead letters (messages that gave up)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd
import streamlit as st
from sqlalchemy.orm import Session

from dashboard import components as ui
from monitor import queries, users
from monitor.routing import outbox
from monitor.users import Account


def user_table() -> list[Account]:
    accounts = ui.read(users.list_users)
    frame = pd.DataFrame(
        [
            {"name": a.name, "role": a.role, "disabled": a.disabled, "pages": ", ".join(a.pages())}
            for a in accounts
        ],
        columns=["name", "role", "disabled", "pages"],
    )
    st.dataframe(frame, hide_index=True, width="stretch")
    return accounts


def _manage(account: Account, done: str, change: Callable[[Session, Account], object]) -> None:
    """Run a users.* change as ``account`` (the library checks the admin role again)."""
    if ui.act(account, "users.manage", done, lambda session, _name: change(session, account)):
        st.rerun()


def add_user_form(account: Account) -> None:
    with st.form("add_user", clear_on_submit=True):
        st.markdown("**Add a user**")
        name = st.text_input("User name")
        role = st.selectbox("Role", users.ROLES)
        password = st.text_input(
            "Initial password", type="password", help=f"At least {users.MIN_PASSWORD_LENGTH} characters"
        )
        if st.form_submit_button("Add user", type="primary"):
            _manage(
                account, f"Add user {name}", lambda s, a: users.add_user(s, a, name.strip(), role, password)
            )


def change_user_form(account: Account, accounts: list[Account]) -> None:
    names = [a.name for a in accounts]
    with st.form("change_user"):
        st.markdown("**Change a user**")
        name = st.selectbox("User", names)
        change = st.radio("Change", ["role", "disable", "enable", "password"], horizontal=True)
        role = st.selectbox("New role", users.ROLES)
        password = st.text_input("New password", type="password")
        if st.form_submit_button("Apply"):
            changes = {
                "role": lambda s, a: users.set_role(s, a, name, role),
                "disable": lambda s, a: users.set_disabled(s, a, name, True),
                "enable": lambda s, a: users.set_disabled(s, a, name, False),
                "password": lambda s, a: users.set_password(s, a, name, password),
            }
            _manage(account, f"Change {change} of {name}", changes[change])


def dead_letters(account: Account) -> None:
    st.subheader("Outbox")
    counts = ui.read(queries.outbox_counts)
    cols = st.columns(len(outbox.STATES))
    for col, state in zip(cols, outbox.STATES, strict=True):
        col.metric(state, counts.get(state, 0))
    rows = ui.read(queries.dead_letters)
    if not rows:
        st.success("No dead letters.")
        return
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    with st.form("retry_dead"):
        chosen = st.multiselect(
            "Retry messages", [r["id"] for r in rows], format_func=lambda i: f"#{i}", key="retry_ids"
        )
        if st.form_submit_button("Retry now") and chosen:
            now = datetime.now(UTC)
            if ui.act(
                account,
                "outbox.manage",
                f"Retry {len(chosen)} message(s)",
                lambda s, u: [outbox.retry(s, message_id, u, now) for message_id in chosen],
            ):
                st.rerun()


def main() -> None:
    account = ui.require_page("admin")
    st.title("Admin")
    st.subheader("Users")
    accounts = user_table()
    left, right = st.columns(2)
    with left:
        add_user_form(account)
    with right:
        change_user_form(account, accounts)
    if ui.oidc_configured():
        st.caption(
            f"Single sign-on is on: new users get the role {ui.oidc_default_role()!r} "
            "(set `default_role` under `[auth]` in secrets.toml)."
        )
    dead_letters(account)


if __name__ == "__main__":
    main()
