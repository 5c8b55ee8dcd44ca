"""Overview: the managers' figures: volume, complaint share, response and hand-off times, SLA, removals."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import components as ui
from monitor import queries

DEFAULT_DAYS = 30
CACHE_S = 60  # figures over a month of posts take a second or two on a million mentions
DIMENSION_LABELS = {"brand": "Brand", "platform": "Platform", "topic": "Topic", "lang": "Language"}


def controls() -> tuple[date, date, str]:
    """Date range and the dimension to break the figures down by."""
    today = datetime.now(UTC).date()
    left, right = st.columns([2, 1])
    picked = left.date_input(
        "Posts created between",
        value=(today - timedelta(days=DEFAULT_DAYS - 1), today),
        max_value=today + timedelta(days=1),
        format="YYYY-MM-DD",
        key="overview_dates",
    )
    dimension = right.selectbox(
        "Break down by",
        queries.DIMENSIONS,
        format_func=DIMENSION_LABELS.__getitem__,
        key="overview_dimension",
    )
    if not isinstance(picked, tuple | list) or len(picked) != 2:
        st.info("Pick an end date too.")
        st.stop()
    return picked[0], picked[1], dimension


def headline(figures: list[queries.CaseFigures]) -> None:
    """The four numbers a manager looks at first."""
    total = figures[0] if figures else None
    cols = st.columns(5)
    cols[0].metric("Cases", total.cases if total else 0)
    cols[1].metric("First response, median", _minutes(total.first_response_median_min if total else None))
    cols[2].metric("Private hand-off, median", _minutes(total.handoff_median_min if total else None))
    cols[3].metric("SLA breaches", total.sla_breaches if total else 0)
    cols[4].metric("Resolution rate", f"{total.resolution_rate:.0%}" if total else "–")


def _minutes(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f} min" if value < 120 else f"{value / 60:.1f} h"


def volume_charts(rows: list[dict[str, Any]], dimension: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["day", dimension, "mentions", "complaints", "complaint_share"])
    if frame.empty:
        st.info("No mentions in this period.")
        return frame
    frame["day"] = pd.to_datetime(frame["day"])
    base = alt.Chart(frame).encode(x=alt.X("day:T", title="Day"), color=alt.Color(f"{dimension}:N"))
    left, right = st.columns(2)
    left.altair_chart(
        base.mark_line(point=True).encode(
            y=alt.Y("mentions:Q", title="Mentions"), tooltip=list(frame.columns)
        ),
        width="stretch",
    )
    right.altair_chart(
        base.mark_line(point=True).encode(
            y=alt.Y("complaint_share:Q", title="Complaint share", axis=alt.Axis(format="%")),
            tooltip=list(frame.columns),
        ),
        width="stretch",
    )
    return frame


def case_charts(figures: list[queries.CaseFigures], dimension: str) -> pd.DataFrame:
    frame = pd.DataFrame([asdict(f) for f in figures])
    if frame.empty:
        st.info("No cases in this period.")
        return frame
    frame = frame.rename(columns={"group": dimension})
    times = frame.melt(
        id_vars=[dimension],
        value_vars=[
            "first_response_median_min",
            "first_response_p90_min",
            "handoff_median_min",
            "handoff_p90_min",
        ],
        var_name="figure",
        value_name="minutes",
    ).dropna()
    if not times.empty:
        chart = (
            alt.Chart(times)
            .mark_bar()
            .encode(
                x=alt.X("minutes:Q", title="Minutes since the post"),
                y=alt.Y(f"{dimension}:N", title=DIMENSION_LABELS[dimension]),
                color=alt.Color("figure:N", title=""),
                yOffset="figure:N",
                tooltip=[dimension, "figure", alt.Tooltip("minutes:Q", format=".0f")],
            )
        )
        st.altair_chart(chart, width="stretch")
    st.dataframe(frame, hide_index=True, width="stretch")
    return frame


def removal_table(rows: list[dict[str, Any]], dimension: str) -> None:
    frame = pd.DataFrame(rows, columns=[dimension, "posts", "removed", "removal_rate"])
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={"removal_rate": st.column_config.NumberColumn("removal rate", format="percent")},
    )


@st.cache_data(ttl=CACHE_S, show_spinner="Computing the figures…")
def overview_data(url: str, since: date, until: date, dimension: str) -> dict[str, Any]:
    """Everything the page shows, read once per minute per choice (``url`` keys the cache per database)."""
    del url  # only a cache key: ui.read uses the one store of this process
    cases = ui.read(queries.case_rows, since, until)
    return {
        "cases": cases,
        "totals": queries.summarize_cases(cases),
        "by_dimension": queries.summarize_cases(cases, dimension),
        "volume": ui.read(queries.volume, since, until, dimension),
        "removals": ui.read(queries.removal_rates, since, until, dimension),
    }


def main() -> None:
    account = ui.require_page("overview")
    st.title("Overview")
    since, until, dimension = controls()
    data = overview_data(ui.config().database_url, since, until, dimension)
    headline(data["totals"])
    st.subheader("Volume and complaint share")
    volume = volume_charts(data["volume"], dimension)
    st.subheader("Response, hand-off, SLA and resolution")
    cases = case_charts(data["by_dimension"], dimension)
    st.subheader("Removals by moderators and platforms")
    removal_table(data["removals"], dimension)
    if account.can("overview.export"):
        left, right = st.columns(2)
        left.download_button(
            "Download cases (CSV)",
            pd.DataFrame(data["cases"]).to_csv(index=False),
            file_name=f"complaintwatch-cases-{since}-{until}.csv",
            mime="text/csv",
        )
        right.download_button(
            "Download figures (CSV)",
            pd.concat([volume.assign(table="volume"), cases.assign(table="cases")]).to_csv(index=False),
            file_name=f"complaintwatch-figures-{since}-{until}.csv",
            mime="text/csv",
        )


if __name__ == "__main__":
    main()
