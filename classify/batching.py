"""Tokenising texts into padded batches that keep each token's character offsets.

Texts are cut to ``max_tokens`` (a ``truncated`` flag says so), padded only to the longest text of the batch,
and the callers sort by length first so batches hold texts of similar size (dynamic padding).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch

# Characters beyond this are never needed: 128 word pieces never cover more than a few thousand characters of
# ordinary text. Cutting first keeps a 100,000-character input as cheap as a short one.
CHAR_WINDOW = 8192
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_for_tokenizer(text: str) -> str:
    """Replace lone surrogates (unencodable as UTF-8) one-for-one, so character offsets stay valid."""
    return _LONE_SURROGATE.sub("\ufffd", text)


@dataclass
class Batch:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    offsets: list[list[tuple[int, int]]]  # per text, per token position (special tokens: (0, 0))
    truncated: list[bool]


def encode(tokenizer: object, texts: Sequence[str], max_tokens: int) -> Batch:
    """Tokenise ``texts`` into one padded batch of at most ``max_tokens`` tokens per text."""
    windows = [clean_for_tokenizer(text[:CHAR_WINDOW]) for text in texts]
    encoded = tokenizer(  # type: ignore[operator]
        windows, add_special_tokens=True, truncation=False, return_offsets_mapping=True, verbose=False
    )
    rows, offsets, truncated = [], [], []
    for text, ids, spans in zip(texts, encoded["input_ids"], encoded["offset_mapping"], strict=True):
        cut = len(ids) > max_tokens or (len(text) > CHAR_WINDOW and bool(text[CHAR_WINDOW:].strip()))
        if len(ids) > max_tokens:
            ids = ids[: max_tokens - 1] + ids[-1:]  # keep the closing [SEP]
            spans = spans[: max_tokens - 1] + spans[-1:]
        rows.append(ids)
        offsets.append([tuple(span) for span in spans])
        truncated.append(cut)
    width = max(len(ids) for ids in rows)
    pad_id = getattr(tokenizer, "pad_token_id", 0) or 0
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for row, ids in enumerate(rows):
        input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        attention_mask[row, : len(ids)] = 1
    return Batch(input_ids, attention_mask, offsets, truncated)


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (longest first), for dynamic padding."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
