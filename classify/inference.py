"""Running the network over many texts: length-sorted batches, bfloat16 autocast, word-level evidence."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from classify.batching import token_sorted_batches
from classify.lexical import Mixer
from classify.model import MultiTaskModel

# Given a text's index and its class probabilities per task, which (task, class) decisions to explain.
ExplainPolicy = Callable[[int, dict[str, list[float]]], Sequence[tuple[str, int]]]


@dataclass
class Prediction:
    probs: dict[str, list[float]]
    truncated: bool
    evidence: dict[str, list[tuple[int, int]]] = field(default_factory=dict)


def bf16_supported() -> bool:
    """Whether this CPU runs bfloat16 matrix products natively (AVX-512 BF16 or AMX).

    Not ``torch.ops.mkldnn._is_mkldnn_bf16_supported()``: oneDNN says yes on any AVX-512 CPU, and on one
    without the bf16 instructions (Cascade Lake) autocast emulates them and ran the encoder 2.7 times slower
    than float32.
    """
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
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
    mixer: Mixer | None = None,
) -> list[Prediction]:
    """Class probabilities of every head for every text, in input order.

    With a ``mixer`` (built on the same ``texts``), the lexical channel is mixed in before anything reads the
    probabilities, and evidence weighs both channels' word attributions by the same shares.
    """
    results: list[Prediction | None] = [None] * len(texts)
    for indices, batch in token_sorted_batches(tokenizer, texts, max_tokens, batch_size):
        with torch.inference_mode(), autocast_context(bf16):
            states = network.token_states(batch.input_ids, batch.attention_mask)
            pooled = network.pool(states, batch.attention_mask)
            log_probs = {
                task: torch.log_softmax(head(pooled).float(), dim=-1).numpy()
                for task, head in network.heads.items()
            }
        probs = {
            task: (mixer.mix(task, indices, values) if mixer is not None else np.exp(values)).tolist()
            for task, values in log_probs.items()
        }
        predictions = [
            Prediction({task: values[row] for task, values in probs.items()}, batch.truncated[row])
            for row in range(len(indices))
        ]
        decisions = [
            list(explain(index, prediction.probs)) if explain is not None else []
            for index, prediction in zip(indices, predictions, strict=True)
        ]
        if mixer is not None:
            # Word evidence only for the texts that have a decision the n-gram channel had a share in
            # (most posts are neither complaints nor insults).
            mixer.prepare_evidence(
                [i for i, wanted in zip(indices, decisions, strict=True) if _uses_lexical(mixer, i, wanted)]
            )
        contributions = _token_contributions(network, states, batch.attention_mask, decisions)
        for row, (index, prediction) in enumerate(zip(indices, predictions, strict=True)):
            for task, cls in decisions[row]:
                lexical = None
                if mixer is not None and mixer.share(index, task) > 0:
                    lexical = (mixer.share(index, task), mixer.word_scores(index, task, cls))
                prediction.evidence[task] = _evidence(
                    contributions[row, task], batch.offsets[row], texts[index], top_k, lexical
                )
            results[index] = prediction
    return [result for result in results if result is not None]


def _uses_lexical(mixer: Mixer, index: int, decisions: Sequence[tuple[str, int]]) -> bool:
    return any(mixer.share(index, task) > 0 for task, _ in decisions)


def _token_contributions(
    network: MultiTaskModel,
    states: torch.Tensor,
    attention_mask: torch.Tensor,
    decisions: Sequence[Sequence[tuple[str, int]]],
) -> dict[tuple[int, str], list[float]]:
    """Each token's push towards each decision (``decisions[row]``: its (task, class) pairs), by row and task.

    One product per task for all rows that explain it: one per decision took 0.46-0.50 s of 7.4-8.2 s for
    2,048 replay posts (2026-12-07); per task, with the rest of the evidence, about 0.2 s.
    """
    by_task: dict[str, list[tuple[int, int]]] = {}
    for row, wanted in enumerate(decisions):
        for task, cls in wanted:
            by_task.setdefault(task, []).append((row, cls))
    out: dict[tuple[int, str], list[float]] = {}
    with torch.inference_mode():
        for task, pairs in by_task.items():
            rows = torch.tensor([row for row, _ in pairs])
            target = torch.tensor([cls for _, cls in pairs])
            # One list, not a tensor index per token: indexing a tensor from Python costs microseconds a time.
            values = network.token_contributions(states[rows], attention_mask[rows], task, target).tolist()
            out.update({(row, task): row_values for (row, _), row_values in zip(pairs, values, strict=True)})
    return out


def _evidence(
    share: list[float],
    offsets: list[tuple[int, int]],
    text: str,
    top_k: int,
    lexical: tuple[float, dict[tuple[int, int], float]] | None = None,
) -> list[tuple[int, int]]:
    """Character spans of the words that pushed a decision the most (``share``: each token's push, by the
    token ``offsets``).

    Each channel's word scores are scaled to sum to 1 and weighted by its share (``lexical``: the lexical
    share and that channel's word scores), so the words come from whichever channel drove the decision.
    """
    encoder: dict[tuple[int, int], float] = {}
    for (start, end), value in zip(offsets, share, strict=False):
        if end > start and value > 0:
            span = word_around(text, start, end)
            encoder[span] = encoder.get(span, 0.0) + value
    weight, words = lexical if lexical is not None else (0.0, {})
    combined = {span: (1 - weight) * value for span, value in _scaled(encoder).items()}
    for span, value in _scaled(words).items():
        combined[span] = combined.get(span, 0.0) + weight * value
    return sorted(sorted(combined, key=lambda span: (-combined[span], span))[:top_k])


def _scaled(scores: dict[tuple[int, int], float]) -> dict[tuple[int, int], float]:
    total = sum(scores.values())
    return {span: value / total for span, value in scores.items()} if total > 0 else {}


def word_around(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a word-piece span to the whole word that contains it."""
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return start, end
