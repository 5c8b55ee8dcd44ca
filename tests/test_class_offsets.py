"""Class offsets of the mixed logits (multi-class tasks) and the weak labels the n-gram channel skips."""

from __future__ import annotations

import numpy as np
import pytest

from classify.data import Example
from classify.lexical import Mixer, class_offset, fit_lexical
from classify.model import ArtifactConfig
from classify.train import without_weak
from classify.tuning import HeldOut, fit_class_offset, log_loss


def _sentiment_examples(n: int) -> list[Example]:
    phrases = [("furchtbar spät", 0), ("ganz normal", 1), ("wunderbar pünktlich", 2)]
    return [
        Example(f"Zug {i} war {phrases[i % 3][0]}", "de", "sentiment", phrases[i % 3][1], "germeval2017_db")
        for i in range(n)
    ]


def _mixed_probs(logits: np.ndarray, offset: list[float]) -> np.ndarray:
    shifted = logits + np.array(offset)
    return np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)


def test_fitted_offsets_recover_a_shifted_class_prior() -> None:
    rng = np.random.default_rng(3)
    labels = rng.choice(3, size=2000, p=[0.2, 0.6, 0.2])
    # Both channels think the classes equally likely a priori and see the label only through noise.
    evidence = np.eye(3)[labels] * 1.5 + rng.normal(0, 1.0, (2000, 3))
    log_probs = evidence - np.log(np.exp(evidence).sum(axis=1, keepdims=True))
    offset = fit_class_offset(log_probs, log_probs, labels, share=0.5)
    assert offset[0] == 0.0
    assert offset[1] > 0.5 and abs(offset[2]) < 0.3, "the majority class is lifted, the other two stay level"
    before = log_loss(_mixed_probs(log_probs, [0.0, 0.0, 0.0]), labels)
    assert log_loss(_mixed_probs(log_probs, offset), labels) < before


def test_offsets_are_fitted_per_language_for_multi_class_tasks_only() -> None:
    examples = _sentiment_examples(60)
    binary = [Example(f"Ihr Idiot {i}", "de", "offense", i % 2, "germeval2018") for i in range(60)]
    lexical = fit_lexical(examples + binary, log=lambda _: None)
    encoder = {
        e.text: {"sentiment": np.log(np.array([0.2, 0.2, 0.6])), "offense": np.log(np.array([0.5, 0.5]))}
        for e in examples + binary
    }
    held = HeldOut(examples + binary, encoder, lexical)
    shares = held.fit_shares()
    offsets = held.fit_offsets(shares)
    assert set(offsets) == {"sentiment.de"}, "binary tasks have thresholds instead"
    assert len(offsets["sentiment.de"]) == 3 and offsets["sentiment.de"][0] == 0.0
    with_offsets = held.log_losses(shares, offsets)["mixed"]["sentiment"]
    assert with_offsets <= held.log_losses(shares)["mixed"]["sentiment"]


def test_the_mixer_adds_a_languages_offsets() -> None:
    lexical = fit_lexical(_sentiment_examples(30), log=lambda _: None)
    texts, langs = ["Zug 1 war ganz normal", "Zug 1 war ganz normal"], ["de", "en"]
    encoder = np.log(np.full((2, 3), 1 / 3))
    plain = Mixer(lexical, texts, langs, {"sentiment": 0.5}).mix("sentiment", [0, 1], encoder)
    offsets = {"sentiment.de": [0.0, 0.0, 2.0]}
    shifted = Mixer(lexical, texts, langs, {"sentiment": 0.5}, offsets).mix("sentiment", [0, 1], encoder)
    assert shifted[0] == pytest.approx(_mixed_probs(np.log(plain[:1]), [0.0, 0.0, 2.0])[0], abs=1e-5)
    assert shifted[1] == pytest.approx(plain[1], abs=1e-6), "no offsets for English: unchanged"


def test_class_offset_falls_back_to_the_task_and_ignores_a_wrong_length() -> None:
    offsets = {"sentiment": [0.0, 1.0, 0.0], "sentiment.de": [0.0, -1.0, 0.5], "topic.en": [0.0, 1.0]}
    assert class_offset(offsets, "sentiment", "de", 3).tolist() == [0.0, -1.0, 0.5]
    assert class_offset(offsets, "sentiment", "en", 3).tolist() == [0.0, 1.0, 0.0]
    assert class_offset(offsets, "topic", "en", 8).tolist() == [0.0] * 8


def test_offsets_survive_the_artifact_json_and_old_artifacts_have_none() -> None:
    config = ArtifactConfig(
        "m", {"sentiment": ("a", "b", "c")}, {}, [], offsets={"sentiment.de": [0.0, 0.5, -1]}
    )
    data = config.to_json()
    assert ArtifactConfig.from_json(data).offsets == {"sentiment.de": [0.0, 0.5, -1.0]}
    del data["offsets"]
    assert ArtifactConfig.from_json(data).offsets == {}


def test_the_n_gram_channel_skips_only_the_named_weak_complaint_labels() -> None:
    examples = [
        Example("late again", "en", "complaint", 1, "airline_twitter_sentiment"),
        Example("late again", "en", "sentiment", 0, "airline_twitter_sentiment"),
        Example("Zug zu spät", "de", "complaint", 1, "germeval2017_db"),
        Example("my order never came", "en", "complaint", 1, "complaints_preotiuc2019"),
    ]
    kept = without_weak(examples, ("airline_twitter_sentiment", "not_a_source"))
    assert kept == examples[1:]
    assert without_weak(examples, ()) == examples
    assert without_weak(examples, ("complaints_preotiuc2019",)) == examples, "not a weak source: kept"
