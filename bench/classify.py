"""Throughput of the whole Tagger against a plain fp32 transformers forward on the same encoder.

    .venv/bin/python bench/classify.py [--posts collectors/replay_data/posts.jsonl] [--n 2048]

Both run in this process on the same texts (the replay posts, repeated to ``--n``): first the Tagger
(encoder + heads + PII + legal cues + language id), then the baseline a naive user would write (AutoModel,
fp32, batches of 32 in input order, padded to the batch's longest text, max 128 tokens). Prints posts/s of
each, their ratio, and the peak RSS measured right after the Tagger ran (before the baseline loads).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classify.model import load_encoder  # noqa: E402
from classify.tagger import Tagger  # noqa: E402


def read_texts(path: Path, n: int) -> list[str]:
    """``n`` texts from a JSONL file's ``text`` fields, cycling through the file."""
    texts = [
        json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    if not texts:
        raise SystemExit(f"{path}: no texts")
    return [texts[i % len(texts)] for i in range(n)]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def time_tagger(texts: list[str], chunk: int) -> float:
    tagger = Tagger.load()
    tagger.tag_batch(texts[:64])  # warm-up: first-call allocations, detector set-up
    started = time.perf_counter()
    for start in range(0, len(texts), chunk):
        tagger.tag_batch(texts[start : start + chunk])
    return len(texts) / (time.perf_counter() - started)


def time_plain_fp32(texts: list[str], batch_size: int = 32) -> float:
    tokenizer, model = load_encoder(None)
    model.eval()

    def run(batch: list[str]) -> None:
        inputs = tokenizer(batch, padding=True, truncation=True, max_length=128, return_tensors="pt")  # type: ignore[operator]
        with torch.no_grad():
            model(**inputs)

    run(texts[:batch_size])  # warm-up
    started = time.perf_counter()
    for start in range(0, len(texts), batch_size):
        run(texts[start : start + batch_size])
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=Path, default=ROOT / "collectors" / "replay_data" / "posts.jsonl")
    parser.add_argument("--n", type=int, default=2048, help="number of texts to tag")
    parser.add_argument("--chunk", type=int, default=512, help="texts per tag_batch call")
    args = parser.parse_args()
    texts = read_texts(args.posts, args.n)
    print(f"{len(texts)} texts from {args.posts}, torch threads: {torch.get_num_threads()}")
    tagger_rate = time_tagger(texts, args.chunk)
    rss = peak_rss_mib()
    print(f"Tagger (encoder+heads+PII+cues+langid): {tagger_rate:8.1f} posts/s   peak RSS {rss:.0f} MiB")
    baseline_rate = time_plain_fp32(texts)
    print(f"plain fp32 AutoModel forward (bs 32):   {baseline_rate:8.1f} posts/s")
    print(f"ratio Tagger / plain fp32: {tagger_rate / baseline_rate:.2f}x")


if __name__ == "__main__":
    main()
