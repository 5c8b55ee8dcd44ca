"""Fill in exact character offsets of the PII annotations in an evaluation JSONL file.

Annotators write each PII item as ``{"type": ..., "value": "the exact substring"}`` (plus
``"occurrence": n`` when the substring appears more than once); this tool finds the substring and
writes ``start``/``end`` so offsets are never counted by hand. Items that already carry offsets are
checked against their value instead. Usage::

    python -m classify.eval_annotate classify/eval_data/legal_pii_dev.jsonl [more files...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def locate(text: str, value: str, occurrence: int = 0) -> tuple[int, int]:
    """Offsets of the ``occurrence``-th (0-based) appearance of ``value`` in ``text``."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.find(value, start + 1)
        if start < 0:
            raise ValueError(f"{value!r} (occurrence {occurrence}) not found in {text!r}")
    return start, start + len(value)


def annotate_record(record: dict[str, Any], where: str) -> dict[str, Any]:
    """Return ``record`` with every PII item given as ``{"type","start","end","value"}``."""
    text = record["text"]
    items = []
    for item in record["labels"]["pii"]:
        value = item.get("value")
        if value is None:
            raise ValueError(f"{where}: PII item {item} needs a 'value' (the exact substring)")
        if "start" in item:
            start, end = item["start"], item["end"]
            if text[start:end] != value:
                raise ValueError(f"{where}: text[{start}:{end}] is {text[start:end]!r}, value says {value!r}")
        else:
            start, end = locate(text, value, item.get("occurrence", 0))
        items.append({"type": item["type"], "start": start, "end": end, "value": value})
    record["labels"]["pii"] = items
    return record


def annotate_file(path: Path) -> int:
    """Rewrite ``path`` in place with exact offsets; returns the number of records."""
    lines = path.read_text(encoding="utf-8").splitlines()
    records = [
        annotate_record(json.loads(line), f"{path}:{number}")
        for number, line in enumerate(lines, start=1)
        if line.strip()
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return len(records)


def main(argv: list[str]) -> int:
    """Annotate every file named on the command line."""
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    for name in argv:
        print(f"{name}: {annotate_file(Path(name))} records")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
