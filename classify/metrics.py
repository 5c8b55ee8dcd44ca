"""Classification metrics, including each benchmark's official figure."""

from __future__ import annotations

from collections.abc import Sequence


def per_class(gold: Sequence[int], pred: Sequence[int], n_classes: int) -> list[dict[str, float]]:
    """Precision, recall, F1 and support of every class."""
    rows = []
    for cls in range(n_classes):
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == cls and p == cls)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != cls and p == cls)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == cls and p != cls)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append({"precision": precision, "recall": recall, "f1": f1, "support": float(tp + fn)})
    return rows


def macro_f1(gold: Sequence[int], pred: Sequence[int], n_classes: int) -> float:
    """Unweighted mean of the per-class F1 (the complaints benchmark's figure)."""
    return sum(row["f1"] for row in per_class(gold, pred, n_classes)) / n_classes


def germeval2018_f1(gold: Sequence[int], pred: Sequence[int], n_classes: int = 2) -> float:
    """GermEval 2018's official figure: harmonic mean of macro-precision and macro-recall."""
    rows = per_class(gold, pred, n_classes)
    precision = sum(row["precision"] for row in rows) / n_classes
    recall = sum(row["recall"] for row in rows) / n_classes
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def micro_f1(gold: Sequence[int], pred: Sequence[int]) -> float:
    """Micro-averaged F1 over all classes of a single-label task (equals accuracy; GermEval 2017's figure)."""
    return sum(1 for g, p in zip(gold, pred, strict=True) if g == p) / len(gold) if gold else 0.0
