"""Streaming classification of JSONL files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classify import Tagger
from classify.files import MalformedLine, classify_file


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.load()


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_each_object_comes_back_with_tags_in_order(tmp_path: Path, tagger: Tagger) -> None:
    source = write_lines(
        tmp_path / "in.jsonl",
        [
            json.dumps({"id": 1, "text": "my parcel never arrived, worst shop ever", "lang": "en"}),
            "",
            json.dumps({"id": 2, "text": "Die Bahn ist schon wieder zu spät"}),
            json.dumps({"id": 3, "text": "  "}),
            json.dumps({"id": 4, "text": "broken \ud800 surrogate"}),
        ],
    )
    summary = classify_file(source, tmp_path / "out.jsonl", tagger, batch_size=2, progress=False)
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [o["id"] for o in out] == [1, 2, 3, 4]
    assert all({"tags", "scores", "evidence"} <= set(o) for o in out)
    assert out[0]["tags"]["lang"] == "en"
    assert out[2]["error"] == "empty text" and "error" not in out[0]
    assert (summary.lines, summary.tagged, summary.refused, summary.malformed) == (4, 3, 1, 0)


def test_malformed_line_names_its_number(tmp_path: Path, tagger: Tagger) -> None:
    source = write_lines(
        tmp_path / "in.jsonl", [json.dumps({"text": "fine"}), "{not json", json.dumps({"text": 5})]
    )
    with pytest.raises(MalformedLine, match=r"in\.jsonl:2: not valid JSON"):
        classify_file(source, tmp_path / "out.jsonl", tagger, progress=False)


def test_malformed_lines_can_be_recorded_instead(tmp_path: Path, tagger: Tagger) -> None:
    source = write_lines(
        tmp_path / "in.jsonl",
        [json.dumps({"text": "fine"}), "[1, 2]", json.dumps({"text": 5}), json.dumps({"text": "ok"})],
    )
    summary = classify_file(source, tmp_path / "out.jsonl", tagger, progress=False, errors="record")
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert out[1] == {"line": 2, "error": "expected a JSON object, got list"}
    assert out[2] == {"line": 3, "error": "the object has no string 'text' field"}
    assert out[3]["text"] == "ok" and summary.malformed == 2


def test_refuses_to_overwrite_its_input(tmp_path: Path, tagger: Tagger) -> None:
    source = write_lines(tmp_path / "in.jsonl", [json.dumps({"text": "fine"})])
    with pytest.raises(ValueError, match="would overwrite the input"):
        classify_file(source, source, tagger, progress=False)
    assert json.loads(source.read_text(encoding="utf-8")) == {"text": "fine"}
