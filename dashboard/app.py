"""Dashboard entry point: ``streamlit run dashboard/app.py`` with $COMPLAINTWATCH_CONFIG set.

Signs people in (local accounts, or OpenID Connect when ``[auth]`` is configured in
``.streamlit/secrets.toml``) and offers only the pages the account's role allows. Each page
checks the role again, and every action re-checks it in the database.

The page scripts live in ``views/``, not ``pages/``: a ``pages/`` folder next to the entry point
switches Streamlit to its older multipage mode, which runs any page file directly by URL,
bypassing this script's sign-in and role check.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import components as ui
from monitor.config import ConfigError
from monitor.store import StoreError
from monitor.users import AuthError

HERE = Path(__file__).resolve().parent
PAGES = {
    "triage": ("Triage", ":material/inbox:"),
    "audit": ("Audit", ":material/policy:"),
    "overview": ("Overview", ":material/monitoring:"),
    "admin": ("Admin", ":material/admin_panel_settings:"),
}


def sign_in_page() -> None:
    """Local sign-in form (Enter submits), plus the OpenID Connect button when configured."""
    st.title("complaintwatch")
    with st.form("sign_in"):
        name = st.text_input("User name", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            ui.sign_in(name, password)
        except AuthError as exc:
            st.error(str(exc))
        else:
            st.rerun()
    if ui.oidc_configured():
        st.divider()
        st.button("Sign in with single sign-on", on_click=st.login)


def main() -> None:
    st.set_page_config(page_title="complaintwatch", page_icon=":material/support_agent:", layout="wide")
    try:
        ui.store()
        account = ui.current_account()
    except (ConfigError, StoreError) as exc:
        st.error(f"The dashboard cannot open its data: {exc}")
        st.stop()
        return
    if account is None:
        st.navigation(
            [st.Page(sign_in_page, title="Sign in", icon=":material/login:")], position="hidden"
        ).run()
        return
    pages = [
        st.Page(HERE / "views" / f"{name}.py", title=PAGES[name][0], icon=PAGES[name][1], url_path=name)
        for name in account.pages()
    ]
    with st.sidebar:
        st.caption(f"Signed in as **{ui.escape_markdown(account.name)}** ({account.role})")
        st.button("Sign out", on_click=ui.sign_out, icon=":material/logout:")
    if not pages:
        st.error(f"Your role ({account.role}) has no pages.")
        return
    st.navigation(pages).run()


main()
