"""Audit: the advocates' view of deletions, removals and lockouts, their figures, and evidence dossiers."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import components as ui
from monitor import queries
from monitor.audit import dossier, figures
from monitor.queries import AuditFilters
from monitor.users import Account

DEFAULT_DAYS = 90
STATUS_CHOICES = (
    *queries.REMOVAL_STATUSES,
    "suspended",
    "deactivated",
    "protected",
    "active",
    "live",
    "locked_by_brand",
)
SHARE_COLUMNS = ("complaints_removed_share", "others_removed_share", "complaint_authors_locked_share")


def controls() -> tuple[AuditFilters, date, date]:
    """Brand, platform, status and date filters (one form: Enter applies)."""
    options = ui.filter_options()
    today = datetime.now(UTC).date()
    with st.form("audit_filters"):
        cols = st.columns([2, 2, 3, 3])
        brands = cols[0].multiselect("Brand", options.brands)
        platforms = cols[1].multiselect("Platform", options.platforms)
        statuses = cols[2].multiselect("New status", STATUS_CHOICES, placeholder="any change")
        picked = cols[3].date_input(
            "Between", value=(today - timedelta(days=DEFAULT_DAYS - 1), today), format="YYYY-MM-DD"
        )
        st.form_submit_button("Apply")
    since, until = picked if isinstance(picked, tuple | list) and len(picked) == 2 else (today, today)
    start = datetime(since.year, since.month, since.day, tzinfo=UTC)
    end = datetime(until.year, until.month, until.day, tzinfo=UTC) + timedelta(days=1)
    filters = AuditFilters(tuple(brands), tuple(platforms), tuple(statuses), start, end)
    return filters, since, until


def timeline(rows: list[dict[str, object]]) -> None:
    """Each status change as a point in time, by brand, coloured by its new status."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        st.info("No deletions, removals or lockouts recorded in this period.")
        return
    chart = (
        alt.Chart(frame)
        .mark_circle(size=90)
        .encode(
            x=alt.X("occurred_at:T", title="Observed"),
            y=alt.Y("brand:N", title="Brand"),
            color=alt.Color("status:N", title="New status"),
            shape=alt.Shape("evidence_level:N", title="Evidence"),
            tooltip=["seq", "what", "platform", "previous_status", "status", "evidence_level", "basis"],
        )
    )
    st.altair_chart(chart, width="stretch")
    st.dataframe(
        frame[
            [
                "seq",
                "occurred_at",
                "what",
                "brand",
                "platform",
                "author",
                "previous_status",
                "status",
                "verdict",
                "evidence_level",
                "basis",
                "url",
                "hash",
            ]
        ],
        hide_index=True,
        width="stretch",
        column_config={"url": st.column_config.LinkColumn("post")},
    )


def removal_figures(filters: AuditFilters) -> None:
    """Per brand and platform: are complaints removed more often than other posts? (95% intervals)"""
    rows = ui.read(figures.removal_figures, since=filters.since, until=filters.until)
    rows = [r for r in rows if (not filters.brands or r["brand"] in filters.brands)]
    rows = [r for r in rows if (not filters.platforms or r["platform"] in filters.platforms)]
    if not rows:
        st.info("No classified posts in this period.")
        return
    frame = pd.DataFrame(rows)
    percent = {
        c: st.column_config.NumberColumn(c.replace("_", " "), format="percent")
        for c in frame
        if "share" in c or "_ci_" in c
    }
    st.dataframe(frame, hide_index=True, width="stretch", column_config=percent)


def export_form(account: Account, filters: AuditFilters, since: date, until: date) -> None:
    """Build a dossier ZIP for one brand (or one post) and offer it for download."""
    options = ui.filter_options()
    if not options.brands:
        return
    with st.form("dossier"):
        brand = st.selectbox("Brand", options.brands)
        mention = st.number_input("Only post # (0 = every complaint and audited post)", min_value=0, step=1)
        build = st.form_submit_button("Build dossier")
    if build:
        selection = dossier.Selection(
            brand,
            filters.since or datetime.now(UTC),
            filters.until or datetime.now(UTC),
            int(mention) or None,
        )
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "dossier.zip"
            try:
                summary = ui.read(dossier.export_dossier, selection, out)
            except dossier.DossierError as exc:
                st.error(str(exc))
                return
            st.session_state["dossier_zip"] = out.read_bytes()
        st.success(
            f"{summary.mentions} posts, {summary.events} events; manifest SHA-256 {summary.manifest_sha256}"
        )
    if "dossier_zip" in st.session_state:
        st.download_button(
            "Download dossier (ZIP)",
            st.session_state["dossier_zip"],
            file_name=f"complaintwatch-dossier-{since}-{until}.zip",
            mime="application/zip",
            type="primary",
        )


def verify_form() -> None:
    """Check a dossier someone sent back: files against the manifest, events against their hashes."""
    upload = st.file_uploader("Verify a dossier ZIP", type=["zip"])
    if upload is None:
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.zip"
        path.write_bytes(upload.getvalue())
        check = dossier.verify_export(path)
    message = check.message.replace(str(path), upload.name)
    (st.success if check.ok else st.error)(message)


def post_history() -> None:
    """Every re-check of one post: what was seen when (a gap between checks is not "still live")."""
    with st.form("post_history"):
        mention_id = st.number_input("Post #", min_value=1, step=1)
        show = st.form_submit_button("Show checks")
    if show:
        rows = ui.read(queries.status_history, int(mention_id))
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        else:
            st.info(f"Post #{int(mention_id)} has not been re-checked (or does not exist).")


def main() -> None:
    account = ui.require_page("audit")
    st.title("Moderation audit")
    filters, since, until = controls()
    st.subheader("Deletions, removals and lockouts")
    timeline(ui.read(queries.status_changes, filters))
    with st.expander("Re-checks of one post"):
        post_history()
    st.subheader("Removal figures by brand")
    removal_figures(filters)
    left, right = st.columns(2)
    with left:
        st.subheader("Evidence dossier")
        if account.can("audit.export"):
            export_form(account, filters, since, until)
        else:
            st.caption(f"Your role ({account.role}) may not export dossiers.")
    with right:
        st.subheader("Verify a dossier")
        if account.can("audit.verify"):
            verify_form()


if __name__ == "__main__":
    main()
