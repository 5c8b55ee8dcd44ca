"""Every setting of complaintwatch, declared once: name, type, default and help.

Each section of ``config.toml`` is a frozen dataclass below; each field is one setting,
declared with :func:`setting` (default + help). ``monitor.config`` validates a TOML file
against these classes (unknown keys, wrong types, bad choices are refused with file, line
and reason), and ``complaintwatch config show`` / the README table are generated from them.
Secrets never live here: they come from ``COMPLAINTWATCH_*`` environment variables.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field
from typing import Any


def setting(
    default: Any = MISSING,
    help: str = "",
    *,
    choices: tuple[str, ...] | None = None,
    minimum: float | None = None,
    required: bool = False,
) -> Any:
    """Declare one setting; mutable defaults are copied per instance."""
    metadata = {"help": help, "choices": choices, "minimum": minimum, "required": required}
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    if default is MISSING:
        return field(metadata=metadata)
    return field(default=default, metadata=metadata)


PLATFORMS = ("replay", "twitter", "reddit", "mastodon", "bluesky")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = setting(
        "sqlite:///var/complaintwatch.db",
        "SQLAlchemy URL: sqlite:///path (relative to the config file's folder) or "
        "postgresql+psycopg://user@host/db. COMPLAINTWATCH_DATABASE_URL overrides it.",
    )
    echo: bool = setting(False, "Log every SQL statement (debugging only).")


@dataclass(frozen=True)
class SchedulerSettings:
    classify_interval_s: float = setting(5.0, "Seconds between classification runs.", minimum=0.1)
    route_interval_s: float = setting(5.0, "Seconds between routing runs.", minimum=0.1)
    send_interval_s: float = setting(5.0, "Seconds between outbox delivery runs.", minimum=0.1)
    recheck_interval_s: float = setting(10.0, "Seconds between re-check runs.", minimum=0.1)
    retention_interval_s: float = setting(3600.0, "Seconds between retention (purge) runs.", minimum=1)
    classify_batch: int = setting(
        512,
        "Posts per classification transaction; the tagger sorts them by length into forward passes.",
        minimum=1,
    )
    classify_max_per_run: int = setting(2000, "Most posts classified in one run.", minimum=1)
    recheck_max_per_run: int = setting(
        5000, "Most posts re-checked in one run (over all sources).", minimum=1
    )
    retry_delay_s: float = setting(
        30.0, "First retry delay of a failed job (doubles up to 10 min).", minimum=0.1
    )
    pages_per_run: int = setting(
        50, "Most search pages one collection run fetches from one source.", minimum=1
    )


@dataclass(frozen=True)
class BrandSettings:
    name: str = setting(required=True, help="The brand's name as shown in the dashboard.")
    terms: list[str] = setting([], "Search terms (words, #hashtags) that mention the brand.")
    handles: list[str] = setting([], "The brand's own accounts (@handles); posts by them are not complaints.")
    languages: list[str] = setting([], "Languages to collect (ISO 639-1); empty means all.")
    contacts: list[str] = setting(
        [], "The brand's own public contact data (hotline numbers, support e-mails): never flagged as PII."
    )


@dataclass(frozen=True)
class SourceSettings:
    name: str = setting(required=True, help="Unique name of this source (used for cursors and status).")
    platform: str = setting(required=True, help="Adapter to use.", choices=PLATFORMS)
    brands: list[str] = setting([], "Brands this source collects for; empty means every brand.")
    enabled: bool = setting(True, "Collect from this source.")
    interval_s: float = setting(60.0, "Seconds between collection runs.", minimum=0.1)
    api_base_url: str = setting(
        "", "API base URL: self-hosted instance, proxy or test server; empty = default."
    )
    monthly_read_budget: int = setting(
        0,
        "Most posts read per calendar month: collected, and on X (which bills each post a lookup returns, "
        "once per UTC day) re-checked; 0 = no cap.",
    )
    secrets_prefix: str = setting(
        "", "Read secrets from COMPLAINTWATCH_<PREFIX>_<NAME> instead of COMPLAINTWATCH_<PLATFORM>_<NAME>."
    )
    options: dict[str, Any] = setting({}, "Adapter options (see the adapter's documentation).")


@dataclass(frozen=True)
class ClassifierSettings:
    model: str = setting(
        "", "Encoder: a Hugging Face id or local path; empty = the bundled all-MiniLM-L6-v2 package."
    )
    artifacts: str = setting(
        "", "Folder with the trained heads; empty = the artifacts shipped with the package."
    )
    batch_size: int = setting(64, "Texts per forward pass.", minimum=1)
    thresholds: dict[str, float] = setting(
        {},
        "Decision thresholds per tag, e.g. {complaint = 0.5}; per language with a quoted key, e.g. "
        '{"complaint.de" = 0.4}. A plain tag also replaces its per-language values.',
    )
    train_data: str = setting(
        "",
        "Folder of labeled JSONL datasets with train and dev splits (e.g. ../shared/data): the bot then "
        "learns from reviewer corrections on its own; empty = it does not retrain.",
    )
    retrain_interval_s: float = setting(
        86400.0, "Seconds between the bot's checks for reviewer corrections to learn from.", minimum=60
    )
    retrain_min_corrections: int = setting(
        20, "Corrections the active model has not seen before the bot refits the n-gram channel.", minimum=1
    )


@dataclass(frozen=True)
class RoutingRuleSettings:
    name: str = setting(required=True, help="Rule name, shown with each routing decision.")
    when: dict[str, Any] = setting(
        {}, "Conditions, all must hold: brand, platform, lang, topic, tags (list), pii (bool), min_score."
    )
    queue: str = setting("support", "Queue (team) that gets the case.")
    priority: int = setting(3, "1 (highest) to 5.", minimum=1)
    sla_minutes: int = setting(240, "Minutes until the first response is due.", minimum=1)
    destination: str = setting("", "Destination name (see [[destinations]]); empty = dashboard only.")
    template: str = setting("support_dm", "Reply template name.")
    public_reply: bool = setting(True, "Suggest a public reply (never quoting personal data).")
    auto_send: bool = setting(False, "Send without an agent's approval.")


@dataclass(frozen=True)
class RoutingSettings:
    rules: list[RoutingRuleSettings] = setting([], "Rules, first match wins; built-in defaults follow.")
    use_default_rules: bool = setting(True, "Append the built-in rules (PII, legal risk, support).")


@dataclass(frozen=True)
class DestinationSettings:
    name: str = setting(required=True, help="Destination name used by routing rules.")
    kind: str = setting(
        required=True, help="Delivery channel.", choices=("webhook", "email", "zammad", "slack", "dm")
    )
    url: str = setting("", "Endpoint URL (webhook, Zammad, Slack) or smtp://host:port (email).")
    options: dict[str, Any] = setting({}, "Channel options (recipient, group, sender…).")


@dataclass(frozen=True)
class AuditSettings:
    preservation: dict[str, str] = setting(
        {
            "replay": "full",
            "twitter": "hash_only",
            "reddit": "hash_only",
            "mastodon": "full",
            "bluesky": "full",
        },
        "Per platform: full | hash_only | consent (what is kept when an author deletes a post).",
    )
    retention_days: int = setting(365, "Days to keep post text and payloads not under legal hold.", minimum=1)
    cadence: list[list[float]] = setting(
        [[21600, 300], [86400, 900], [2592000, 86400], [1e12, 604800]],
        "Re-check cadence by post age: [[age_up_to_s, every_s], ...] (default: every 5 min for 6 h, "
        "every 15 min the first day, daily for a month, weekly after).",
    )


@dataclass(frozen=True)
class DashboardSettings:
    host: str = setting("127.0.0.1", "Address the dashboard listens on.")
    port: int = setting(8501, "Port of the dashboard.", minimum=1)


@dataclass(frozen=True)
class Settings:
    """The whole ``config.toml``."""

    database: DatabaseSettings = setting(DatabaseSettings(), "Where the data lives.")
    scheduler: SchedulerSettings = setting(SchedulerSettings(), "Job intervals and batch sizes.")
    brands: list[BrandSettings] = setting([], "Brands to monitor ([[brands]] tables).")
    sources: list[SourceSettings] = setting([], "Where mentions come from ([[sources]] tables).")
    classifier: ClassifierSettings = setting(ClassifierSettings(), "The tagger.")
    routing: RoutingSettings = setting(RoutingSettings(), "Routing rules.")
    destinations: list[DestinationSettings] = setting([], "Private support channels ([[destinations]]).")
    audit: AuditSettings = setting(AuditSettings(), "Moderation audit and preservation policy.")
    dashboard: DashboardSettings = setting(DashboardSettings(), "The Streamlit dashboard.")
