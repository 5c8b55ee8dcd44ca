"""Learning from reviewers: retrain on their corrections and promote the model when it is not worse.

``complaintwatch train`` and the bot's ``learn`` job both call :func:`retrain`. The job refits only the
n-gram channel, its shares and the thresholds on top of the active encoder (about ten minutes on two
cores, most of it three fits of the channel and two dev evaluations), and only when the active model has
not yet seen ``[classifier] retrain_min_corrections`` of the corrections stored now. A candidate the dev
gate refused is remembered (``var/models/refused.json``), so the job waits for that many corrections more
before it tries again instead of refitting the same data every interval. A promoted model reaches the
running bot at its next classification run.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select

from monitor.config import Config, ConfigError
from monitor.store import Store
from monitor.store.models import Label, Mention
from monitor.tagging import TRAINABLE_FIELDS, active_artifacts, models_dir

log = logging.getLogger(__name__)
Log = Callable[[str], None]
REFUSED_FILE = "refused.json"  # in var/models: the corrections the last refused candidate was trained on


@dataclass(frozen=True)
class Retrained:
    candidate: Path
    promoted: bool
    corrections: int


def _trainable_labels(*columns: Any) -> Select:
    """Labels of trainable fields on mentions that still have their text."""
    return (
        select(*columns)
        .join(Mention, Mention.id == Label.mention_id)
        .where(Label.field.in_(TRAINABLE_FIELDS), Mention.text.is_not(None))
    )


def review_records(store: Store) -> list[dict[str, Any]]:
    """Reviewer corrections from the database, as the trainer takes them (newest label per field wins)."""
    with store.session() as session:
        columns = (Label.mention_id, Label.field, Label.value, Mention.text, Mention.lang)
        rows = session.execute(_trainable_labels(*columns).order_by(Label.id)).all()
    latest = {(r.mention_id, r.field): r for r in rows}
    return [{"text": r.text, "lang": r.lang, "field": r.field, "value": r.value} for r in latest.values()]


def retrain(
    config: Config,
    store: Store,
    data_dir: Path,
    train_config: Any,
    *,
    include_reviews: bool = True,
    out: Path | None = None,
    promote: bool = True,
    log: Log = log.info,
) -> Retrained:
    """Train a candidate (into ``out``, default ``var/models/<time>``) and promote it if not worse on dev."""
    from classify.train import install_artifact, promote_if_not_worse, train

    reviews = review_records(store) if include_reviews else []
    log(f"{len(reviews)} reviewer correction(s) included")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    candidate = out or models_dir(config) / stamp
    train(data_dir, candidate, extra_records=reviews, config=train_config, log=log)
    promoted = False
    if promote:
        target = models_dir(config) / "active"
        current = active_artifacts(config)
        if current != target and current.is_dir() and not target.exists():
            install_artifact(current, target)  # compare against what is active now, not against nothing
        promoted = promote_if_not_worse(candidate, target, data_dir, log=log)
    return Retrained(candidate, promoted, len(reviews))


def train_data_dir(config: Config) -> Path | None:
    """``[classifier] train_data`` resolved against the config file; None when the bot does not retrain."""
    configured = config.settings.classifier.train_data
    if not configured:
        return None
    path = Path(configured).expanduser()
    path = path if path.is_absolute() else config.base_dir / path
    if not path.is_dir():
        where = f"{config.path}: " if config.path else ""
        raise ConfigError(
            f"{where}[classifier] train_data: {path.resolve()} is not a folder of labeled JSONL datasets"
        )
    return path


def stored_corrections(store: Store) -> int:
    """Distinct corrected (post, field) pairs stored now."""
    corrected = _trainable_labels(Label.mention_id, Label.field).group_by(Label.mention_id, Label.field)
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(corrected.subquery())) or 0


def seen_by_active(config: Config) -> int:
    """Corrections the active model was trained on (its model card's count)."""
    card = active_artifacts(config) / "model_card.json"
    if not card.exists():
        return 0
    return int(json.loads(card.read_text(encoding="utf-8")).get("reviewer_corrections", 0))


def unseen_corrections(config: Config, store: Store) -> int:
    """Corrections stored now that the active model was not trained on."""
    return max(stored_corrections(store) - seen_by_active(config), 0)


def remember_refusal(config: Config, corrections: int) -> None:
    """Record that a candidate trained on ``corrections`` lost to the model active now (atomic write)."""
    path = models_dir(config) / REFUSED_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"active": str(active_artifacts(config).resolve()), "corrections": corrections}
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(record), encoding="utf-8")
    os.replace(partial, path)


def refused_corrections(config: Config) -> int:
    """Corrections of the last refused candidate, while the model it lost to is still active (else 0)."""
    path = models_dir(config) / REFUSED_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0  # none yet, or unreadable: at worst one needless refit
    if not isinstance(record, dict) or record.get("active") != str(active_artifacts(config).resolve()):
        return 0
    return int(record.get("corrections", 0))


def untried_corrections(config: Config, store: Store) -> int:
    """Unseen corrections that no refused candidate has been trained on either."""
    tried = max(seen_by_active(config), refused_corrections(config))
    return max(stored_corrections(store) - tried, 0)


def learn_from_reviews(config: Config, store: Store) -> str:
    """The ``learn`` job: a quick refit on the reviewers' corrections once enough new ones are stored."""
    from classify.train import TrainConfig

    data_dir = train_data_dir(config)
    if data_dir is None:
        return "retraining is off ([classifier] train_data is empty)"
    wanted = config.settings.classifier.retrain_min_corrections
    untried = untried_corrections(config, store)
    if untried < wanted:
        return f"{untried} new correction(s); retraining waits for {wanted}"
    model = config.settings.classifier.model or None
    quick = TrainConfig(model=model, encoder_from=str(active_artifacts(config)))
    result = retrain(config, store, data_dir, quick)
    shutil.rmtree(result.candidate, ignore_errors=True)  # promoted: copied into the versions; else: worse
    if result.promoted:
        return f"retrained on {result.corrections} correction(s): promoted"
    remember_refusal(config, result.corrections)
    return (
        f"retrained on {result.corrections} correction(s): kept the active model (the candidate was worse "
        f"on dev); the next try waits for {wanted} more"
    )
