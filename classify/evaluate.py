"""Evaluation on the dev splits: each benchmark's official figure, per label and per language.

| dataset | task | official figure |
|---|---|---|
| complaints_preotiuc2019 | complaint | macro-F1 |
| complaints_de_posts (our annotated German posts, bundled) | complaint, topic | macro-F1 |
| germeval2018_offense, germeval2019_offense | insult (offense head) | harmonic mean of macro-P and macro-R |
| olid_offenseval2019 | insult (offense head) | macro-F1 |
| germeval2021_toxic | toxic | macro-F1 |
| germeval2017_db | sentiment | micro-F1 |
| airline_twitter_sentiment | sentiment, topic | macro-F1 |
"""

from __future__ import annotations

import importlib
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from classify.data import TASKS, Example, load_split
from classify.inference import Prediction, bf16_supported, predict
from classify.lexical import LexicalModel, Mixer
from classify.metrics import germeval2018_f1, macro_f1, micro_f1, per_class
from classify.model import ArtifactConfig, MultiTaskModel

if TYPE_CHECKING:
    from classify.tagger import Tagger

Metric = Callable[[Sequence[int], Sequence[int], int], float]

OFFICIAL: dict[str, tuple[str, Metric]] = {
    "complaints_preotiuc2019": ("macro_f1", macro_f1),
    "complaints_de_posts": ("macro_f1", macro_f1),
    "germeval2018_offense": ("germeval2018_f1", germeval2018_f1),
    "germeval2019_offense": ("germeval2018_f1", germeval2018_f1),
    "olid_offenseval2019": ("macro_f1", macro_f1),
    "germeval2021_toxic": ("macro_f1", macro_f1),
    "germeval2017_db": ("micro_f1", lambda gold, pred, n: micro_f1(gold, pred)),
    "airline_twitter_sentiment": ("macro_f1", macro_f1),
}


def decision_threshold(thresholds: dict[str, float], tag: str, lang: str) -> float:
    """A tag's threshold for a language: ``tag.lang`` if set, else ``tag``, else 0.5."""
    return thresholds.get(f"{tag}.{lang}", thresholds.get(tag, 0.5))


def decide(task: str, probs: list[float], lang: str, thresholds: dict[str, float]) -> int:
    """The class a head's probabilities stand for, applying the binary tags' thresholds."""
    tag = {"offense": "insult"}.get(task, task)
    if len(probs) == 2:
        return int(probs[1] >= decision_threshold(thresholds, tag, lang))
    return max(range(len(probs)), key=probs.__getitem__)


def evaluate_network(
    tokenizer: object,
    network: MultiTaskModel,
    config: ArtifactConfig,
    data_dir: Path | str,
    thresholds: dict[str, float] | None = None,
    lexical: LexicalModel | None = None,
    bf16: bool | None = None,
) -> dict:
    """Dev-split report of a network (mixed with its ``lexical`` channel, if any): ``{"datasets": {...},
    "languages": {...}}``. ``bf16``: run under bfloat16 autocast (default: where the CPU supports it)."""
    examples = load_split(Path(data_dir), "dev")
    by_text = predict_examples(tokenizer, network, config, examples, lexical, bf16)
    return build_report(examples, by_text, thresholds if thresholds is not None else config.thresholds)


def predict_examples(
    tokenizer: object,
    network: MultiTaskModel,
    config: ArtifactConfig,
    examples: Sequence[Example],
    lexical: LexicalModel | None,
    bf16: bool | None = None,
) -> dict[str, Prediction]:
    """Predictions of every distinct text of ``examples``, keyed by text (its first example's language)."""
    lang_of: dict[str, str] = {}
    for example in examples:
        lang_of.setdefault(example.text, example.lang)
    texts = sorted(lang_of)
    mixer = (
        None
        if lexical is None
        else Mixer(lexical, texts, [lang_of[t] for t in texts], config.mix, config.offsets)
    )
    predictions = predict(
        tokenizer,
        network,
        texts,
        max_tokens=config.max_tokens,
        bf16=bf16_supported() if bf16 is None else bf16,
        mixer=mixer,
    )
    return dict(zip(texts, predictions, strict=True))


def build_report(
    examples: Sequence[Example], by_text: dict[str, Prediction], thresholds: dict[str, float]
) -> dict:
    """Group dev examples by (dataset, task) and by (language, task) and score each group."""
    by_dataset: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    by_lang: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for example in examples:
        pred = decide(example.task, by_text[example.text].probs[example.task], example.lang, thresholds)
        by_dataset[(example.dataset, example.task)].append((example.label, pred))
        by_lang[(example.lang, example.task)].append((example.label, pred))
    datasets = {}
    for (dataset, task), pairs in sorted(by_dataset.items()):
        name, metric = (
            OFFICIAL.get(dataset, ("macro_f1", macro_f1)) if task != "topic" else ("macro_f1", macro_f1)
        )
        datasets[f"{dataset}/{task}"] = _score(task, pairs, name, metric)
    languages = {
        f"{lang}/{task}": _score(task, pairs, "macro_f1", macro_f1)
        for (lang, task), pairs in sorted(by_lang.items())
    }
    return {"datasets": datasets, "languages": languages, "thresholds": dict(thresholds)}


def _score(task: str, pairs: list[tuple[int, int]], metric_name: str, metric: Metric) -> dict:
    gold, pred = [g for g, _ in pairs], [p for _, p in pairs]
    classes = TASKS[task]
    rows = per_class(gold, pred, len(classes))
    return {
        "n": len(pairs),
        "metric": metric_name,
        "value": round(metric(gold, pred, len(classes)), 4),
        "accuracy": round(micro_f1(gold, pred), 4),
        "per_label": {
            cls: {k: round(v, 4) for k, v in row.items()}
            for cls, row in zip(classes, rows, strict=True)
            if row["support"] > 0
        },
    }


def evaluate(tagger: Tagger, data_dir: Path | str, log: Callable[[str], None] | None = print) -> dict:
    """Evaluate a loaded :class:`~classify.tagger.Tagger` on the dev splits under ``data_dir``.

    Uses the tagger's own thresholds. Adds the legal-cue/PII figures from ``classify.eval_legal`` when that
    module is present. Prints the report through ``log`` (pass ``None`` for silence) and returns it.
    """
    report = evaluate_network(
        tagger.tokenizer,
        tagger.network,
        tagger.config,
        data_dir,
        tagger.thresholds,
        tagger.lexical,
        tagger.bf16,
    )
    report["tagger_version"] = tagger.version
    legal = _legal_report()
    if legal is not None:
        report["legal_and_pii"] = legal
    if log is not None:
        log(format_report(report))
    return report


LEGAL_EVAL_DIR = Path(__file__).parent / "eval_data"
#: Tuned on (dev) and held out while tuning (test): both are reported, the test split is the fair one.
LEGAL_EVAL_SPLITS = ("legal_pii_dev.jsonl", "legal_pii_test.jsonl")


def _legal_report() -> str | None:
    """The cue and PII detectors' figures on their annotated splits (``classify.eval_legal``), if present."""
    try:
        eval_legal = importlib.import_module("classify.eval_legal")
    except ModuleNotFoundError:
        return None
    sections = [
        f"{name}:\n{eval_legal.format_report(eval_legal.evaluate_detectors(LEGAL_EVAL_DIR / name))}"
        for name in LEGAL_EVAL_SPLITS
        if (LEGAL_EVAL_DIR / name).exists()
    ]
    return "\n\n".join(sections) or None


def format_report(report: dict) -> str:
    """A plain-text table of the report."""
    lines = [f"{'dataset/task':<40} {'n':>5} {'metric':<16} {'value':>6} {'acc':>6}"]
    for section in ("datasets", "languages"):
        lines.append(f"-- by {section[:-1]}")
        for key, row in report[section].items():
            lines.append(
                f"{key:<40} {row['n']:>5} {row['metric']:<16} {row['value']:>6.3f} {row['accuracy']:>6.3f}"
            )
            for label, figures in row["per_label"].items():
                lines.append(
                    f"    {label:<36} P={figures['precision']:.3f} R={figures['recall']:.3f} "
                    f"F1={figures['f1']:.3f} n={int(figures['support'])}"
                )
    lines.append(f"thresholds: {report['thresholds']}")
    if "legal_and_pii" in report:
        title = "legal cues and PII (classify.eval_legal; rules tuned on dev, test held out):"
        lines += ["", title, report["legal_and_pii"]]
    return "\n".join(lines)


def replay_check(tagger: Tagger, posts_path: Path | str) -> dict:
    """Demo check on the bundled replay posts (their ``expect`` tags): agreement per tag and language.

    Not a benchmark: the replay posts were written for the demo and are never trained on.
    """
    posts = [
        json.loads(line) for line in Path(posts_path).read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    results = tagger.tag_batch([p["text"] for p in posts], [p.get("lang") for p in posts])
    pairs: dict[str, list[tuple[object, object]]] = defaultdict(list)
    for post, result in zip(posts, results, strict=True):
        expect, lang = post["expect"], post.get("lang", "und")
        for tag in ("complaint", "insult", "legal_threat", "regulator", "defamation_risk"):
            pairs[f"{tag}/{lang}"].append((expect[tag], result.tags[tag]))
        if expect["complaint"] and result.tags["complaint"]:
            pairs[f"topic/{lang}"].append((expect["topic"], result.tags["topic"]))
    report = {}
    for key, items in sorted(pairs.items()):
        agree = sum(1 for want, got in items if want == got) / len(items)
        figures = {"n": len(items), "agreement": round(agree, 4)}
        if not key.startswith("topic/"):
            gold, pred = [int(bool(w)) for w, _ in items], [int(bool(g)) for _, g in items]
            figures["macro_f1"] = round(macro_f1(gold, pred, 2), 4)
        report[key] = figures
    return report
