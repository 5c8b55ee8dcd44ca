"""A malformed record in a training or dev file is refused with its file, line and the field at fault."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from classify.data import DataError, load_split

GOOD = {
    "complaints_preotiuc2019": {"text": "late again @Brand", "label": "complaint"},
    "germeval2018_offense": {"text": "Guten Morgen", "labels": {"coarse": "OTHER"}},
    "germeval2021_toxic": {"text": "Danke", "labels": {"toxic": 0}},
    "airline_twitter_sentiment": {"text": "thanks @Air", "labels": {"sentiment": "positive"}},
}


def _write(root: Path, dataset: str, *records: object) -> Path:
    folder = root / dataset
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


CASES = [
    ("complaints_preotiuc2019", {"text": "x", "label": "complain"}, "label value 'complain' is not one of"),
    ("complaints_preotiuc2019", {"text": "x"}, "a complaints_preotiuc2019 record needs label$"),
    (
        "germeval2018_offense",
        {"text": "x", "labels": {}},
        "a germeval2018_offense record needs labels.coarse",
    ),
    ("germeval2021_toxic", {"text": "x", "labels": {"toxic": 2}}, r"labels.toxic value '2' is not one of"),
    ("airline_twitter_sentiment", {"text": "x", "labels": "neg"}, "'labels' must be an object, got str"),
    ("airline_twitter_sentiment", {"text": "x", "labels": {"sentiment": "angry"}}, "labels.sentiment value"),
    ("complaints_de_posts", {"text": "x", "label": "complaint", "labels": {"topic": "post"}}, "labels.topic"),
]


@pytest.mark.parametrize(("dataset", "bad", "reason"), CASES)
def test_a_bad_label_names_file_line_and_field(tmp_path: Path, dataset: str, bad: dict, reason: str) -> None:
    good = GOOD.get(dataset, {"text": "ok", "label": "not_complaint", "labels": {"topic": None}})
    path = _write(tmp_path, dataset, good, bad)
    with pytest.raises(DataError, match=f"^{re.escape(str(path))}:2: {reason}"):
        load_split(tmp_path, "train")


def test_well_formed_records_of_every_kind_load(tmp_path: Path) -> None:
    for dataset, record in GOOD.items():
        _write(tmp_path, dataset, record)
    examples = {e.dataset: e for e in load_split(tmp_path, "train") if e.dataset in GOOD}
    assert {name: (e.task, e.label) for name, e in examples.items()} == {
        "complaints_preotiuc2019": ("complaint", 1),
        "germeval2018_offense": ("offense", 0),
        "germeval2021_toxic": ("toxic", 0),
        "airline_twitter_sentiment": ("sentiment", 2),
    }
