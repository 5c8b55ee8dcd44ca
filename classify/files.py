"""Classifying a JSONL file as a stream: one object per line in, the same object plus tags out.

Each input line is a JSON object with a string ``text`` (and optionally ``lang``). Each output line is that
object with ``tags``, ``scores`` and ``evidence`` added (and ``error`` when the tagger refused the text, e.g.
an empty one). Lines are read and written in batches, so the file is never held in memory; blank lines are
skipped.

A malformed line (not JSON, not an object, no string ``text``) stops the run with :class:`MalformedLine`
naming the file and line number (``errors="raise"``, the default: better to fix the file than to miss
posts), or with ``errors="record"`` is written out as ``{"line": N, "error": "..."}`` and the run goes on.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from classify.tagger import Tagger


class MalformedLine(ValueError):
    """An input line that is not a JSON object with a string ``text``."""


@dataclass
class FileSummary:
    lines: int = 0
    tagged: int = 0
    refused: int = 0
    malformed: int = 0
    seconds: float = 0.0


def classify_file(
    in_path: Path | str,
    out_path: Path | str,
    tagger: Tagger,
    batch_size: int = 512,
    progress: bool = True,
    errors: Literal["raise", "record"] = "raise",
    brand_contacts: tuple[str, ...] = (),
) -> FileSummary:
    """Tag every ``text`` of the JSONL file ``in_path`` and write the enriched objects to ``out_path``.

    ``progress`` shows a counter on stderr when stderr is a terminal. Returns counts of what happened.
    """
    in_path, out_path = Path(in_path), Path(out_path)
    if errors not in ("raise", "record"):
        raise ValueError(f"errors must be 'raise' or 'record', not {errors!r}")
    if out_path.exists() and in_path.exists() and out_path.resolve() == in_path.resolve():
        raise ValueError(f"{out_path}: output would overwrite the input file")
    summary, started = FileSummary(), time.monotonic()
    total_bytes = in_path.stat().st_size
    show = progress and sys.stderr.isatty()
    with in_path.open("rb") as source, out_path.open("w", encoding="utf-8") as sink:
        pending: list[tuple[int, dict]] = []
        for number, record, error in _records(source, in_path, errors):
            summary.lines += 1
            if error is not None:
                summary.malformed += 1
                _flush(pending, tagger, sink, summary, brand_contacts)
                sink.write(_dump({"line": number, "error": error}) + "\n")
                continue
            pending.append((number, record))
            if len(pending) >= batch_size:
                _flush(pending, tagger, sink, summary, brand_contacts)
                if show:
                    _show_progress(summary, source.tell(), total_bytes, started)
        _flush(pending, tagger, sink, summary, brand_contacts)
    summary.seconds = time.monotonic() - started
    if show:
        _show_progress(summary, total_bytes, total_bytes, started)
        sys.stderr.write("\n")
    return summary


def _records(source: IO[bytes], path: Path, errors: str) -> Iterator[tuple[int, dict, str | None]]:
    """(line number, object, error) for each non-blank line; raises on a malformed one when errors='raise'."""
    for number, raw in enumerate(source, start=1):
        if not raw.strip():
            continue
        problem, record = _parse(raw)
        if problem is not None and errors == "raise":
            raise MalformedLine(f"{path}:{number}: {problem}")
        yield number, record, problem


def _parse(raw: bytes) -> tuple[str | None, dict]:
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return f"not UTF-8 (byte {exc.start})", {}
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg} at column {exc.colno})", {}
    if not isinstance(record, dict):
        return f"expected a JSON object, got {type(record).__name__}", {}
    if not isinstance(record.get("text"), str):
        return "the object has no string 'text' field", {}
    if record.get("lang") is not None and not isinstance(record["lang"], str):
        return "'lang' must be a string", {}
    return None, record


def _flush(
    pending: list[tuple[int, dict]],
    tagger: Tagger,
    sink: IO[str],
    summary: FileSummary,
    contacts: tuple[str, ...],
) -> None:
    """Tag the pending records and write them out in input order."""
    if not pending:
        return
    records = [record for _, record in pending]
    results = tagger.tag_batch([r["text"] for r in records], [r.get("lang") for r in records], contacts)
    for record, result in zip(records, results, strict=True):
        sink.write(_dump({**record, **result.to_dict()}) + "\n")
        summary.tagged += result.error is None
        summary.refused += result.error is not None
    pending.clear()


def _dump(obj: dict) -> str:
    """One JSON line: readable UTF-8, or \\u escapes when the text holds lone surrogates (still valid)."""
    line = json.dumps(obj, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj)
    return line


def _show_progress(summary: FileSummary, done_bytes: int, total_bytes: int, started: float) -> None:
    rate = summary.lines / max(time.monotonic() - started, 1e-6)
    percent = 100.0 * done_bytes / total_bytes if total_bytes else 100.0
    sys.stderr.write(f"\rclassified {summary.lines} lines ({percent:.0f}%, {rate:.0f}/s)")
    sys.stderr.flush()
