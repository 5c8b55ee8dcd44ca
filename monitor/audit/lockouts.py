"""What the brand's side did: account lockouts in its own systems and its team's moderation actions.

Both are stored as a row (for queries) and as a hash-chained audit event (for proof), linked to
the complaint they concern. Staff moderation actions use the fields of an EU DSA statement of
reasons (Art. 17 DSA; the Commission's Transparency Database schema), so a dossier shows the
brand's own moderation in the same terms platforms must use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from monitor.audit.chain import append_event
from monitor.store.models import Lockout, Mention, StaffAction

BRAND_LOCKOUT = "brand_account_locked"
STAFF_ACTION = "staff_moderation_action"

#: Short names accepted on the command line → DSA Transparency Database values.
DECISION_VISIBILITY = {
    "removed": "DECISION_VISIBILITY_CONTENT_REMOVED",
    "disabled": "DECISION_VISIBILITY_CONTENT_DISABLED",
    "demoted": "DECISION_VISIBILITY_CONTENT_DEMOTED",
    "age_restricted": "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
    "interaction_restricted": "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
    "labelled": "DECISION_VISIBILITY_CONTENT_LABELLED",
    "other": "DECISION_VISIBILITY_OTHER",
}
DECISION_ACCOUNT = {"suspended": "DECISION_ACCOUNT_SUSPENDED", "terminated": "DECISION_ACCOUNT_TERMINATED"}
DECISION_GROUND = {
    "illegal": "DECISION_GROUND_ILLEGAL_CONTENT",
    "incompatible": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
}
AUTOMATED_DECISION = {
    "fully": "AUTOMATED_DECISION_FULLY",
    "partially": "AUTOMATED_DECISION_PARTIALLY",
    "not": "AUTOMATED_DECISION_NOT_AUTOMATED",
}
SOURCE_TYPE = {
    "article_16": "SOURCE_ARTICLE_16",
    "trusted_flagger": "SOURCE_TRUSTED_FLAGGER",
    "other_notification": "SOURCE_TYPE_OTHER_NOTIFICATION",
    "voluntary": "SOURCE_VOLUNTARY",
}


def record_lockout(
    session: Session,
    *,
    mention_id: int,
    account: str,
    reason: str,
    reported_by: str,
    locked_at: datetime,
) -> Lockout:
    """Record that ``account`` was locked in the brand's systems, linked to complaint ``mention_id``."""
    mention = _mention(session, mention_id)
    _require(account=account, reason=reason, reported_by=reported_by)
    payload = {
        "account": account,
        "reason": reason,
        "reported_by": reported_by,
        "locked_at": locked_at,
        "platform": mention.platform,
        "native_id": mention.native_id,
        "brand": mention.brand,
        "content_sha256": mention.content_sha256,
    }
    event = append_event(
        session,
        kind=BRAND_LOCKOUT,
        subject=f"{mention.platform}:{mention.native_id}",
        payload=payload,
        occurred_at=locked_at,
        actor=reported_by,
        mention_id=mention.id,
    )
    lockout = Lockout(
        mention_id=mention.id,
        account=account,
        reason=reason,
        reported_by=reported_by,
        locked_at=locked_at,
        recorded_at=event.recorded_at,
        audit_seq=event.seq,
    )
    session.add(lockout)
    session.flush()
    return lockout


@dataclass(frozen=True)
class StatementOfReasons:
    """One staff moderation action in DSA statement-of-reasons terms (short names, see the maps above)."""

    actor: str
    decision_ground: str  # illegal | incompatible
    legal_ground: str  # the law (illegal) or the clause of the terms (incompatible)
    explanation: str
    automated_detection: bool
    automated_decision: str  # fully | partially | not
    source_type: str  # article_16 | trusted_flagger | other_notification | voluntary
    application_date: datetime
    decision_visibility: str | None = None  # removed | disabled | demoted | …
    decision_account: str | None = None  # suspended | terminated
    content_date: datetime | None = None
    content_ref: str = ""


def record_staff_action(
    session: Session, *, mention_id: int | None, statement: StatementOfReasons
) -> StaffAction:
    """Record a moderation action by the brand's team (hid/deleted a reply or post, locked an account)."""
    mention = _mention(session, mention_id) if mention_id is not None else None
    fields = _dsa_fields(statement)
    content_ref = statement.content_ref or (mention.url if mention else "")
    if not content_ref:
        raise ValueError("a staff action needs --mention or --content (what was acted on)")
    payload: dict[str, Any] = {**fields, "actor": statement.actor, "content_ref": content_ref}
    if mention is not None:
        payload.update(platform=mention.platform, native_id=mention.native_id, brand=mention.brand)
    event = append_event(
        session,
        kind=STAFF_ACTION,
        subject=f"{mention.platform}:{mention.native_id}" if mention else content_ref[:256],
        payload=payload,
        occurred_at=statement.application_date,
        actor=statement.actor,
        mention_id=mention.id if mention else None,
    )
    action = StaffAction(
        mention_id=mention.id if mention else None,
        content_ref=content_ref,
        actor=statement.actor,
        decision_visibility=fields["decision_visibility"],
        decision_account=fields["decision_account"],
        decision_ground=fields["decision_ground"],
        legal_ground=statement.legal_ground,
        explanation=statement.explanation,
        automated_detection=statement.automated_detection,
        automated_decision=fields["automated_decision"],
        source_type=fields["source_type"],
        content_date=statement.content_date,
        application_date=statement.application_date,
        recorded_at=event.recorded_at,
        audit_seq=event.seq,
    )
    session.add(action)
    session.flush()
    return action


def _dsa_fields(statement: StatementOfReasons) -> dict[str, Any]:
    """The statement in the Transparency Database's field names and values; refuses incomplete ones."""
    _require(actor=statement.actor, legal_ground=statement.legal_ground, explanation=statement.explanation)
    if statement.decision_visibility is None and statement.decision_account is None:
        raise ValueError("a staff action needs a decision: --visibility and/or --account-decision")
    ground = _choice("decision_ground", statement.decision_ground, DECISION_GROUND)
    illegal = ground == DECISION_GROUND["illegal"]
    return {
        "decision_visibility": _optional_choice("decision_visibility", statement.decision_visibility),
        "decision_account": _optional_choice("decision_account", statement.decision_account),
        "decision_ground": ground,
        "illegal_content_legal_ground": statement.legal_ground if illegal else None,
        "illegal_content_explanation": statement.explanation if illegal else None,
        "incompatible_content_ground": None if illegal else statement.legal_ground,
        "incompatible_content_explanation": None if illegal else statement.explanation,
        "automated_detection": "Yes" if statement.automated_detection else "No",
        "automated_decision": _choice("automated_decision", statement.automated_decision, AUTOMATED_DECISION),
        "source_type": _choice("source_type", statement.source_type, SOURCE_TYPE),
        "content_date": statement.content_date,
        "application_date": statement.application_date,
    }


def _optional_choice(name: str, value: str | None) -> str | None:
    table = DECISION_VISIBILITY if name == "decision_visibility" else DECISION_ACCOUNT
    return None if value is None else _choice(name, value, table)


def _choice(name: str, value: str, table: dict[str, str]) -> str:
    if value in table:
        return table[value]
    if value in table.values():
        return value
    raise ValueError(f"{name} {value!r} is not one of: {', '.join(table)}")


def _require(**values: str) -> None:
    for name, value in values.items():
        if not value or not value.strip():
            raise ValueError(f"{name.replace('_', ' ')} must not be empty")


def _mention(session: Session, mention_id: int) -> Mention:
    mention = session.get(Mention, mention_id)
    if mention is None:
        raise LookupError(f"no mention with id {mention_id}")
    return mention
