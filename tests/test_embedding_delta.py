"""The trainable low-rank correction of the word-piece embeddings: training, storage, loading, merging."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from classify_factories import tiny_datasets
from safetensors.torch import load_file
from torch import nn

from classify.batching import encode
from classify.model import EmbeddingDelta, load_artifacts
from classify.train import TrainConfig, train

DELTA_A = "encoder.embeddings.word_embeddings.delta_a"
DELTA_B = "encoder.embeddings.word_embeddings.delta_b"


def test_a_fresh_correction_changes_nothing_and_merging_keeps_the_outputs() -> None:
    torch.manual_seed(0)
    base = nn.Embedding(50, 8)
    original = base.weight.detach().clone()
    delta = EmbeddingDelta(base, rank=3)
    ids = torch.tensor([[1, 7, 49], [0, 3, 3]])
    assert torch.equal(delta(ids), nn.functional.embedding(ids, original)), "delta_a starts at zero"
    assert not base.weight.requires_grad and delta.delta_a.requires_grad and delta.rank == 3
    with torch.no_grad():
        delta.delta_a.normal_()
    corrected = delta(ids)
    assert not torch.allclose(corrected, nn.functional.embedding(ids, original))
    merged = delta.merged()
    assert isinstance(merged, nn.Embedding) and not isinstance(merged, EmbeddingDelta)
    assert torch.allclose(merged(ids), corrected, atol=1e-6)


def _states(folder: Path, merge: bool, texts: list[str]) -> torch.Tensor:
    tokenizer, network, config = load_artifacts(folder, None, merge=merge)
    batch = encode(tokenizer, texts, config.max_tokens)
    with torch.inference_mode():
        return network.token_states(batch.input_ids, batch.attention_mask)


def _train_with_a_correction(data_dir: Path, out: Path) -> None:
    """Two steps with a rank-4 correction, its learning rate high enough to move it visibly."""
    config = TrainConfig(
        unfreeze_layers=1, epochs=1, max_steps=2, embedding_rank=4, embedding_lr=0.05, validation_fraction=0.3
    )
    train(data_dir, out, config=config, log=lambda _: None)


@pytest.mark.slow
def test_a_trained_correction_is_stored_small_and_loaded_merged(tmp_path: Path) -> None:
    _train_with_a_correction(tiny_datasets(tmp_path / "data"), tmp_path / "out")
    stored = load_file(str(tmp_path / "out" / "weights.safetensors"))
    assert stored[DELTA_A].shape == (30522, 4) and stored[DELTA_B].shape == (4, 384)
    assert bool(stored[DELTA_A].float().abs().sum() > 0), "the correction was trained"
    assert not any(".base." in key for key in stored), "the frozen embedding table is not stored"
    tagger_json = json.loads((tmp_path / "out" / "tagger.json").read_text(encoding="utf-8"))
    assert tagger_json["embedding_rank"] == 4
    card = json.loads((tmp_path / "out" / "model_card.json").read_text(encoding="utf-8"))
    assert card["embedding_rank"] == 4
    assert "embedding correction stored here: rank 4" in (tmp_path / "out" / "MODEL_CARD.md").read_text()
    texts = ["Der Zugbegleiter war unfreundlich", "my parcel is late"]
    merged, separate = _states(tmp_path / "out", True, texts), _states(tmp_path / "out", False, texts)
    assert torch.allclose(merged, separate, atol=1e-4), "merging does not change what the encoder computes"
    _, network, _ = load_artifacts(tmp_path / "out", None)
    assert type(network.encoder.get_input_embeddings()) is nn.Embedding, "inference runs the merged table"


@pytest.mark.slow
def test_rank_zero_keeps_the_embeddings_frozen_and_stores_no_correction(tmp_path: Path) -> None:
    data_dir = tiny_datasets(tmp_path / "data")
    config = TrainConfig(unfreeze_layers=1, epochs=1, max_steps=1, embedding_rank=0, validation_fraction=0.3)
    train(data_dir, tmp_path / "out", config=config, log=lambda _: None)
    stored = load_file(str(tmp_path / "out" / "weights.safetensors"))
    assert DELTA_A not in stored and DELTA_B not in stored
    assert json.loads((tmp_path / "out" / "tagger.json").read_text(encoding="utf-8"))["embedding_rank"] == 0


@pytest.mark.slow
def test_a_lexical_only_run_keeps_the_correction(tmp_path: Path) -> None:
    data_dir = tiny_datasets(tmp_path / "data")
    _train_with_a_correction(data_dir, tmp_path / "first")
    quick = TrainConfig(encoder_from=str(tmp_path / "first"), validation_fraction=0.3)
    train(data_dir, tmp_path / "quick", config=quick, log=lambda _: None)
    before, after = (load_file(str(tmp_path / d / "weights.safetensors")) for d in ("first", "quick"))
    assert torch.equal(before[DELTA_A], after[DELTA_A]) and torch.equal(before[DELTA_B], after[DELTA_B])
    assert json.loads((tmp_path / "quick" / "tagger.json").read_text(encoding="utf-8"))["embedding_rank"] == 4
