"""Why the tagger mixes two channels: dev figures of the encoder alone, the n-gram channel alone, and the mix.

    .venv/bin/python bench/lexical_mix.py [--data ../shared/data] [--artifacts classify/artifacts]

``--data`` defaults to ``$COMPLAINTWATCH_TRAIN_DATA``, else ``../shared/data`` beside the checkout; with
neither present it says so and exits 0 (``make bench`` runs every script).

Runs the encoder once over the dev texts of the three headline benchmarks, then scores each with the
lexical share forced to 0 (encoder only), forced to 1 (n-gram channel only) and as fitted (the artifact's
shares, per language). Binary decisions use the artifact's thresholds. Prints each figure and the mix's
ratio against the encoder alone.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classify.data import load_split  # noqa: E402
from classify.evaluate import OFFICIAL, decision_threshold  # noqa: E402
from classify.lexical import LexicalModel, mix_weight, mixed  # noqa: E402
from classify.model import load_artifacts  # noqa: E402
from classify.train import encoder_log_probs  # noqa: E402

HEADLINE = (
    ("complaints_preotiuc2019", "complaint", "complaint"),
    ("germeval2018_offense", "offense", "insult"),
    ("germeval2017_db", "sentiment", "sentiment"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("COMPLAINTWATCH_TRAIN_DATA", ROOT.parent / "shared" / "data"))
    parser.add_argument("--data", type=Path, default=default, help="folder of the labeled datasets")
    parser.add_argument("--artifacts", type=Path, default=ROOT / "classify" / "artifacts")
    args = parser.parse_args()
    if not (args.data / "germeval2018_offense" / "dev.jsonl").exists():
        print(f"skipped: no labeled dev splits under {args.data} (pass --data)")
        return
    tokenizer, network, config = load_artifacts(args.artifacts, None)
    lexical = LexicalModel.load(args.artifacts)
    if lexical is None:
        raise SystemExit(f"{args.artifacts}: no lexical channel to compare")
    dev = load_split(args.data, "dev")
    print(f"{'benchmark':<36} {'metric':<16} {'encoder':>8} {'n-grams':>8} {'mixed':>8} {'ratio':>6}")
    for dataset, task, tag in HEADLINE:
        items = [e for e in dev if e.dataset == dataset and e.task == task]
        encoder = encoder_log_probs(tokenizer, network, items, config.max_tokens)
        enc = np.stack([encoder[e.text][task] for e in items])
        lex = lexical.log_probs([e.text for e in items], [e.lang for e in items])[task]
        gold = [e.label for e in items]
        name, metric = OFFICIAL[dataset]
        figures = []
        for shares in (np.zeros(len(items)), np.ones(len(items)), fitted(config.mix, task, items)):
            probs = np.stack([mixed(enc[i : i + 1], lex[i : i + 1], s)[0] for i, s in enumerate(shares)])
            figures.append(metric(gold, decisions(probs, tag, items, config.thresholds), probs.shape[1]))
        print(
            f"{dataset + '/' + task:<36} {name:<16} {figures[0]:>8.3f} {figures[1]:>8.3f} "
            f"{figures[2]:>8.3f} {figures[2] / figures[0]:>6.3f}"
        )


def fitted(mix: dict[str, float], task: str, items: list) -> np.ndarray:
    return np.array([mix_weight(mix, task, e.lang) for e in items])


def decisions(probs: np.ndarray, tag: str, items: list, thresholds: dict[str, float]) -> list[int]:
    if probs.shape[1] != 2:
        return probs.argmax(axis=1).tolist()
    cuts = [decision_threshold(thresholds, tag, e.lang) for e in items]
    return [int(p[1] >= cut) for p, cut in zip(probs, cuts, strict=True)]


if __name__ == "__main__":
    main()
