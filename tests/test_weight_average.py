"""Fine-tuning ends on the moving average of its weights over the optimiser steps (TrainConfig.ema_decay)."""

from __future__ import annotations

import random

import pytest
import torch

from classify.data import TASKS, Example
from classify.model import MultiTaskModel, load_encoder
from classify.train import TrainConfig, fine_tune, unfreeze_top_layers


def _examples() -> list[Example]:
    texts = [("my parcel never arrived, refund me", 1), ("thanks, lovely service today", 0)] * 4
    return [Example(text, "en", "complaint", label, "complaints_preotiuc2019") for text, label in texts]


def _fine_tuned(config: TrainConfig) -> dict[str, torch.Tensor]:
    """Every parameter after ``fine_tune`` from the same seed, so every call takes the same path."""
    random.seed(0)
    torch.manual_seed(0)
    tokenizer, encoder = load_encoder(None)
    network = MultiTaskModel(encoder, TASKS)
    unfreeze_top_layers(network, 1)
    fine_tune(tokenizer, network, _examples(), config, log=lambda _: None)
    return {name: p.detach().clone() for name, p in network.named_parameters()}


@pytest.mark.slow
def test_fine_tuning_ends_on_the_average_of_its_steps() -> None:
    recipe = {"unfreeze_layers": 1, "epochs": 1, "batch_size": 4, "embedding_rank": 0, "head_lr": 0.05}
    first = _fine_tuned(TrainConfig(**recipe, max_steps=1, ema_decay=0))
    last = _fine_tuned(TrainConfig(**recipe, max_steps=2, ema_decay=0))
    averaged = _fine_tuned(TrainConfig(**recipe, max_steps=2, ema_decay=0.75))
    moved = [name for name in first if not torch.equal(first[name], last[name])]
    assert moved and all(name.startswith(("encoder.encoder.layer.5.", "heads.")) for name in moved)
    # The average starts at the first step's weights (never the untrained ones) and moves a quarter of the
    # way to the second step's; frozen parameters stay as they were.
    for name, value in averaged.items():
        expected = first[name] + 0.25 * (last[name] - first[name])
        assert torch.allclose(value, expected, atol=1e-6), name
