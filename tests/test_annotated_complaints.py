"""The bundled German complaint set (classify/annotated): valid records, read with every data folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

from classify.data import BUNDLED_DIR, TOPICS, dataset_files, load_split

ROOT = Path(__file__).resolve().parent.parent
SET = BUNDLED_DIR / "complaints_de_posts"


def _records(split: str) -> list[dict]:
    lines = (SET / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_every_record_has_a_label_and_a_topic_exactly_when_it_is_a_complaint() -> None:
    for split in ("train", "dev"):
        for number, record in enumerate(_records(split), start=1):
            where = f"{split}.jsonl:{number}"
            assert record["lang"] == "de" and record["text"].strip(), where
            assert record["label"] in ("complaint", "not_complaint"), where
            topic = record["labels"]["topic"]
            assert (topic in TOPICS) if record["label"] == "complaint" else topic is None, where


def test_no_text_is_in_both_splits_or_twice_in_one() -> None:
    train, dev = ([r["text"] for r in _records(s)] for s in ("train", "dev"))
    assert len(set(train)) == len(train) and len(set(dev)) == len(dev)
    assert not set(train) & set(dev)


def test_every_data_folder_gets_the_bundled_set_with_complaint_and_topic_examples(tmp_path: Path) -> None:
    examples = load_split(tmp_path, "train")
    complaints = [e for e in examples if e.task == "complaint"]
    assert len(complaints) == len(_records("train")) and {e.dataset for e in examples} == {
        "complaints_de_posts"
    }
    assert sum(e.label for e in complaints) == sum(e.task == "topic" for e in examples)


def test_a_data_folder_with_the_same_dataset_replaces_the_bundled_one(tmp_path: Path) -> None:
    own = tmp_path / "complaints_de_posts"
    own.mkdir()
    record = {"text": "Paket weg @Boxbote", "lang": "de", "label": "complaint"}
    record["labels"] = {"topic": "delivery"}
    (own / "dev.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    assert dataset_files(tmp_path, "dev") == [own / "dev.jsonl"]
    assert [e.text for e in load_split(tmp_path, "dev")] == ["Paket weg @Boxbote"] * 2


def _grams(text: str) -> set[str]:
    text = re.sub(r"\s+", " ", text.lower())
    return {text[i : i + 6] for i in range(len(text) - 5)}


def test_no_post_is_a_near_copy_of_a_replay_demo_post() -> None:
    """The replay posts judge the demo; a training post close to one of them would flatter the figures."""
    replay = ROOT / "collectors" / "replay_data" / "posts.jsonl"
    demo = [_grams(json.loads(line)["text"]) for line in replay.read_text(encoding="utf-8").splitlines()]
    for split in ("train", "dev"):
        for record in _records(split):
            grams = _grams(record["text"])
            closest = max(len(grams & other) / len(grams | other) for other in demo)
            assert closest < 0.35, record["text"]
