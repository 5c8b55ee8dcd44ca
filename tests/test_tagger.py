"""The Tagger against the committed artifact: output shape, decisions on clear cases, bad input, training."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from classify_factories import tiny_datasets

from classify import Tagger, TagResult
from classify.data import DataError, corrections_to_examples
from classify.evaluate import evaluate, format_report
from classify.lexical import C_GRID, LEXICAL_TASKS, LexicalModel, WordTable
from classify.metrics import germeval2018_f1, macro_f1, micro_f1
from classify.tagger import merge_thresholds
from classify.train import TrainConfig, is_not_worse, promote_if_not_worse, train

TAG_KEYS = {
    "complaint",
    "topic",
    "legal_threat",
    "regulator",
    "defamation_risk",
    "insult",
    "pii",
    "lang",
    "truncated",
}


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.load()


def test_results_have_the_documented_shape(tagger: Tagger) -> None:
    texts = [
        "@acme my parcel never arrived and support will not answer. Third week now!",
        "What a lovely day",
    ]
    results = tagger.tag_batch(texts, langs=["en", "en"])
    assert len(results) == 2 and all(isinstance(r, TagResult) for r in results)
    for result, text in zip(results, texts, strict=True):
        assert set(result.tags) == TAG_KEYS
        assert result.error is None
        assert all(0.0 <= score <= 1.0 for score in result.scores.values())
        for spans in result.evidence.values():
            for span in spans:
                assert 0 <= span["start"] < span["end"] <= len(text)
    assert tagger.version.startswith("sentence-transformers/all-MiniLM-L6-v2@")


def test_clear_complaint_and_clear_non_complaint(tagger: Tagger) -> None:
    complaint, chat = tagger.tag_batch(
        [
            "@acme I have been waiting 3 weeks for my refund, customer service is useless, never replies",
            "Happy birthday to my little sister, have a wonderful day!",
        ]
    )
    assert complaint.tags["complaint"] is True
    assert complaint.tags["topic"] is not None
    assert complaint.evidence["complaint"], "a positive model decision comes with word evidence"
    assert chat.tags["complaint"] is False and chat.tags["topic"] is None


def test_evidence_points_at_whole_words(tagger: Tagger) -> None:
    text = "@acme the delivery is late again, terrible, my package is still missing"
    result = tagger.tag(text, lang="en")
    assert result.tags["complaint"]
    for span in result.evidence["complaint"]:
        word = text[span["start"] : span["end"]]
        assert word.strip() == word and word
        assert span["start"] == 0 or not text[span["start"] - 1].isalnum()


class RecordingLexical(LexicalModel):
    """The committed n-gram channel, noting which texts it was asked to score word by word."""

    def __init__(self, model: LexicalModel):
        super().__init__(model.weights, model.biases)
        self.scored: list[str] = []

    def word_table(self, texts: Sequence[str]) -> list[WordTable]:
        self.scored += texts
        return super().word_table(texts)


def test_word_evidence_is_scored_only_for_texts_with_a_decision(
    tagger: Tagger, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tagger.lexical is not None
    recording = RecordingLexical(tagger.lexical)
    monkeypatch.setattr(tagger, "lexical", recording)
    complaint = "@acme I have been waiting 3 weeks for my refund, customer service is useless, never replies"
    chat = "Happy birthday to my little sister, have a wonderful day!"
    flagged, plain = tagger.tag_batch([complaint, chat], langs=["en", "en"])
    assert flagged.tags["complaint"] and not plain.tags["complaint"] and not plain.tags["insult"]
    assert recording.scored == [complaint]
    words = {complaint[s["start"] : s["end"]] for s in flagged.evidence["complaint"]}
    assert words and all(word.isalnum() for word in words)


def test_german_offensive_text_is_an_insult(tagger: Tagger) -> None:
    result = tagger.tag("@user Du bist ein dummer Idiot und ein verlogenes Stück Dreck", lang="de")
    assert result.tags["insult"] is True
    assert result.tags["lang"] == "de"


def test_pii_comes_from_the_exact_detectors(tagger: Tagger) -> None:
    text = "my order is gone, write me at jane.doe@example.org"
    [result] = tagger.tag_batch([text])
    assert [text[p["start"] : p["end"]] for p in result.tags["pii"]] == ["jane.doe@example.org"]


@pytest.mark.parametrize(
    "text",
    [
        "x" * 100_000,
        "a\x00b\x07c\x1b[31m red \x7f",
        "broken \ud800 surrogate and \udfff another",
        "😡😡😡🤬",
        "Привет مرحبا 你好 hello Grüße",
        "\u200b\u200b real text after zero-width spaces",
    ],
)
def test_odd_input_is_tagged_without_crashing(tagger: Tagger, text: str) -> None:
    [result] = tagger.tag_batch([text])
    assert result.error is None
    assert set(result.tags) == TAG_KEYS


def test_long_text_is_flagged_truncated(tagger: Tagger) -> None:
    long_text, short_text = "the delivery was late " * 200, "the delivery was late"
    long_result, short_result = tagger.tag_batch([long_text, short_text])
    assert long_result.tags["truncated"] is True
    assert short_result.tags["truncated"] is False


@pytest.mark.parametrize(
    ("text", "reason"), [("", "empty text"), ("   \n\t", "empty text"), (None, "not a string")]
)
def test_untaggable_input_is_refused_with_a_reason(tagger: Tagger, text: object, reason: str) -> None:
    ok, bad = tagger.tag_batch(["fine text", text])  # type: ignore[list-item]
    assert ok.error is None
    assert bad.error is not None and bad.error.startswith(reason)
    assert bad.tags["complaint"] is False and bad.tags["lang"] == "und"
    assert json.loads(json.dumps(bad.to_dict()))["error"] == bad.error


def test_thresholds_from_the_constructor_decide(tagger: Tagger) -> None:
    text = "hello there"
    eager = Tagger(
        tagger.tokenizer, tagger.network, tagger.config, tagger.version, thresholds={"complaint": 0.0}
    )
    strict = Tagger(
        tagger.tokenizer, tagger.network, tagger.config, tagger.version, thresholds={"complaint": 1.0}
    )
    assert eager.tag(text).tags["complaint"] is True
    assert strict.tag(text).tags["complaint"] is False


def test_threshold_overrides_are_validated() -> None:
    defaults = {"complaint": 0.5, "insult": 0.5, "insult.de": 0.4}
    assert merge_thresholds(defaults, {"insult": 0.7}) == {"complaint": 0.5, "insult": 0.7}
    with pytest.raises(ValueError, match="unknown threshold 'complaints'"):
        merge_thresholds(defaults, {"complaints": 0.5})
    with pytest.raises(ValueError, match=r"must be a number in \[0, 1\]"):
        merge_thresholds(defaults, {"complaint": 1.5})


def test_langs_must_match_texts(tagger: Tagger) -> None:
    with pytest.raises(ValueError, match="2 entries for 1 texts"):
        tagger.tag_batch(["one"], langs=["en", "de"])


def test_corrections_are_validated() -> None:
    [example] = corrections_to_examples(
        [{"text": "wo ist mein Paket", "lang": "de", "field": "topic", "value": "delivery"}]
    )
    assert (example.task, example.lang) == ("topic", "de")
    with pytest.raises(DataError, match="correction 0: complaint needs a true/false value"):
        corrections_to_examples([{"text": "x", "field": "complaint", "value": "yes"}])
    with pytest.raises(DataError, match="correction 0: field 'mood'"):
        corrections_to_examples([{"text": "x", "field": "mood", "value": True}])


@pytest.mark.slow
def test_train_smoke_run_writes_a_loadable_artifact_and_promotes(tmp_path: Path) -> None:
    data_dir = tiny_datasets(tmp_path / "data")
    correction = {
        "text": "my data was leaked by @shop",
        "lang": "en",
        "field": "topic",
        "value": "privacy_data",
    }
    config = TrainConfig(unfreeze_layers=1, epochs=1, max_steps=1, validation_fraction=0.3)
    report = train(data_dir, tmp_path / "candidate", [correction], config=config, log=lambda _: None)
    assert "complaints_preotiuc2019/complaint" in report["datasets"]
    card = json.loads((tmp_path / "candidate" / "model_card.json").read_text(encoding="utf-8"))
    assert card["reviewer_corrections"] == 1 and card["trained_layers"] == ["encoder.layer.5"]
    held_out = card["held_out_log_loss"]
    assert {"complaint", "offense"} <= set(held_out["encoder"])
    assert set(held_out["mixed"]) <= set(LEXICAL_TASKS)
    assert all(loss > 0 for loss in held_out["encoder"].values())
    assert "## Held-out log-loss" in (tmp_path / "candidate" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert set(card["data_files"]) == {
        f"{d}/{s}.jsonl"
        for d in ("complaints_preotiuc2019", "complaints_de_posts", "germeval2018_offense")
        for s in ("train", "dev")
    }
    [result] = Tagger.load(artifacts=tmp_path / "candidate").tag_batch(["my parcel is late"])
    assert result.error is None
    active = tmp_path / "active"
    assert promote_if_not_worse(tmp_path / "candidate", active, data_dir, log=lambda _: None) is True
    for name in ("weights.safetensors", "lexical.safetensors"):
        assert (active / name).read_bytes() == (tmp_path / "candidate" / name).read_bytes()


@pytest.mark.slow
def test_lexical_only_run_keeps_the_encoder_and_refits_the_rest(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    data_dir = tiny_datasets(tmp_path / "data")
    first = TrainConfig(unfreeze_layers=1, epochs=1, max_steps=1, validation_fraction=0.3)
    train(data_dir, tmp_path / "first", config=first, log=lambda _: None)
    quick = TrainConfig(encoder_from=str(tmp_path / "first"), validation_fraction=0.3)
    correction = {"text": "Ihr Saftladen", "lang": "de", "field": "insult", "value": True}
    train(data_dir, tmp_path / "quick", [correction], config=quick, log=lambda _: None)
    before, after = (load_file(str(tmp_path / d / "weights.safetensors")) for d in ("first", "quick"))
    assert before.keys() == after.keys()
    assert all(bool((before[k] == after[k]).all()) for k in before), "encoder and heads reused unchanged"
    card = json.loads((tmp_path / "quick" / "model_card.json").read_text(encoding="utf-8"))
    assert card["trained_layers"] == ["encoder.layer.5"] and card["reviewer_corrections"] == 1
    assert card["training"]["encoder_training"]["unfreeze_layers"] == 1
    # The tiny sets leave too few held-out texts to fit a share; the bundled German complaints have enough.
    assert card["lexical_sha256"] and set(card["lexical_shares"]) <= {"complaint", "complaint.de"}
    assert set(card["training"]["lexical_c"]) == {"complaint", "offense"}, "each task's C is on the card"
    assert set(card["training"]["lexical_c"].values()) <= set(C_GRID)
    again = TrainConfig(encoder_from=str(tmp_path / "quick"), validation_fraction=0.3)
    train(data_dir, tmp_path / "again", config=again, log=lambda _: None)
    card = json.loads((tmp_path / "again" / "model_card.json").read_text(encoding="utf-8"))
    assert card["training"]["encoder_training"]["unfreeze_layers"] == 1, "the encoder's settings, not nested"


def test_train_cli_refuses_lexical_only_without_the_lexical_channel(tmp_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "monitor", "train", "--lexical-only", "--no-lexical", "--data", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "--lexical-only refits the n-gram channel; it cannot go with --no-lexical" in result.stderr


def test_promotion_rule() -> None:
    active = {"a": 0.80, "b": 0.70}
    assert is_not_worse({"a": 0.80, "b": 0.70}, active, tolerance=0.01)
    assert is_not_worse({"a": 0.795, "b": 0.75}, active, tolerance=0.01)
    assert not is_not_worse({"a": 0.78, "b": 0.90}, active, tolerance=0.01), "one figure dropped too far"
    assert not is_not_worse({"a": 0.805, "b": 0.69}, active, tolerance=0.01), "the mean dropped"


def test_benchmark_metrics() -> None:
    gold, pred = [1, 1, 0, 0], [1, 0, 0, 0]
    # class "no": P=2/3 R=1; class "yes": P=1 R=1/2 -> macro P=5/6, macro R=3/4
    assert germeval2018_f1(gold, pred) == pytest.approx(2 * (5 / 6) * 0.75 / (5 / 6 + 0.75))
    assert macro_f1(gold, pred, 2) == pytest.approx((0.8 + 2 / 3) / 2)
    assert micro_f1([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75


def test_evaluate_reports_each_benchmark_with_its_metric(tmp_path: Path, tagger: Tagger) -> None:
    report = evaluate(tagger, tiny_datasets(tmp_path / "data"), log=None)
    assert report["datasets"]["complaints_preotiuc2019/complaint"]["metric"] == "macro_f1"
    assert report["datasets"]["germeval2018_offense/offense"]["metric"] == "germeval2018_f1"
    assert report["datasets"]["complaints_de_posts/complaint"]["metric"] == "macro_f1", "the bundled set"
    assert set(report["languages"]) == {"en/complaint", "de/complaint", "de/topic", "de/offense"}
    assert report["tagger_version"] == tagger.version
    assert "complaints_preotiuc2019/complaint" in format_report(report)


def test_bf16_autocast_only_where_the_cpu_has_the_instructions() -> None:
    from classify.inference import bf16_supported

    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        pytest.skip("no /proc/cpuinfo to compare with")
    flags = set(cpuinfo.read_text(encoding="utf-8").split())
    assert bf16_supported() == bool({"avx512_bf16", "amx_tile"} & flags)


def test_an_encoder_only_candidate_does_not_inherit_the_old_ngram_channel(tmp_path: Path) -> None:
    import shutil

    from classify.tagger import ARTIFACTS_DIR

    candidate, active = tmp_path / "candidate", tmp_path / "active"
    shutil.copytree(ARTIFACTS_DIR, candidate)
    (candidate / "lexical.safetensors").unlink()
    config = json.loads((candidate / "tagger.json").read_text(encoding="utf-8"))
    (candidate / "tagger.json").write_text(json.dumps({**config, "mix": {}}), encoding="utf-8")
    active.mkdir()
    shutil.copyfile(ARTIFACTS_DIR / "lexical.safetensors", active / "lexical.safetensors")
    assert promote_if_not_worse(candidate, active, tiny_datasets(tmp_path / "data"), log=lambda _: None)
    assert not (active / "lexical.safetensors").exists()
    assert Tagger.load(artifacts=active).lexical is None


def test_train_cli_defaults_are_the_committed_recipe() -> None:
    from monitor.cli import cli

    defaults = TrainConfig()
    options = {param.name: param.default for param in cli.commands["train"].params}
    for name in ("unfreeze_layers", "epochs", "embedding_rank", "ema_decay"):
        assert options[name] == getattr(defaults, name), f"--{name.replace('_', '-')} drifted"


def test_linear_layers_held_in_bf16_give_the_same_encoder_outputs_under_autocast() -> None:
    import torch

    from classify.batching import encode
    from classify.model import load_artifacts, store_linear_weights_as_bf16
    from classify.tagger import ARTIFACTS_DIR

    tokenizer, network, _config = load_artifacts(ARTIFACTS_DIR, None)
    batch = encode(tokenizer, ["Mein Paket ist seit zwei Wochen weg!", "Refund me now, @Brand"], 128)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        before = network.token_states(batch.input_ids, batch.attention_mask)
        store_linear_weights_as_bf16(network)
        after = network.token_states(batch.input_ids, batch.attention_mask)
    assert next(network.encoder.encoder.parameters()).dtype == torch.bfloat16
    assert torch.equal(before, after)
    assert all(head.weight.dtype == torch.float32 for head in network.heads.values())
