"""Throughput of the legal-risk cues and PII detectors, against a bare trigger-word regex in the same run.

The posts of the annotated evaluation set are repeated to about 20,000. The baseline is the cheapest
thing a cue detector could do: one ``re.search`` per post over a single alternation of every trigger
pattern. The figure that matters is posts/s of cues + PII together (target: at least 5,000 on one core)
and its ratio to the baseline, which is comparable across machines and loads. Usage::

    python bench/detectors.py [--posts 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

# The repository root first: bench/classify.py would otherwise shadow the classify package.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classify.legal import legal_cues  # noqa: E402
from classify.legal_lexicon import TRIGGERS  # noqa: E402
from classify.pii import find_pii  # noqa: E402

EVAL_DATA = ROOT / "classify" / "eval_data"


def load_posts(count: int) -> list[tuple[str, str, tuple[str, ...]]]:
    """(text, lang, brand contacts) of the evaluation posts, repeated to ``count``."""
    posts = []
    for path in sorted(EVAL_DATA.glob("legal_pii_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            posts.append((record["text"], record["lang"], tuple(record.get("brand_contacts", ()))))
    return (posts * (count // len(posts) + 1))[:count]


def baseline_regex() -> re.Pattern[str]:
    """Every trigger pattern of every tag and language in one case-insensitive alternation."""
    patterns = [p for groups in TRIGGERS.values() for group in groups for p in group.patterns]
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b", re.IGNORECASE)


Work = Callable[[str, str, tuple[str, ...]], object]


def posts_per_second(runs: dict[str, Work], posts: list, repeat: int) -> dict[str, float]:
    """Best of ``repeat`` passes per workload; the workloads take turns so a load spike hits all alike."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeat):
        for name, work in runs.items():
            started = time.perf_counter()
            for text, lang, contacts in posts:
                work(text, lang, contacts)
            best[name] = min(best[name], time.perf_counter() - started)
    return {name: len(posts) / seconds for name, seconds in best.items()}


def main() -> None:
    """Measure and print posts/s for the baseline, each detector and both together."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    posts = load_posts(args.posts)
    trigger = baseline_regex()
    runs: dict[str, Work] = {
        "baseline: one re.search over all trigger words": lambda text, lang, contacts: trigger.search(text),
        "legal_cues": lambda text, lang, contacts: legal_cues(text, lang),
        "find_pii": lambda text, lang, contacts: find_pii(text, contacts),
        "legal_cues + find_pii": lambda text, lang, contacts: (
            legal_cues(text, lang),
            find_pii(text, contacts),
        ),
    }
    rates = posts_per_second(runs, posts, args.repeat)
    baseline = rates["baseline: one re.search over all trigger words"]
    print(f"{len(posts)} posts (evaluation set repeated), best of {args.repeat} interleaved passes, one core")
    for name, rate in rates.items():
        print(f"{name:48} {rate:10,.0f} posts/s   {rate / baseline:5.2f}x baseline")
    both = rates["legal_cues + find_pii"]
    print(f"target >= 5,000 posts/s for cues + PII: {'met' if both >= 5000 else 'NOT met'} ({both:,.0f})")


if __name__ == "__main__":
    main()
