"""The model card written beside every trained artifact (``model_card.json`` + ``MODEL_CARD.md``)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from classify.data import AIRLINE_REASON_TOPIC, DB_ASPECT_TOPIC, dataset_files, file_sha256
from classify.lexical import LEXICAL_FILE, LEXICAL_TASKS
from classify.model import WEIGHTS_FILE, ArtifactConfig

CARD_JSON = "model_card.json"
CARD_MD = "MODEL_CARD.md"

LIMITATIONS = (
    "The encoder's vocabulary and pre-training are English; German is learned only from the German "
    "training sets. The character n-gram channel (`lexical.safetensors`) carries most German decisions: "
    "its shares per task and language are fitted on held-out training data and recorded below.",
    "German complaint labels are few: 239 posts of our own annotated set (`classify/annotated`) and weak "
    "ones derived from negative Deutsche Bahn feedback (GermEval 2017). The committed encoder never saw "
    "the annotated set, so German complaints rest mostly on the n-gram channel; reviewer corrections "
    "(`train(extra_records=...)`) are the way to add more.",
    "Topics come from mapped airline and rail categories; `privacy_data` has no training data at all.",
    "Thresholds are tuned for macro-F1 on a held-out 10% of the train splits (the median of the best "
    "thresholds of bootstrap resamples), never on dev; so are the channel shares (by log-loss). GermEval "
    "2018's own figure is not used for tuning.",
    "Texts are cut to 128 word pieces (`truncated: true`); PII and legal cues still read the whole text.",
)


def write_model_card(
    out_dir: Path,
    data_dir: Path,
    artifact: ArtifactConfig,
    report: dict,
    train_config: dict,
    n_corrections: int = 0,
    held_out: dict[str, dict[str, float]] | None = None,
) -> dict:
    """Record base model, data files + SHA-256, labels, thresholds, dev figures, date; return the card.

    ``held_out``: log-loss per task on the held-out slice of the train splits, of the encoder alone and of
    the mix (``classify.tuning.HeldOut.log_losses``).
    """
    files = {
        f"{path.parent.name}/{path.name}": file_sha256(path)
        for split in ("train", "dev")
        for path in dataset_files(data_dir, split)
    }
    card = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "base_model": artifact.base_model,
        "trained_layers": artifact.trained_layers,
        "embedding_rank": artifact.embedding_rank,
        "weights_sha256": file_sha256(out_dir / WEIGHTS_FILE),
        "lexical_sha256": file_sha256(out_dir / LEXICAL_FILE) if (out_dir / LEXICAL_FILE).exists() else None,
        "lexical_shares": artifact.mix,
        "tasks": {task: list(classes) for task, classes in artifact.tasks.items()},
        "thresholds": artifact.thresholds,
        "threshold_tuning": "held-out 10% of the train splits (stable text hash); dev splits untouched",
        "training": train_config,
        "reviewer_corrections": n_corrections,
        "data_files": files,
        "topic_mapping": {
            "airline_twitter_sentiment": AIRLINE_REASON_TOPIC,
            "germeval2017_db": DB_ASPECT_TOPIC,
        },
        "held_out_log_loss": held_out or {},
        "dev_report": report,
    }
    (out_dir / CARD_JSON).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out_dir / CARD_MD).write_text(render_markdown(card), encoding="utf-8")
    return card


def _embedding_line(rank: int) -> str:
    return f"rank {rank} (merged into the embedding table at load)" if rank else "none (embeddings frozen)"


def render_markdown(card: dict) -> str:
    """The human-readable card."""
    lines = [
        "# complaintwatch tagger: model card",
        "",
        f"* Date: {card['date']}",
        f"* Base encoder: `{card['base_model']}` (weights from the installed package, not stored here)",
        f"* Fine-tuned layers stored here: {', '.join(card['trained_layers']) or 'none (frozen encoder)'}",
        f"* Word-piece embedding correction stored here: {_embedding_line(card.get('embedding_rank', 0))}",
        f"* Heads: {', '.join(f'{t} ({len(c)} classes)' for t, c in card['tasks'].items())}",
        f"* Lexical channel: {_lexical_line(card)}",
        f"* Thresholds: {card['thresholds']} ({card['threshold_tuning']})",
        f"* Reviewer corrections used: {card['reviewer_corrections']}",
        "",
        "## Dev-split figures (each benchmark's official metric)",
        "",
        "| dataset/task | n | metric | value | accuracy |",
        "|---|---|---|---|---|",
    ]
    for key, row in card["dev_report"]["datasets"].items():
        lines.append(f"| {key} | {row['n']} | {row['metric']} | {row['value']:.3f} | {row['accuracy']:.3f} |")
    lines += ["", "## Per language", "", "| language/task | n | macro-F1 | accuracy |", "|---|---|---|---|"]
    for key, row in card["dev_report"]["languages"].items():
        lines.append(f"| {key} | {row['n']} | {row['value']:.3f} | {row['accuracy']:.3f} |")
    lines += _held_out_lines(card.get("held_out_log_loss") or {})
    lines += [
        "",
        "## Topic labels",
        "",
        "Topics are learned from two mapped sources: the airline tweets' `negative_reason` (English) and",
        "the negative aspect categories of GermEval 2017 (Deutsche Bahn, German). `privacy_data` has no",
        "source data and is learned only from reviewer corrections; `account_access` only from the DB",
        "app/website aspect.",
        "",
        "| source category | topic |",
        "|---|---|",
    ]
    for source, mapping in card["topic_mapping"].items():
        lines += [f"| {source}: {category} | {topic} |" for category, topic in mapping.items()]
    lines += ["", "## Limitations", ""] + [f"* {line}" for line in LIMITATIONS]
    lines += ["", "## Training data (SHA-256)", ""]
    lines += [f"* `{name}` {digest}" for name, digest in card["data_files"].items()]
    lines += ["", "## Training settings", "", "```json", json.dumps(card["training"], indent=2), "```", ""]
    return "\n".join(lines)


def _held_out_lines(losses: dict[str, dict[str, float]]) -> list[str]:
    """The held-out log-loss table (none for a card written before it was recorded)."""
    if not losses.get("encoder"):
        return []
    lines = [
        "",
        "## Held-out log-loss (slice of the train splits that training never saw; lower is better)",
        "",
        "| task | encoder alone | mixed |",
        "|---|---|---|",
    ]
    for task, value in losses["encoder"].items():
        mixed = losses.get("mixed", {}).get(task)
        lines.append(f"| {task} | {value:.4f} | {'–' if mixed is None else f'{mixed:.4f}'} |")
    return lines


def _lexical_line(card: dict) -> str:
    if not card.get("lexical_sha256"):
        return "none (encoder only)"
    return (
        f"character 2-5-gram and word 1-2-gram logistic regressions for {', '.join(LEXICAL_TASKS)}; "
        f"share of the mix per task and language: {card['lexical_shares']}"
    )
