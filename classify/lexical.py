"""The lexical channel: hashed character and word n-grams, one linear model per task.

Why a second channel: the default encoder (all-MiniLM-L6-v2) was pre-trained on English, so German words fall
apart into many meaningless word pieces and the German heads trail the English ones. A linear model over
character n-grams reads German morphology directly ("Verspätung", "Drecks…", "Zugbegleiter"), trains in
seconds on a CPU, and makes different mistakes from the encoder. The tagger mixes both channels'
log-probabilities per task and language (:class:`Mixer`), with weights fitted on held-out training data.
On the dev splits the mix took GermEval 2018 from 0.70 (encoder alone) to 0.75 and GermEval 2017 from 0.70 to
0.74 (figures in ``MODEL_CARD.md``).

Features are hashed (no vocabulary to store): character 2-5-grams inside word boundaries and word
1-2-grams, each into :data:`BUCKETS` buckets, log-scaled counts, L2-normalised, plus one token naming the
language so each language gets its own bias. The weights are stored as float16 in ``lexical.safetensors``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path

import numpy as np
from scipy import sparse

from classify.data import TASKS, Example

LEXICAL_FILE = "lexical.safetensors"
BUCKETS = 2**18  # per analyzer; more buckets did not help on the dev splits and cost artifact size
# The heads the lexical channel serves. Topic stays encoder-only: its 8 classes would triple the file.
LEXICAL_TASKS = ("complaint", "offense", "toxic", "sentiment")
DEFAULT_C = 3.0  # one C for every task, when the caller fixes it
# Regularisation strengths tried per task when training picks C on held-out data (classify.tuning): one C
# for all tasks left the complaint and offense channels underfitted (held-out log-loss of the mix 0.314 and
# 0.453 at C=3, 0.312 and 0.447 at 10). C=30 was the worst of 1, 3, 10, 30 for every task and took the
# longest to fit, so the grid stops at 10. Checked again with the fits run to LBFGS_TOL (2026-12-07): C=30
# and C=100 were worse than 10 for every task (complaint 0.3176, 0.3214, 0.3306).
C_GRID = (1.0, 3.0, 10.0)
# L-BFGS stops once its gradient is this small. At sklearn's default (1e-4) the offense fit (17,388 texts,
# C=10) stopped after 95 iterations with held-out logits up to 0.46 (mean 0.10) from the optimum, and two
# machines fitted visibly different channels from the same data (the German insult threshold moved from
# 0.42 to 0.50). At 1e-6 they are within 0.003 of it, for three times the fit time (8 s to 25 s).
LBFGS_TOL = 1e-6
EVIDENCE_WINDOW = 4096  # characters searched for evidence words
_WORD = re.compile(r"\w+")


def _vectorizers() -> tuple:
    from sklearn.feature_extraction.text import HashingVectorizer

    common = {"n_features": BUCKETS, "alternate_sign": False, "norm": None, "lowercase": True}
    chars = HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5), **common)
    words = HashingVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b", **common)
    return chars, words


class Featurizer:
    """Texts (and their languages) to L2-normalised sparse n-gram rows; stateless, so nothing is stored."""

    def __init__(self) -> None:
        self._chars, self._words = _vectorizers()

    @property
    def width(self) -> int:
        return 2 * BUCKETS

    def transform(self, texts: Sequence[str], langs: Sequence[str]) -> sparse.csr_matrix:
        from sklearn.preprocessing import normalize

        if len(texts) != len(langs):
            raise ValueError(f"{len(langs)} languages for {len(texts)} texts")
        words = self._words.transform(texts) + self._words.transform([f"__lang_{lang}__" for lang in langs])
        rows = sparse.hstack([self._chars.transform(texts), words]).tocsr()
        rows.data = np.log1p(rows.data)
        return normalize(rows)

    def word_rows(self, words: Sequence[str]) -> sparse.csr_matrix:
        """Each word's own n-grams, unnormalised: what that word alone adds to a text's row (float32: they are
        only ever multiplied by float32 weights, which float64 rows would make scipy copy)."""
        rows = sparse.hstack([self._chars.transform(words), self._words.transform(words)]).tocsr()
        rows.data = np.log1p(rows.data)
        return rows.astype(np.float32)


class LexicalModel:
    """One linear model per task over :class:`Featurizer` rows.

    Binary tasks keep sklearn's single weight row (logit of "yes"); multi-class tasks one row per class.
    """

    def __init__(self, weights: Mapping[str, np.ndarray], biases: Mapping[str, np.ndarray]):
        # Held at the float16 precision they are stored in (:meth:`save`), so the channel that the shares and
        # thresholds are fitted with is the one that ships: at float32 the English complaint threshold came
        # out 0.55 in training and 0.57 when refitted on the saved channel (2026-12-07).
        self.weights = {task: np.asarray(w, np.float16).astype(np.float32) for task, w in weights.items()}
        self.biases = {task: np.asarray(b, dtype=np.float32) for task, b in biases.items()}
        self.featurizer = Featurizer()

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.weights)

    def log_probs(self, texts: Sequence[str], langs: Sequence[str]) -> dict[str, np.ndarray]:
        """Per task, an (n_texts, n_classes) array of log-probabilities."""
        # float32 rows against one float32 matrix: float64 rows made scipy copy every weight matrix to float64
        # on every call, and one product over all tasks reads each feature's weights from one cache line.
        rows = self.featurizer.transform(texts, langs).astype(np.float32)
        all_scores = np.asarray(rows @ self._stacked)
        out, start = {}, 0
        for task, weight in self.weights.items():
            scores = all_scores[:, start : start + len(weight)] + self.biases[task]
            start += len(weight)
            logits = np.hstack([np.zeros_like(scores), scores]) if scores.shape[1] == 1 else scores
            out[task] = logits - _logsumexp(logits)
        return out

    @cached_property
    def _stacked(self) -> np.ndarray:
        """(features, rows of all tasks): every task's weight rows side by side, in :attr:`weights` order."""
        return np.ascontiguousarray(np.concatenate(list(self.weights.values()), axis=0).T)

    def word_scores(self, text: str, task: str, cls: int) -> dict[tuple[int, int], float]:
        """How much each word of ``text`` pushes ``task`` towards class ``cls`` (positive pushes only)."""
        return self.word_table([text])[0].scores(task, cls)

    def word_table(self, texts: Sequence[str]) -> list[WordTable]:
        """Every word's push on every (task, class), for many texts with one featurizer call."""
        spans = [[(m.start(), m.end()) for m in _WORD.finditer(t[:EVIDENCE_WINDOW])] for t in texts]
        words = [text[a:b] for text, text_spans in zip(texts, spans, strict=True) for a, b in text_spans]
        scores = np.zeros((0, 0))
        if words:
            # Features are lower-cased, so a word's push depends on its lower-case form only: hash each
            # distinct form once (most words of a batch repeat).
            forms = {form: row for row, form in enumerate(dict.fromkeys(w.lower() for w in words))}
            by_form = np.asarray(self.featurizer.word_rows(list(forms)) @ self._directions)
            scores = by_form[[forms[w.lower()] for w in words]]
        tables, start = [], 0
        for text_spans in spans:
            tables.append(WordTable(text_spans, scores[start : start + len(text_spans)], self._columns))
            start += len(text_spans)
        return tables

    @cached_property
    def _columns(self) -> dict[tuple[str, int], int]:
        pairs = [(task, cls) for task, weight in self.weights.items() for cls in range(max(2, len(weight)))]
        return {pair: column for column, pair in enumerate(pairs)}

    @cached_property
    def _directions(self) -> np.ndarray:
        """(features, task-classes): the weight direction of each class against the task's other classes."""
        columns = []
        for weight in self.weights.values():
            if weight.shape[0] == 1:
                columns += [-weight[0], weight[0]]
            else:
                total = weight.sum(axis=0)
                columns += [row - (total - row) / (len(weight) - 1) for row in weight]
        return np.stack(columns, axis=1)

    def save(self, out_dir: Path) -> None:
        from safetensors.numpy import save_file

        tensors = {f"{task}.weight": w.astype(np.float16) for task, w in self.weights.items()}
        tensors |= {f"{task}.bias": b.astype(np.float32) for task, b in self.biases.items()}
        save_file(tensors, str(Path(out_dir) / LEXICAL_FILE))

    @classmethod
    def load(cls, folder: Path) -> LexicalModel | None:
        """The lexical channel stored in ``folder``, or None when the artifact has none (encoder only)."""
        path = Path(folder) / LEXICAL_FILE
        if not path.exists():
            return None
        from safetensors.numpy import load_file

        tensors = load_file(str(path))
        tasks = sorted({name.rsplit(".", 1)[0] for name in tensors})
        expected = 2 * BUCKETS
        for task in tasks:
            if task not in TASKS or tensors[f"{task}.weight"].shape[1] != expected:
                raise ValueError(f"{path}: {task!r} does not fit this tagger's {expected} lexical features")
        weights = {task: tensors[f"{task}.weight"] for task in tasks}
        return cls(weights, {task: tensors[f"{task}.bias"] for task in tasks})


def _logsumexp(logits: np.ndarray) -> np.ndarray:
    top = logits.max(axis=1, keepdims=True)
    return top + np.log(np.exp(logits - top).sum(axis=1, keepdims=True))


def fit_lexical(
    examples: Sequence[Example], c: float | Mapping[str, float] = DEFAULT_C, log=print
) -> LexicalModel:
    """Fit one logistic regression per task of :data:`LEXICAL_TASKS` on ``examples``.

    ``c``: the inverse regularisation strength, one for all tasks or one per task (a task missing from the
    mapping gets :data:`DEFAULT_C`). Binary tasks weigh classes by inverse frequency (their thresholds are
    tuned afterwards anyway); the sentiment task keeps the natural class balance, because its benchmark
    figure is accuracy.
    """
    from sklearn.linear_model import LogisticRegression

    featurizer = Featurizer()
    by_task: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        if example.task in LEXICAL_TASKS:
            by_task[example.task].append(example)
    weights, biases = {}, {}
    for task, items in sorted(by_task.items()):
        labels = np.array([e.label for e in items])
        if len(set(labels.tolist())) < 2:
            continue
        rows = featurizer.transform([e.text for e in items], [e.lang for e in items])
        binary = len(TASKS[task]) == 2
        strength = c.get(task, DEFAULT_C) if isinstance(c, Mapping) else c
        balance = "balanced" if binary else None
        regression = LogisticRegression(C=strength, max_iter=3000, class_weight=balance, tol=LBFGS_TOL)
        regression.fit(rows, labels)
        weights[task], biases[task] = _full_rows(regression, len(TASKS[task]), binary)
        log(f"lexical {task}: {len(items)} examples, C={strength:g}")
    return LexicalModel(weights, biases)


def _full_rows(regression: object, n_classes: int, binary: bool) -> tuple[np.ndarray, np.ndarray]:
    """The regression's weights with one row per class (a class absent from training gets -inf-like bias)."""
    coef, intercept = regression.coef_, regression.intercept_  # type: ignore[attr-defined]
    if binary:
        return coef.astype(np.float32), intercept.astype(np.float32)
    weight = np.zeros((n_classes, coef.shape[1]), dtype=np.float32)
    bias = np.full(n_classes, -30.0, dtype=np.float32)
    for row, label in enumerate(regression.classes_):  # type: ignore[attr-defined]
        weight[int(label)], bias[int(label)] = coef[row], intercept[row]
    return weight, bias


def combine(models: Mapping[str, LexicalModel]) -> LexicalModel:
    """One model taking each task's weights from the model named for it (``{task: model}``)."""
    return LexicalModel(
        {task: model.weights[task] for task, model in models.items()},
        {task: model.biases[task] for task, model in models.items()},
    )


class WordTable:
    """One text's words (character spans) and their push on each (task, class)."""

    def __init__(self, spans: list[tuple[int, int]], scores: np.ndarray, columns: dict[tuple[str, int], int]):
        self.spans, self._scores, self._columns = spans, scores, columns

    def scores(self, task: str, cls: int) -> dict[tuple[int, int], float]:
        """Words pushing ``task`` towards ``cls`` (positive pushes only); empty for an unknown task."""
        column = self._columns.get((task, cls))
        if column is None or not self.spans:
            return {}
        values = self._scores[:, column]
        return {span: float(v) for span, v in zip(self.spans, values, strict=True) if v > 0}


def mixed(
    encoder: np.ndarray, lexical: np.ndarray, share: float | np.ndarray, offset: float | np.ndarray = 0.0
) -> np.ndarray:
    """Probabilities of the weighted geometric mean of two log-probability arrays (``share``: the lexical
    channel's weight, one number or a column of one per row), with ``offset`` added to the logits (one per
    class, or one row per text)."""
    logits = (1 - share) * encoder + share * lexical + offset
    return np.exp(logits - _logsumexp(logits))


def mix_weight(weights: Mapping[str, float], task: str, lang: str) -> float:
    """The lexical channel's share for ``task`` in ``lang``: ``task.lang``, else ``task``, else 0."""
    return float(weights.get(f"{task}.{lang}", weights.get(task, 0.0)))


def class_offset(offsets: Mapping[str, Sequence[float]], task: str, lang: str, n_classes: int) -> np.ndarray:
    """The logit offsets of ``task`` in ``lang``: ``task.lang``, else ``task``, else zeros."""
    values = offsets.get(f"{task}.{lang}", offsets.get(task))
    if values is None or len(values) != n_classes:
        return np.zeros(n_classes, dtype=np.float32)
    return np.asarray(values, dtype=np.float32)


class Mixer:
    """Mixes the encoder's log-probabilities with the lexical channel's, per text.

    ``p ∝ exp((1 - w) · log p_encoder + w · log p_lexical + b)``: a weighted geometric mean, with ``w`` per
    task and language from the artifact (:func:`mix_weight`), and ``b`` the artifact's class offsets for
    multi-class tasks (:func:`class_offset`; zeros when it has none).
    """

    def __init__(
        self,
        model: LexicalModel,
        texts: Sequence[str],
        langs: Sequence[str],
        weights: Mapping[str, float],
        offsets: Mapping[str, Sequence[float]] | None = None,
    ):
        self.model, self.texts = model, texts
        self._tables: dict[int, WordTable] = {}
        self.log_probs = model.log_probs(texts, langs)
        self.shares = {
            task: np.array([mix_weight(weights, task, lang) for lang in langs], dtype=np.float32)
            for task in self.log_probs
        }
        # Only tasks that have offsets get rows: the others (the binary tags) add nothing per batch.
        self.offsets = {
            task: np.stack([class_offset(offsets, task, lang, values.shape[1]) for lang in langs])
            for task, values in self.log_probs.items()
            if offsets and any(name.split(".")[0] == task for name in offsets)
        }

    def share(self, index: int, task: str) -> float:
        """The lexical share for the text at ``index`` (0 for a task the lexical channel does not serve)."""
        return float(self.shares[task][index]) if task in self.shares else 0.0

    def prepare_evidence(self, indices: Sequence[int]) -> None:
        """Score the words of the texts at ``indices`` in one go (before asking :meth:`word_scores`)."""
        tables = self.model.word_table([self.texts[i] for i in indices])
        self._tables = dict(zip(indices, tables, strict=True))

    def word_scores(self, index: int, task: str, cls: int) -> dict[tuple[int, int], float]:
        """The lexical channel's word evidence for the text at ``index``."""
        if index not in self._tables:
            self.prepare_evidence([index])
        return self._tables[index].scores(task, cls)

    def mix(self, task: str, indices: Sequence[int], encoder_log_probs: np.ndarray) -> np.ndarray:
        """Probabilities of ``task`` for the texts at ``indices``, given the encoder's log-probabilities."""
        if task not in self.log_probs:
            return np.exp(encoder_log_probs)
        rows = list(indices)
        share = self.shares[task][rows][:, None]
        offset = self.offsets[task][rows] if task in self.offsets else 0.0
        return mixed(encoder_log_probs, self.log_probs[task][rows], share, offset)
