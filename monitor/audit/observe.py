"""Turn re-check observations into status history, audit events and preservation decisions.

For each observed post: one ``status_checks`` row (the coverage record), the mention's current
state updated, and on every transition one hash-chained event that says what changed, in which
time window (last seen in the old state → first seen in the new one), what the platform
answered (or its SHA-256 where content must not be kept) and how sure the verdict is:

* ``platform_stated`` — the platform said why (e.g. Reddit ``removed_by_category``);
* ``inferred``        — deduced, e.g. gone within seconds of posting looks like an automatic filter;
* ``unknown``         — the platform does not say who removed the post or why.

Rules worth knowing:

* A post that comes back after being gone becomes ``restored`` (never "was never deleted").
* An ``unknown`` observation is stored as a check but changes no state: "could not tell" is not
  "changed".
* Preservation per platform: ``full`` and ``consent`` keep text and payloads; ``hash_only``
  keeps only hashes in events, and when the author deletes, deactivates or protects (the
  author's intent, per X's and Reddit's developer terms) purges the mention's text, raw payload
  and the check evidence (content_sha256/raw_sha256 stay) — unless the mention is under legal
  hold or the author consented. Purging touches no event, so the chain stays intact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collectors.base import GONE_STATUSES, AuthorStatus, PostStatus, StatusObservation
from monitor.audit.cadence import Cadence, CadenceSpec, next_check_at
from monitor.audit.canonical import iso_utc, json_sha256
from monitor.audit.chain import EventDraft, append_events
from monitor.store.models import Mention, StatusCheck

PRESERVATION_POLICIES = ("full", "hash_only", "consent")
#: Gone within this many seconds of posting and the platform gave no reason: looks automatic.
AUTOMATIC_REMOVAL_S = 120.0
#: Post statuses that express the author's own wish for the content to go (purged under hash_only).
AUTHOR_INTENT_STATUSES = frozenset(
    {PostStatus.DELETED_BY_AUTHOR, PostStatus.AUTHOR_DEACTIVATED, PostStatus.AUTHOR_PROTECTED}
)
#: Author statuses that lock the author out of (or away from) the platform.
LOCKOUT_STATUSES = frozenset({AuthorStatus.SUSPENDED, AuthorStatus.DEACTIVATED, AuthorStatus.PROTECTED})

POST_STATUS_CHANGED = "post_status_changed"
AUTHOR_STATUS_CHANGED = "author_status_changed"
CONTENT_PURGED = "content_purged"


@dataclass(frozen=True)
class Verdict:
    status: str
    evidence_level: str  # platform_stated | inferred | unknown
    basis: str


def record_observations(
    session: Session,
    *,
    source: str,
    checked_at: datetime,
    observations: Sequence[tuple[Mention, StatusObservation]],
    preservation: Mapping[str, str],
    cadence: CadenceSpec | Cadence | None = None,
) -> int:
    """Store one re-check run's observations; returns the number of status transitions.

    ``mention`` rows must belong to ``session``. ``next_check_at`` is moved on by ``cadence``
    (default: the default setting).
    """
    iso_utc(checked_at)  # refuses naive datetimes before anything is written
    plan = Cadence.parse(cadence)
    checks = [
        _status_check(mention, observation, source, checked_at) for mention, observation in observations
    ]
    session.add_all(checks)
    session.flush()
    drafts: list[EventDraft] = []
    for (mention, observation), check in zip(observations, checks, strict=True):
        policy = _policy(preservation, mention.platform)
        drafts.extend(_apply(session, mention, observation, check, policy))
        mention.next_check_at = next_check_at(mention.created_at, checked_at, plan)
    append_events(session, drafts)
    return sum(1 for draft in drafts if draft.kind != CONTENT_PURGED)


def _status_check(
    mention: Mention, observation: StatusObservation, source: str, checked_at: datetime
) -> StatusCheck:
    if observation.native_id != mention.native_id:
        raise ValueError(
            f"observation for post {observation.native_id!r} paired with mention {mention.id} "
            f"({mention.platform}:{mention.native_id})"
        )
    return StatusCheck(
        mention_id=mention.id,
        source=source,
        checked_at=checked_at,
        status=PostStatus(observation.status).value,
        author_status=AuthorStatus(observation.author_status).value,
        platform_stated=observation.platform_stated,
        detail=observation.detail,
        evidence=dict(observation.evidence),
    )


def _policy(preservation: Mapping[str, str], platform: str) -> str:
    policy = preservation.get(platform, "hash_only")  # unknown platforms: keep the least
    if policy not in PRESERVATION_POLICIES:
        raise ValueError(
            f"audit.preservation.{platform} = {policy!r}: expected one of {', '.join(PRESERVATION_POLICIES)}"
        )
    return policy


def _apply(
    session: Session, mention: Mention, observation: StatusObservation, check: StatusCheck, policy: str
) -> list[EventDraft]:
    """Update the mention from one observation; returns the events it calls for."""
    checked_at = check.checked_at
    since = mention.last_checked_at or mention.first_seen_at
    drafts = []
    new_post = _next_post_status(mention.post_status, PostStatus(observation.status))
    if new_post != mention.post_status:
        verdict = _post_verdict(mention, observation, new_post, checked_at)
        fields = _transition_fields(
            mention, "post_status", new_post, since, check, observation, policy, verdict
        )
        drafts.append(_draft(POST_STATUS_CHANGED, mention, fields, checked_at))
    new_author = _next_author_status(mention.author_status, AuthorStatus(observation.author_status))
    if new_author != mention.author_status:
        verdict = _author_verdict(mention, observation, new_author)
        fields = _transition_fields(
            mention, "author_status", new_author, since, check, observation, policy, verdict
        )
        fields["lockout"] = new_author in LOCKOUT_STATUSES
        drafts.append(_draft(AUTHOR_STATUS_CHANGED, mention, fields, checked_at))
    post_changed = new_post != mention.post_status
    mention.post_status, mention.author_status = new_post, new_author
    mention.last_checked_at = checked_at
    mention.check_count = (mention.check_count or 0) + 1
    if observation.status == PostStatus.LIVE:
        mention.last_seen_live_at = checked_at
    if post_changed and _must_purge(mention, new_post, policy):
        drafts.append(purge_content(session, mention, checked_at, f"{new_post} under hash_only preservation"))
    return drafts


def _next_post_status(current: str, observed: PostStatus) -> str:
    if observed == PostStatus.UNKNOWN:
        return current
    if observed in (PostStatus.LIVE, PostStatus.RESTORED):
        was_gone = current in GONE_STATUSES or current == PostStatus.RESTORED
        return PostStatus.RESTORED.value if was_gone else PostStatus.LIVE.value
    return observed.value


def _next_author_status(current: str, observed: AuthorStatus) -> str:
    return current if observed == AuthorStatus.UNKNOWN else observed.value


def _post_verdict(
    mention: Mention, observation: StatusObservation, new: str, checked_at: datetime
) -> Verdict:
    detail = f" ({observation.detail})" if observation.detail else ""
    if new in (PostStatus.RESTORED, PostStatus.LIVE):
        return Verdict(new, "platform_stated", "the platform serves the post publicly again" + detail)
    if observation.platform_stated:
        return Verdict(new, "platform_stated", "the platform states the reason" + detail)
    age_s = (checked_at - mention.created_at).total_seconds()
    if age_s <= AUTOMATIC_REMOVAL_S:
        return Verdict(
            new,
            "inferred",
            f"gone at most {age_s:.0f} s after posting: looks like an automatic filter" + detail,
        )
    return Verdict(new, "unknown", "the platform does not say who removed the post or why" + detail)


def _author_verdict(mention: Mention, observation: StatusObservation, new: str) -> Verdict:
    detail = f" ({observation.detail})" if observation.detail else ""
    if observation.platform_stated:
        return Verdict(new, "platform_stated", "the platform states the account's state" + detail)
    return Verdict(
        new, "inferred", f"read by the {mention.platform} adapter from the account lookup" + detail
    )


def _transition_fields(
    mention: Mention,
    field: str,
    new: str,
    since: datetime,
    check: StatusCheck,
    observation: StatusObservation,
    policy: str,
    verdict: Verdict,
) -> dict[str, Any]:
    evidence = dict(observation.evidence)
    return {
        **_mention_facts(mention),
        "field": field,
        "previous_status": getattr(mention, field),
        "status": new,
        "window": {"from": since, "to": check.checked_at},
        "last_seen_live_at": mention.last_seen_live_at,
        "verdict": verdict.status,
        "evidence_level": verdict.evidence_level,
        "verdict_basis": verdict.basis,
        "check": {
            "id": check.id,
            "source": check.source,
            "checked_at": check.checked_at,
            "observed_status": check.status,
            "observed_author_status": check.author_status,
            "detail": observation.detail,
            "flags": list(observation.flags),
        },
        "preservation": policy,
        "evidence": evidence if policy != "hash_only" else None,
        "evidence_sha256": json_sha256(evidence),
    }


def _mention_facts(mention: Mention) -> dict[str, Any]:
    return {
        "platform": mention.platform,
        "native_id": mention.native_id,
        "brand": mention.brand,
        "source": mention.source,
        "url": mention.url,
        "author_id": mention.author_id,
        "author_handle": mention.author_handle,
        "created_at": mention.created_at,
        "first_seen_at": mention.first_seen_at,
        "content_sha256": mention.content_sha256,
        "raw_sha256": mention.raw_sha256,
    }


def _draft(kind: str, mention: Mention, payload: dict[str, Any], occurred_at: datetime) -> EventDraft:
    return EventDraft(
        kind, f"{mention.platform}:{mention.native_id}", payload, occurred_at, mention_id=mention.id
    )


def _must_purge(mention: Mention, new_post: str, policy: str) -> bool:
    return (
        policy == "hash_only"
        and new_post in AUTHOR_INTENT_STATUSES
        and mention.purged_at is None
        and not mention.legal_hold
        and not mention.consent
    )


def purge_content(session: Session, mention: Mention, now: datetime, reason: str) -> EventDraft:
    """Drop a mention's text, raw payload and check evidence (hashes stay); returns the event to append."""
    mention.text = None
    mention.raw = None
    mention.purged_at = now
    for check in session.scalars(select(StatusCheck).where(StatusCheck.mention_id == mention.id)):
        if check.evidence is not None and not check.evidence.get("purged"):
            check.evidence = {"purged": True, "sha256": json_sha256(check.evidence)}
    payload = {**_mention_facts(mention), "reason": reason, "purged_at": now}
    return _draft(CONTENT_PURGED, mention, payload, now)
