"""Running the network over many texts: length-sorted batches, bfloat16 autocast, word-level evidence."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from classify.batching import Batch, encode, length_sorted_batches
from classify.model import MultiTaskModel

# Given a text's index and its class probabilities per task, which (task, class) decisions to explain.
ExplainPolicy = Callable[[int, dict[str, list[float]]], Sequence[tuple[str, int]]]


@dataclass
class Prediction:
    probs: dict[str, list[float]]
    truncated: bool
    evidence: dict[str, list[tuple[int, int]]] = field(default_factory=dict)


def bf16_supported() -> bool:
    """Whether this CPU runs bfloat16 matrix products natively (AVX-512 BF16 / AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def autocast_context(bf16: bool) -> contextlib.AbstractContextManager:
    return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def predict(
    tokenizer: object,
    network: MultiTaskModel,
    texts: Sequence[str],
    *,
    max_tokens: int,
    batch_size: int = 64,
    bf16: bool = True,
    explain: ExplainPolicy | None = None,
    top_k: int = 3,
) -> list[Prediction]:
    """Class probabilities of every head for every text, in input order."""
    results: list[Prediction | None] = [None] * len(texts)
    for indices in length_sorted_batches([len(text) for text in texts], batch_size):
        batch = encode(tokenizer, [texts[i] for i in indices], max_tokens)
        with torch.inference_mode(), autocast_context(bf16):
            states = network.token_states(batch.input_ids, batch.attention_mask)
            pooled = network.pool(states, batch.attention_mask)
            probs = {
                task: torch.softmax(head(pooled).float(), dim=-1).tolist()
                for task, head in network.heads.items()
            }
        for row, index in enumerate(indices):
            prediction = Prediction(
                {task: values[row] for task, values in probs.items()}, batch.truncated[row]
            )
            if explain is not None:
                for task, cls in explain(index, prediction.probs):
                    prediction.evidence[task] = _evidence(
                        network, states, batch, row, task, cls, texts[index], top_k
                    )
            results[index] = prediction
    return [result for result in results if result is not None]


def _evidence(
    network: MultiTaskModel,
    states: torch.Tensor,
    batch: Batch,
    row: int,
    task: str,
    cls: int,
    text: str,
    top_k: int,
) -> list[tuple[int, int]]:
    """Character spans of the words whose tokens pushed ``task`` towards class ``cls`` the most."""
    with torch.inference_mode():
        target = torch.tensor([cls])
        share = network.token_contributions(
            states[row : row + 1], batch.attention_mask[row : row + 1], task, target
        )[0]
    offsets = batch.offsets[row]
    ranked = sorted(
        (i for i in range(len(offsets)) if offsets[i][1] > offsets[i][0] and float(share[i]) > 0),
        key=lambda i: -float(share[i]),
    )
    spans: list[tuple[int, int]] = []
    for i in ranked:
        span = word_around(text, *offsets[i])
        if span not in spans:
            spans.append(span)
        if len(spans) == top_k:
            break
    return sorted(spans)


def word_around(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a word-piece span to the whole word that contains it."""
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return start, end
