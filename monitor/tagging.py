"""Which tagger the bot uses: the configured encoder with the active trained artifacts.

The active artifacts are, in order: ``[classifier] artifacts`` when set; else
``var/models/active`` next to the config once `complaintwatch train` has promoted a model there;
else the artifacts shipped with complaintwatch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from monitor.config import Config

#: Label fields the trainer learns from (reviewer corrections of other tags are kept, not trained on).
TRAINABLE_FIELDS = ("complaint", "topic", "insult", "sentiment")


def models_dir(config: Config) -> Path:
    """``var/models`` next to the config: trained candidates, the ``active`` link and its versions."""
    return config.base_dir / "var" / "models"


def active_artifacts(config: Config | None) -> Path:
    from classify.tagger import ARTIFACTS_DIR

    if config is None:
        return ARTIFACTS_DIR
    configured = config.settings.classifier.artifacts
    if configured:
        path = Path(configured)
        return path if path.is_absolute() else config.base_dir / path
    local = models_dir(config) / "active"
    return local if (local / "tagger.json").exists() else ARTIFACTS_DIR


def load_tagger(config: Config | None) -> Any:
    """Load the tagger for ``config`` (or the bundled defaults when None)."""
    from classify import Tagger

    settings = config.settings.classifier if config is not None else None
    return Tagger.load(
        model=(settings.model or None) if settings else None,
        artifacts=active_artifacts(config),
        thresholds=dict(settings.thresholds) if settings else None,
        batch_size=settings.batch_size if settings else 64,
    )
