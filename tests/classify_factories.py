"""Small labeled datasets in the shared datasets' layout, for training and evaluation tests."""

from __future__ import annotations

import json
from pathlib import Path


def tiny_datasets(root: Path) -> Path:
    """20 complaint and 20 offense records per split, in the shared datasets' layout."""
    rows: dict[str, list[dict[str, object]]] = {
        "complaints_preotiuc2019": [
            {
                "text": f"@shop order {i} never arrived, refund me"
                if i % 2
                else f"@shop thanks for order {i}!",
                "lang": "en",
                "label": "complaint" if i % 2 else "not_complaint",
                "labels": {},
            }
            for i in range(20)
        ],
        "germeval2018_offense": [
            {
                "text": f"Du Idiot Nummer {i}" if i % 2 else f"Schönes Wetter heute {i}",
                "lang": "de",
                "label": "x",
                "labels": {"coarse": "OFFENSE" if i % 2 else "OTHER"},
            }
            for i in range(20)
        ],
    }
    for name, records in rows.items():
        for split in ("train", "dev"):
            folder = root / name
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{split}.jsonl").write_text(
                "".join(json.dumps(r) + "\n" for r in records), encoding="utf-8"
            )
    return root
