"""The lexical (character n-gram) channel, its mixing with the encoder, and the held-out tuning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classify.data import Example
from classify.lexical import (
    BUCKETS,
    DEFAULT_C,
    LEXICAL_FILE,
    Featurizer,
    LexicalModel,
    Mixer,
    fit_lexical,
    mix_weight,
    mixed,
)
from classify.metrics import macro_f1
from classify.tuning import (
    THRESHOLD_GRID,
    HeldOut,
    bagged_threshold,
    best_share,
    fit_lexical_tuned,
    macro_f1_curve,
)

RUDE = ("Drecksladen", "Vollidiot", "Saftladen", "Idiotenverein", "Lügenpack")
PLAIN = ("Bahnhof", "Fahrplan", "Wetter", "Kaffee", "Zugbegleiter")


def _offense_examples(n: int = 30) -> list[Example]:
    examples = []
    for i in range(n):
        rude, plain = RUDE[i % len(RUDE)], PLAIN[i % len(PLAIN)]
        for word, label in ((rude, 1), (plain, 0)):
            examples.append(Example(f"Das ist ein {word}, Nr. {i}", "de", "offense", label, "germeval2018"))
    sentiments = [("furchtbar spät", 0), ("ganz normal", 1), ("wunderbar pünktlich", 2)]
    for i in range(n):
        text, label = sentiments[i % 3]
        examples.append(Example(f"Zug {i} war {text}", "de", "sentiment", label, "germeval2017_db"))
    return examples


@pytest.fixture(scope="module")
def model() -> LexicalModel:
    return fit_lexical(_offense_examples(), log=lambda _: None)


def test_rows_are_unit_length_and_the_language_counts() -> None:
    featurizer = Featurizer()
    rows = featurizer.transform(["Der Zug ist spät", "Der Zug ist spät", ""], ["de", "en", "de"])
    assert rows.shape == (3, 2 * BUCKETS)
    norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
    assert norms[:2] == pytest.approx([1.0, 1.0])
    assert (rows[0] != rows[1]).nnz > 0, "the language token gives each language its own bias"
    with pytest.raises(ValueError, match="1 languages for 2 texts"):
        featurizer.transform(["a", "b"], ["de"])


def test_fitted_model_separates_unseen_texts(model: LexicalModel) -> None:
    log_probs = model.log_probs(["Was für ein Drecksladen", "Der Fahrplan ist online"], ["de", "de"])
    offense = np.exp(log_probs["offense"])
    assert offense.shape == (2, 2) and offense.sum(axis=1) == pytest.approx([1.0, 1.0])
    assert offense[0, 1] > 0.5 > offense[1, 1]
    sentiment = np.exp(model.log_probs(["Zug 99 war furchtbar spät"], ["de"])["sentiment"])
    assert sentiment.shape == (1, 3) and int(sentiment.argmax()) == 0
    assert set(model.tasks) == {"offense", "sentiment"}, "tasks without examples get no weights"


def test_save_and_load_round_trip(model: LexicalModel, tmp_path: Path) -> None:
    model.save(tmp_path)
    loaded = LexicalModel.load(tmp_path)
    assert loaded is not None
    texts, langs = ["Ihr Saftladen", "Zug 3 war ganz normal"], ["de", "de"]
    for task, values in model.log_probs(texts, langs).items():
        assert np.array_equal(loaded.log_probs(texts, langs)[task], values), "fitted at the stored precision"
    assert LexicalModel.load(tmp_path / "nothing-here") is None


def test_a_file_of_another_shape_is_refused_naming_it(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    save_file(
        {"offense.weight": np.zeros((1, 10), np.float16), "offense.bias": np.zeros(1)},
        str(tmp_path / LEXICAL_FILE),
    )
    with pytest.raises(ValueError, match=f"{LEXICAL_FILE}: 'offense' does not fit"):
        LexicalModel.load(tmp_path)


def test_word_scores_point_at_the_rude_word(model: LexicalModel) -> None:
    text = "Der Fahrplan stimmt nicht, ihr Drecksladen"
    scores = model.word_scores(text, "offense", 1)
    best = max(scores, key=scores.__getitem__)
    assert text[best[0] : best[1]] == "Drecksladen"
    assert "Drecksladen" not in {text[a:b] for a, b in model.word_scores(text, "offense", 0)}


def test_mix_weight_prefers_the_language_then_the_task() -> None:
    weights = {"offense": 0.4, "offense.de": 0.7}
    assert mix_weight(weights, "offense", "de") == 0.7
    assert mix_weight(weights, "offense", "fr") == 0.4
    assert mix_weight(weights, "sentiment", "de") == 0.0


def test_word_table_scores_each_word_as_if_alone(model: LexicalModel) -> None:
    texts = ["Drecksladen und DRECKSLADEN", "so ein drecksladen", "Fahrplan"]
    tables = model.word_table(texts)
    alone = model.word_scores("Drecksladen", "offense", 1)[(0, 11)]
    assert tables[0].scores("offense", 1) == pytest.approx({(0, 11): alone, (16, 27): alone})
    assert tables[1].scores("offense", 1)[(7, 18)] == pytest.approx(alone), "case does not change a push"
    assert tables[2].scores("offense", 0) == pytest.approx(model.word_scores("Fahrplan", "offense", 0))


def test_mixer_interpolates_between_the_channels(model: LexicalModel) -> None:
    texts, langs = ["Ihr Vollidiot", "Ihr Vollidiot"], ["de", "en"]
    lexical = np.exp(model.log_probs(texts, langs)["offense"])
    encoder = np.log(np.array([[0.9, 0.1], [0.9, 0.1]]))
    only_lexical = Mixer(model, texts, langs, {"offense.de": 1.0, "offense": 0.0})
    result = only_lexical.mix("offense", [0, 1], encoder)
    assert result[0] == pytest.approx(lexical[0], abs=1e-5), "share 1: the lexical channel alone"
    assert result[1] == pytest.approx([0.9, 0.1], abs=1e-5), "share 0: the encoder alone"
    half = Mixer(model, texts, langs, {"offense": 0.5}).mix("offense", [0], encoder[:1])
    assert half.sum() == pytest.approx(1.0) and 0.1 < half[0, 1] < lexical[0, 1]
    topic = np.log(np.full((1, 8), 1 / 8))
    assert only_lexical.mix("topic", [0], topic) == pytest.approx(np.full((1, 8), 1 / 8))


def test_each_task_can_have_its_own_regularisation(model: LexicalModel) -> None:
    strong = fit_lexical(_offense_examples(), {"offense": 0.01}, log=lambda _: None)
    assert np.abs(strong.weights["offense"]).sum() < 0.1 * np.abs(model.weights["offense"]).sum()
    assert strong.weights["sentiment"] == pytest.approx(model.weights["sentiment"]), "default C"


@pytest.mark.slow
def test_the_fit_runs_to_the_optimum_not_to_sklearns_loose_default() -> None:
    from sklearn.linear_model import LogisticRegression

    # Many weakly determined n-grams and a weak regulariser: where a loose tolerance stops L-BFGS early
    # (about 0.04 from the optimum's logits here at sklearn's default), and where machines then disagree.
    rng = np.random.default_rng(0)
    vocabulary = [f"w{k}x{rng.integers(10**6)}" for k in range(3000)]
    examples = []
    for _ in range(600):
        words = rng.choice(len(vocabulary), 12)
        score = (words < 300).sum() - (words > 2700).sum() + rng.normal(0.0, 1.0)
        text = " ".join(vocabulary[w] for w in words)
        examples.append(Example(text, "de", "offense", int(score > 0), "germeval2018"))
    fitted = fit_lexical(examples, 10.0, log=lambda _: None)
    rows = Featurizer().transform([e.text for e in examples], ["de"] * len(examples))
    labels = [e.label for e in examples]
    optimum = LogisticRegression(C=10.0, max_iter=20000, class_weight="balanced", tol=1e-10).fit(rows, labels)
    logits = np.asarray(rows @ fitted.weights["offense"].T)[:, 0] + fitted.biases["offense"][0]
    best = rows @ optimum.coef_[0] + optimum.intercept_[0]
    assert np.abs(logits - best).max() < 0.01


def test_tuned_fit_keeps_per_task_the_c_with_the_lowest_held_out_loss() -> None:
    examples = _offense_examples(120)
    fit = [e for k, e in enumerate(examples) if k // 2 % 2 == 0]  # offense comes in (rude, plain) pairs
    held_out = [e for k, e in enumerate(examples) if k // 2 % 2 == 1]
    # An uninformative encoder: the mix can only be as good as the lexical fit it takes.
    uniform = {e.text: {"offense": np.log([0.5, 0.5]), "sentiment": np.log([1 / 3] * 3)} for e in held_out}
    lines: list[str] = []
    tuned, chosen = fit_lexical_tuned(fit, held_out, uniform, grid=(0.001, 10.0), log=lines.append)
    assert chosen == {"offense": 10.0, "sentiment": 10.0}, "a near-constant model (C=0.001) loses on log-loss"
    best = fit_lexical(fit, 10.0, log=lambda _: None)
    assert tuned.weights["offense"] == pytest.approx(best.weights["offense"])
    assert any(line.startswith("lexical offense: held-out log-loss C=0.001:") for line in lines)
    untuned, fallback = fit_lexical_tuned(fit, [], {}, grid=(1.0, DEFAULT_C), log=lambda _: None)
    assert fallback == {"offense": DEFAULT_C, "sentiment": DEFAULT_C}, "no held-out data: the default C"
    assert set(untuned.tasks) == {"offense", "sentiment"}


def test_held_out_log_loss_of_the_encoder_alone_and_of_the_mix(model: LexicalModel) -> None:
    held_out = [e for e in _offense_examples(10) if e.task == "offense"]
    # An encoder that is sure and right: its own loss is small; a mix leaning on the lexical channel is not.
    sure = {e.text: {"offense": np.log([0.1, 0.9] if e.label else [0.9, 0.1])} for e in held_out}
    losses = HeldOut(held_out, sure, model).log_losses({"offense": 0.5})
    assert losses["encoder"] == {"offense": pytest.approx(-np.log(0.9), abs=1e-4)}
    assert set(losses["mixed"]) == {"offense"} and losses["mixed"]["offense"] != losses["encoder"]["offense"]
    alone = HeldOut(held_out, sure, None).log_losses({})
    assert alone["mixed"] == {} and alone["encoder"] == losses["encoder"], "no channel: nothing mixed"


def test_best_share_follows_the_better_channel() -> None:
    labels = np.array([0, 1] * 20)
    informative = np.log(np.where(np.eye(2)[labels] == 1, 0.9, 0.1))
    noise = np.log(np.full((40, 2), 0.5))
    assert best_share(noise, informative, labels) == 1.0
    assert best_share(informative, noise, labels) == 0.0
    assert mixed(informative, noise, 0.0) == pytest.approx(np.exp(informative))


def test_bagged_threshold_takes_the_middle_of_a_perfect_gap() -> None:
    gold = [0, 0, 0, 1, 1, 1] * 5
    scores = [0.1, 0.2, 0.3, 0.7, 0.8, 0.9] * 5
    # every threshold in (0.30, 0.70] separates perfectly: the middle of the 40 grid points 0.31..0.70
    assert bagged_threshold(gold, scores) == 0.51
    assert bagged_threshold([0, 1], [0.05, 0.06]) == pytest.approx(0.06)


def test_macro_f1_curve_agrees_with_the_metric() -> None:
    rng = np.random.default_rng(5)
    gold, scores = rng.integers(0, 2, 200), rng.random(200)
    curve = macro_f1_curve(gold, scores)
    for index in (0, 30, 45, 90):
        predicted = (scores >= THRESHOLD_GRID[index]).astype(int)
        assert curve[index] == pytest.approx(macro_f1(gold.tolist(), predicted.tolist(), 2))


def test_committed_artifacts_stay_small_and_carry_the_lexical_channel() -> None:
    import json

    from classify.model import CONFIG_FILE
    from classify.tagger import ARTIFACTS_DIR

    total = sum(path.stat().st_size for path in ARTIFACTS_DIR.iterdir() if path.is_file())
    assert total < 25 * 1024 * 1024, f"committed artifacts are {total / 2**20:.1f} MiB"
    assert set(LexicalModel.load(ARTIFACTS_DIR).tasks) == {"complaint", "offense", "toxic", "sentiment"}
    mix = json.loads((ARTIFACTS_DIR / CONFIG_FILE).read_text(encoding="utf-8"))["mix"]
    assert {"offense.de", "sentiment.de", "complaint.en"} <= set(mix)
