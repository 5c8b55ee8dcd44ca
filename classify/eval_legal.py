"""Precision, recall and F1 of the legal-risk cues and the PII detectors on an annotated JSONL set.

Post-level tags (``legal_threat``, ``regulator``, ``defamation_risk``, ``insult``): a post is predicted
positive when its cue score reaches :data:`classify.legal.THRESHOLD`. The posts' annotated language is
passed to ``legal_cues`` so the figures measure the detectors, not language id.

PII is scored per span. A predicted span matches a gold span when the types are equal and they overlap
by at least half of the longer of the two (so a span that is off by a character or two still counts,
one that covers only part of an address does not); each gold span matches at most one prediction.
Exact-offset figures are reported alongside as ``pii_exact``. Usage::

    python -m classify.eval_legal classify/eval_data/legal_pii_dev.jsonl
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from classify.legal import legal_cues
from classify.legal_lexicon import TAGS
from classify.pii import find_pii

#: Targets from the issue: F1 on both languages together.
TARGET_F1 = {"legal_threat": 0.85, "regulator": 0.85, "pii": 0.85, "defamation_risk": 0.75, "insult": 0.75}
MIN_OVERLAP = 0.5


class Counts:
    """True positives, false positives and false negatives of one tag."""

    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0

    def add(self, tp: int, fp: int, fn: int) -> None:
        """Add one post's counts."""
        self.tp += tp
        self.fp += fp
        self.fn += fn

    def figures(self) -> dict[str, float | int]:
        """Counts plus precision, recall and F1 (0.0 where undefined)."""
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": precision,
            "recall": recall,
            "f1": f1,
        }


def load_records(path: Path) -> list[dict[str, Any]]:
    """The annotated posts of a JSONL file, with a clear error for a malformed line."""
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            record["text"], record["lang"], record["labels"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ValueError(f"{path}:{number}: not an annotated post ({error})") from error
        records.append(record)
    return records


def spans_match(gold: dict[str, Any], predicted: dict[str, Any]) -> bool:
    """Same type and an overlap of at least half the longer span."""
    if gold["type"] != predicted["type"]:
        return False
    overlap = min(gold["end"], predicted["end"]) - max(gold["start"], predicted["start"])
    longer = max(gold["end"] - gold["start"], predicted["end"] - predicted["start"])
    return overlap > 0 and overlap >= MIN_OVERLAP * longer


def match_spans(
    gold: list[dict[str, Any]], predicted: list[dict[str, Any]], exact: bool
) -> tuple[int, int, int]:
    """Greedy one-to-one matching; returns (tp, fp, fn)."""
    unmatched = list(predicted)
    tp = 0
    for item in gold:
        for candidate in unmatched:
            same = (
                (item["type"], item["start"], item["end"])
                == (candidate["type"], candidate["start"], candidate["end"])
                if exact
                else spans_match(item, candidate)
            )
            if same:
                unmatched.remove(candidate)
                tp += 1
                break
    return tp, len(unmatched), len(gold) - tp


def evaluate_records(
    records: Iterable[dict[str, Any]], errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Figures per tag (and for ``pii``, ``pii_exact`` and each PII type), per language and overall."""
    counts: dict[str, dict[str, Counts]] = defaultdict(lambda: defaultdict(Counts))
    posts = 0
    for record in records:
        posts += 1
        lang, labels = record["lang"], record["labels"]
        cues = legal_cues(record["text"], lang)
        for tag in TAGS:
            gold, predicted = bool(labels[tag]), cues[tag].present
            for key in ("all", lang):
                counts[tag][key].add(
                    int(gold and predicted), int(predicted and not gold), int(gold and not predicted)
                )
            if errors is not None and gold != predicted:
                errors.append(
                    {"tag": tag, "gold": int(gold), "score": cues[tag].score, "text": record["text"]}
                )
        found = [s.to_dict() for s in find_pii(record["text"], record.get("brand_contacts", ()))]
        _count_pii(counts, lang, labels["pii"], found, errors, record["text"])
    return {
        "posts": posts,
        "span_match": f"type equal and overlap >= {MIN_OVERLAP:.0%} of the longer span",
        "tags": {
            tag: {key: c.figures() for key, c in sorted(by_lang.items())} for tag, by_lang in counts.items()
        },
    }


def _count_pii(
    counts: dict[str, dict[str, Counts]],
    lang: str,
    gold: list[dict[str, Any]],
    found: list[dict[str, Any]],
    errors: list[dict[str, Any]] | None,
    text: str,
) -> None:
    for key in ("all", lang):
        counts["pii"][key].add(*match_spans(gold, found, exact=False))
        counts["pii_exact"][key].add(*match_spans(gold, found, exact=True))
    for pii_type in {item["type"] for item in gold + found}:
        counts[f"pii:{pii_type}"]["all"].add(
            *match_spans(
                [g for g in gold if g["type"] == pii_type], [f for f in found if f["type"] == pii_type], False
            )
        )
    if errors is not None and match_spans(gold, found, exact=True)[1:] != (0, 0):
        errors.append({"tag": "pii", "gold": gold, "found": found, "text": text})


def evaluate_detectors(path: str | Path) -> dict[str, Any]:
    """Evaluate the cues and the PII detectors on the annotated JSONL file at ``path``."""
    return evaluate_records(load_records(Path(path)))


def format_report(result: dict[str, Any]) -> str:
    """A plain-text table of the figures, with the issue's targets."""
    lines = [f"{result['posts']} posts; PII spans match when {result['span_match']}", ""]
    lines.append(f"{'tag':24} {'lang':4} {'P':>6} {'R':>6} {'F1':>6}   tp  fp  fn  target")
    for tag, by_lang in result["tags"].items():
        for key, figures in by_lang.items():
            target = TARGET_F1.get(tag)
            verdict = (
                ""
                if target is None or key != "all"
                else f"{target:.2f} {'ok' if figures['f1'] >= target else 'MISSED'}"
            )
            lines.append(
                f"{tag:24} {key:4} {figures['precision']:6.3f} {figures['recall']:6.3f} {figures['f1']:6.3f} "
                f"{figures['tp']:4} {figures['fp']:3} {figures['fn']:3}  {verdict}"
            )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Print the report for each file named; ``--errors`` also lists the misclassified posts."""
    show_errors = "--errors" in argv
    paths = [a for a in argv if a != "--errors"]
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    for name in paths:
        errors: list[dict[str, Any]] | None = [] if show_errors else None
        print(f"== {name}")
        print(format_report(evaluate_records(load_records(Path(name)), errors)))
        for error in errors or []:
            print(json.dumps(error, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
