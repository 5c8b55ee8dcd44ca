"""Speed and accuracy of ``detect_lang`` against lingua's low-accuracy mode, measured in the same run.

Posts: the annotated evaluation set (German and English), plus, with ``--shared DIR``, the German and
English dev splits of the shared labelled data (GermEval 2017/2018, OLID, airline tweets), which the
project does not depend on at run time. The baseline is the same detector in low-accuracy mode (faster,
trigram models only); ``detect_lang`` uses high-accuracy mode because the baseline falls short on posts
under 60 characters. Usage::

    python bench/langid.py [--shared /work/shared/data] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

# The repository root first: bench/classify.py would otherwise shadow the classify package.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lingua import IsoCode639_1, LanguageDetectorBuilder  # noqa: E402

from classify.langid import LANGUAGES, UNDETERMINED, clean_for_langid, detect_lang  # noqa: E402

SHARED_DEV_SPLITS = {
    "germeval2017_db/dev.jsonl": "de",
    "germeval2018_offense/dev.jsonl": "de",
    "olid_offenseval2019/dev.jsonl": "en",
    "airline_twitter_sentiment/dev.jsonl": "en",
}
SHORT = 60


def load_posts(shared: Path | None) -> list[tuple[str, str]]:
    """(text, language) pairs with at least one letter."""
    posts = []
    for path in sorted((ROOT / "classify" / "eval_data").glob("legal_pii_*.jsonl")):
        posts += [
            (r["text"], r["lang"]) for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())
        ]
    for name, lang in SHARED_DEV_SPLITS.items() if shared else ():
        lines = (shared / name).read_text(encoding="utf-8").splitlines()  # type: ignore[operator]
        posts += [(json.loads(line)["text"], lang) for line in lines]
    return [(text, lang) for text, lang in posts if detect_lang(text) != UNDETERMINED]


def low_accuracy_baseline() -> Callable[[str], str]:
    """The same languages and cleaning, lingua in low-accuracy mode."""
    codes = [getattr(IsoCode639_1, code.upper()) for code in LANGUAGES]
    detector = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_low_accuracy_mode().build()

    def detect(text: str) -> str:
        language = detector.detect_language_of(clean_for_langid(text))
        return language.iso_code_639_1.name.lower() if language else UNDETERMINED

    return detect


def measure(
    detect: Callable[[str], str], posts: list[tuple[str, str]], repeat: int
) -> tuple[float, float, float]:
    """(posts/s best of ``repeat``, accuracy, accuracy on short posts)."""
    answers = [detect(text) for text, _ in posts]  # also warms the models up
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for text, _ in posts:
            detect(text)
        best = min(best, time.perf_counter() - started)
    right = [answer == lang for answer, (_, lang) in zip(answers, posts, strict=True)]
    short = [
        ok for ok, (text, _) in zip(right, posts, strict=True) if len(clean_for_langid(text).strip()) < SHORT
    ]
    return len(posts) / best, sum(right) / len(right), sum(short) / max(1, len(short))


def main() -> None:
    """Print posts/s and accuracy of both modes, and their ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=None, help="the shared data directory (optional)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    posts = load_posts(args.shared)
    short = sum(len(clean_for_langid(text).strip()) < SHORT for text, _ in posts)
    print(f"{len(posts)} posts ({short} under {SHORT} characters), languages {', '.join(LANGUAGES)}")
    ours = measure(detect_lang, posts, args.repeat)
    baseline = measure(low_accuracy_baseline(), posts, args.repeat)
    for name, (rate, accuracy, short_accuracy) in (
        ("detect_lang (high accuracy)", ours),
        ("low accuracy", baseline),
    ):
        print(
            f"{name:28} {rate:8,.0f} posts/s   accuracy {accuracy:.3f}   on short posts {short_accuracy:.3f}"
        )
    print(
        f"speed ratio {ours[0] / baseline[0]:.2f}x baseline; short-post accuracy {ours[2] - baseline[2]:+.3f}"
    )


if __name__ == "__main__":
    main()
