"""What every dashboard page shares: the store, the signed-in account, safe text rendering, actions.

Post text is untrusted. It is never rendered as HTML: :func:`post_markdown` escapes every
Markdown and HTML character of each piece of the text first and only then wraps evidence
spans in Streamlit's highlight directive, so ``<script>`` or ``[x](javascript:…)`` show as
typed. Personal data is replaced before rendering for roles without ``pii.view``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import streamlit as st
from sqlalchemy.orm import Session

from monitor import config as config_module
from monitor import queries, users
from monitor.config import Config
from monitor.store import Store
from monitor.users import Account

T = TypeVar("T")
ACCOUNT_KEY = "account"
FLASH_KEY = "flash"
DEFAULT_OIDC_ROLE = "agent"


# -- the data ----------------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _config(path: str) -> Config:
    return config_module.load(path)


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    store = Store(url)
    store.check_schema()
    return store


def config() -> Config:
    """The config named by $COMPLAINTWATCH_CONFIG (loaded once per process)."""
    return _config(str(config_module.default_config_path()))


def store() -> Store:
    """The database of the config, opened once per process and shared by all sessions."""
    return _store(config().database_url)


def read(query: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one read function of ``monitor.queries`` in a short session."""
    with store().session() as session:
        return query(session, *args, **kwargs)


@st.cache_data(ttl=300, show_spinner=False)
def _filter_options(url: str) -> queries.FilterOptions:
    with _store(url).session() as session:
        return queries.filter_options(session)


def filter_options() -> queries.FilterOptions:
    """Brands, platforms, languages, topics and queues present in the data (cached for 5 minutes)."""
    return _filter_options(config().database_url)


# -- who is signed in --------------------------------------------------------------------------------


def oidc_configured() -> bool:
    """Whether ``[auth]`` is set in ``.streamlit/secrets.toml`` (then ``st.login`` is offered)."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:
        return False


def _oidc_name() -> str | None:
    if not oidc_configured() or not st.user.is_logged_in:
        return None
    name = st.user.get("email") or st.user.get("preferred_username") or st.user.get("sub")
    return str(name) if name else None


def current_account() -> Account | None:
    """The signed-in account, re-read from the database (so disabling takes effect at once)."""
    name: str | None = st.session_state.get(ACCOUNT_KEY)
    oidc_name = None if name else _oidc_name()
    try:
        with store().session() as session:
            if name is not None:
                return _fresh(session, name)
            if oidc_name is None:
                return None
            account = users.oidc_account(session, oidc_name, oidc_default_role())
            st.session_state[ACCOUNT_KEY] = account.name
            return account
    except (users.AuthError, users.UserError) as exc:
        st.session_state.pop(ACCOUNT_KEY, None)
        st.error(str(exc))
        return None


def _fresh(session: Session, name: str) -> Account | None:
    account = users.get_account(session, name)
    if account is None or account.disabled:
        st.session_state.pop(ACCOUNT_KEY, None)
        return None
    return account


def oidc_default_role() -> str:
    """Role given to an OpenID Connect user on first sign-in (``[auth] default_role`` in secrets)."""
    try:
        role = str(st.secrets.get("auth", {}).get("default_role", DEFAULT_OIDC_ROLE))
    except FileNotFoundError:
        role = DEFAULT_OIDC_ROLE
    return role if role in users.ROLES and role != "admin" else DEFAULT_OIDC_ROLE


@st.cache_resource(show_spinner=False)
def _throttle() -> users.Throttle:
    return users.Throttle()


def sign_in(name: str, password: str) -> Account:
    """Check a local account's password and remember it in this browser session."""
    name = name.strip()
    _throttle().check(name)
    try:
        with store().session() as session:
            account = users.authenticate(session, name, password)
    except users.AuthError:
        _throttle().failed(name)
        raise
    _throttle().succeeded(name)
    st.session_state[ACCOUNT_KEY] = account.name
    return account


def sign_out() -> None:
    st.session_state.clear()
    if oidc_configured() and st.user.is_logged_in:
        st.logout()


def require_page(page: str) -> Account:
    """The signed-in account if it may open ``page``; otherwise an error and the page stops."""
    account = current_account()
    if account is None:
        st.warning("Please sign in.")
        st.stop()
        raise AssertionError("unreachable")  # st.stop() raises; keeps type checkers honest
    if not account.can(f"page.{page}"):
        st.error(f"Your role ({account.role}) may not open the {page} page.")
        st.stop()
    show_flash()
    return account


# -- actions -----------------------------------------------------------------------------------------

#: Errors an action may raise that the user should read (the library's messages name the problem).
ACTION_ERRORS: tuple[type[Exception], ...] = (
    users.PermissionDenied,
    users.UserError,
    ValueError,
    LookupError,
    PermissionError,
)


def act(account: Account, permission: str, label: str, action: Callable[[Session, str], Any]) -> bool:
    """Run one write action in one transaction, re-authorising ``account`` in that transaction first.

    ``action(session, user_name)`` calls the library; the user name goes into its audit trail.
    ``label`` names the step ("Resolve case 12"); the outcome is shown as a toast or an error.
    Returns whether it succeeded.
    """
    try:
        with store().session() as session:
            fresh = users.authorize(session, account.name, permission)
            action(session, fresh.name)
    except ACTION_ERRORS as exc:
        st.error(f"{label}: refused: {exc}")
        return False
    # Kept for the next run: the caller usually reruns at once, which would drop a toast shown now.
    st.session_state[FLASH_KEY] = f"{label}: done"
    return True


def show_flash() -> None:
    """Show (once) the outcome of the action of the previous run."""
    message = st.session_state.pop(FLASH_KEY, None)
    if message:
        st.toast(message, icon=":material/check_circle:")


# -- safe rendering ----------------------------------------------------------------------------------

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$&=\"'^@%])")


def escape_markdown(text: str) -> str:
    """``text`` shown literally by ``st.markdown``: every Markdown/HTML/directive character escaped."""
    escaped = _MARKDOWN_SPECIALS.sub(r"\\\1", text)
    # A single newline is a soft break in Markdown: keep the author's line breaks.
    return escaped.replace("\r\n", "\n").replace("\n", "  \n")


@dataclass(frozen=True)
class Segment:
    """A run of post text with the same evidence tags and personal-data type."""

    text: str
    tags: tuple[str, ...] = ()
    pii_type: str | None = None


def _spans(evidence: Mapping[str, Any], length: int) -> list[tuple[int, int, str]]:
    spans = []
    for tag, items in evidence.items():
        for item in items if isinstance(items, list) else []:
            start, end = _bounds(item, length)
            if start < end:
                spans.append((start, end, str(tag)))
    return spans


def _bounds(item: Any, length: int) -> tuple[int, int]:
    if not isinstance(item, Mapping):
        return 0, 0
    try:
        start, end = int(item.get("start", 0)), int(item.get("end", 0))
    except (TypeError, ValueError):
        return 0, 0
    return max(0, min(start, length)), max(0, min(end, length))


def post_segments(text: str, evidence: Mapping[str, Any], pii: Sequence[Mapping[str, Any]]) -> list[Segment]:
    """Cut ``text`` at every evidence and personal-data boundary (offsets are clamped to the text)."""
    evidence_spans = _spans(evidence, len(text))
    pii_spans = [
        (*_bounds(p, len(text)), str(p.get("type", "personal data"))) for p in pii if isinstance(p, Mapping)
    ]
    pii_spans = [s for s in pii_spans if s[0] < s[1]]
    cuts = sorted({0, len(text), *(b for s in evidence_spans + pii_spans for b in s[:2])})
    segments = []
    for start, end in itertools.pairwise(cuts):
        tags = tuple(sorted({tag for s, e, tag in evidence_spans if s <= start and end <= e}))
        pii_type = next((kind for s, e, kind in pii_spans if s <= start and end <= e), None)
        segments.append(Segment(text[start:end], tags, pii_type))
    return _merge_masked(segments)


def _merge_masked(segments: list[Segment]) -> list[Segment]:
    # One personal-data span cut by an evidence boundary is still one hidden item.
    merged: list[Segment] = []
    for segment in segments:
        previous = merged[-1] if merged else None
        if previous and segment.pii_type and previous.pii_type == segment.pii_type:
            merged[-1] = Segment(previous.text + segment.text, previous.tags, segment.pii_type)
        else:
            merged.append(segment)
    return merged


def post_markdown(
    text: str | None, evidence: Mapping[str, Any], pii: Sequence[Mapping[str, Any]], *, show_pii: bool
) -> str:
    """Markdown for ``st.markdown`` showing the post literally, evidence highlighted, PII masked."""
    if text is None:
        return "*(text purged by the retention policy; only its hash is kept)*"
    parts = []
    for segment in post_segments(text, evidence, pii):
        if segment.pii_type and not show_pii:
            parts.append(f":gray-background[{escape_markdown(f'[{segment.pii_type} hidden]')}]")
        elif segment.tags:
            parts.append(_highlight(segment.text, "red" if "complaint" not in segment.tags else "orange"))
        else:
            parts.append(escape_markdown(segment.text))
    return "".join(parts)


def _highlight(text: str, color: str) -> str:
    # A directive cannot span lines: highlight each line separately; skip blank pieces.
    lines = text.replace("\r\n", "\n").split("\n")
    out = [
        f":{color}-background[{escape_markdown(line)}]" if line.strip() else escape_markdown(line)
        for line in lines
    ]
    return "  \n".join(out)


def mask_pii(text: str | None, pii: Sequence[Mapping[str, Any]]) -> str:
    """Plain text with personal-data spans replaced by ``[type hidden]`` (for tables and snippets)."""
    if text is None:
        return ""
    return "".join(f"[{s.pii_type} hidden]" if s.pii_type else s.text for s in post_segments(text, {}, pii))


def safe_link(url: str) -> str | None:
    """``url`` if it is a plain http(s) link (never ``javascript:`` and the like)."""
    return url if re.match(r"^https?://[^\s<>\"']+$", url or "") else None


def link_markdown(label: str, url: str) -> str:
    """A Markdown link to ``url`` if it is a plain http(s) link, else "" (label escaped, URL encoded)."""
    link = safe_link(url)
    if link is None:
        return ""
    # Brackets and parentheses would end the link early; percent-encoding keeps the target the same.
    target = link.replace("(", "%28").replace(")", "%29").replace("[", "%5B").replace("]", "%5D")
    return f"[{escape_markdown(label)}]({target})"


# -- small formatting helpers ------------------------------------------------------------------------


def duration(delta: timedelta) -> str:
    """ "2 h 05 min", "45 min", "3 d 4 h" (absolute value)."""
    minutes = int(abs(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {mins:02d} min" if hours else f"{mins} min"


def sla_label(due: datetime, responded: datetime | None, now: datetime) -> str:
    """The SLA clock of a case as text (time left, or how long ago it was breached)."""
    if responded is not None:
        if responded > due:
            return f"answered late ({duration(responded - due)} after due)"
        return f"answered in time ({duration(due - responded)} before due)"
    left = due - now
    return f"SLA breached {duration(left)} ago" if left.total_seconds() < 0 else f"SLA: {duration(left)} left"


def sla_markdown(due: datetime, responded: datetime | None, now: datetime) -> str:
    """The SLA clock, red once breached, green otherwise."""
    breached = (responded or now) > due
    return f"{':red' if breached else ':green'}[{escape_markdown(sla_label(due, responded, now))}]"


def tag_names(tags: Mapping[str, Any]) -> list[str]:
    """The boolean tags that are set, plus the topic, as short labels."""
    labels = [name.replace("_", " ") for name, value in tags.items() if value is True]
    if tags.get("topic"):
        labels.append(f"topic: {str(tags['topic']).replace('_', ' ')}")
    if tags.get("pii"):
        kinds = sorted({str(p.get("type", "?")) for p in tags["pii"] if isinstance(p, Mapping)})
        labels.append(f"personal data: {', '.join(kinds)}")
    return labels


def chips(labels: Iterable[str]) -> str:
    """Labels as escaped Markdown badges."""
    return " ".join(f":blue-badge[{escape_markdown(label)}]" for label in labels)
