"""The tagger: transformer heads + exact PII detectors + legal-risk cues + language id, one result per text.

```python
tagger = Tagger.load()                       # committed artifacts, all-MiniLM-L6-v2 from its package
[result] = tagger.tag_batch(["@acme my parcel never arrived"])
result.tags["complaint"], result.tags["topic"], result.scores, result.evidence
```

Bad input never raises: a text that is not a string, or is empty/blank, comes back with every tag false and
``error`` saying why. Long texts are cut to the model's token limit (``tags["truncated"]``); PII and cue
detectors still see the whole text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from classify.batching import CHAR_WINDOW, clean_for_tokenizer
from classify.evaluate import decision_threshold
from classify.inference import Prediction, bf16_supported, predict
from classify.langid import UNDETERMINED, detect_langs
from classify.legal import THRESHOLD as CUE_THRESHOLD
from classify.legal import legal_cues
from classify.lexical import LEXICAL_FILE, LexicalModel, Mixer
from classify.model import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    ArtifactConfig,
    MultiTaskModel,
    load_artifacts,
    store_linear_weights_as_bf16,
)
from classify.pii import find_pii
from classify.spans import Span

ARTIFACTS_DIR = Path(__file__).parent / "artifacts"
CUE_TAGS = ("legal_threat", "regulator", "defamation_risk")
# Thresholds the artifact does not carry: the rule-based cues' own "a cue fired" level.
CUE_THRESHOLDS = {
    tag: CUE_THRESHOLD for tag in ("legal_threat", "regulator", "defamation_risk", "insult_cue")
}
UNKNOWN_LANG = UNDETERMINED  # what language id says of a text it cannot judge


@dataclass
class TagResult:
    """Tags, scores in [0, 1] and evidence (character spans) for one text; ``error`` is set when refused."""

    tags: dict
    scores: dict[str, float]
    evidence: dict[str, list[dict[str, int]]] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict:
        """Plain JSON-ready form (``error`` only when set)."""
        data: dict = {"tags": self.tags, "scores": self.scores, "evidence": self.evidence}
        if self.error is not None:
            data["error"] = self.error
        return data


def refused(reason: str) -> TagResult:
    """The result for an input the tagger cannot judge: nothing flagged, the reason in ``error``."""
    tags: dict[str, object] = {
        "complaint": False,
        "topic": None,
        **{tag: False for tag in CUE_TAGS},
        "insult": False,
        "pii": [],
        "lang": UNKNOWN_LANG,
        "truncated": False,
    }
    scores = {"complaint": 0.0, "topic": 0.0, **{tag: 0.0 for tag in CUE_TAGS}, "insult": 0.0, "pii": 0.0}
    return TagResult(tags, scores, {}, error=reason)


class Tagger:
    """Multi-task transformer tagger; build with :meth:`load`."""

    def __init__(
        self,
        tokenizer: object,
        network: MultiTaskModel,
        config: ArtifactConfig,
        version: str,
        thresholds: Mapping[str, float] | None = None,
        batch_size: int = 64,
        bf16: bool | None = None,
        lexical: LexicalModel | None = None,
    ):
        self.tokenizer = tokenizer
        self.lexical = lexical
        self.network = network
        self.config = config
        self.version = version
        self.thresholds = merge_thresholds({**CUE_THRESHOLDS, **config.thresholds}, thresholds or {})
        self.batch_size = batch_size
        self.bf16 = bf16_supported() if bf16 is None else bf16

    @classmethod
    def load(
        cls,
        model: str | None = None,
        artifacts: Path | str | None = None,
        thresholds: Mapping[str, float] | None = None,
        batch_size: int = 64,
        bf16: bool | None = None,
    ) -> Tagger:
        """Load the encoder (``model``: Hugging Face id or local folder; default: the artifact's base model)
        and the trained heads/layers from ``artifacts`` (default: the committed ``classify/artifacts``).

        ``thresholds`` override the artifact's decision thresholds, e.g. ``{"complaint": 0.6}``; an override
        of ``insult`` replaces its per-language values too. ``bf16`` forces bfloat16 autocast on or off
        (default: on where the CPU supports it natively).
        """
        # Resolved once: a promotion swaps the ``active`` link, and every file must come from one version.
        folder = (Path(artifacts) if artifacts is not None else ARTIFACTS_DIR).resolve()
        tokenizer, network, config = load_artifacts(folder, model)
        bf16 = bf16_supported() if bf16 is None else bf16
        if bf16:
            store_linear_weights_as_bf16(network)  # this network is the Tagger's alone
        return cls(
            tokenizer,
            network,
            config,
            artifact_version(folder, model or config.base_model),
            thresholds,
            batch_size,
            bf16,
            LexicalModel.load(folder) if config.mix else None,  # no shares: the encoder decides alone
        )

    def tag(self, text: str, lang: str | None = None, brand_contacts: Iterable[str] = ()) -> TagResult:
        """Tag one text (see :meth:`tag_batch`)."""
        return self.tag_batch([text], None if lang is None else [lang], brand_contacts)[0]

    def tag_batch(
        self,
        texts: Sequence[str],
        langs: Sequence[str | None] | None = None,
        brand_contacts: Iterable[str] = (),
    ) -> list[TagResult]:
        """Tag many texts at once (batched through the encoder); results are in input order.

        ``langs`` gives known languages (None entries are detected); ``brand_contacts`` are the brand's own
        public contact details, which PII detection does not flag.
        """
        if langs is not None and len(langs) != len(texts):
            raise ValueError(f"langs has {len(langs)} entries for {len(texts)} texts")
        contacts = tuple(brand_contacts)
        results: list[TagResult | None] = [None] * len(texts)
        valid: list[int] = []
        for index, text in enumerate(texts):
            reason = input_problem(text)
            if reason is None:
                valid.append(index)
            else:
                results[index] = refused(reason)
        cleaned = [clean_for_tokenizer(texts[i]) for i in valid]
        languages = self._languages(cleaned, [None if langs is None else langs[i] for i in valid])
        predictions = predict(
            self.tokenizer,
            self.network,
            cleaned,
            max_tokens=self.config.max_tokens,
            batch_size=self.batch_size,
            bf16=self.bf16,
            explain=lambda slot, probs: self._decisions_to_explain(probs, languages[slot]),
            mixer=None
            if self.lexical is None
            else Mixer(self.lexical, cleaned, languages, self.config.mix, self.config.offsets),
        )
        for slot, (index, text, lang) in enumerate(zip(valid, cleaned, languages, strict=True)):
            results[index] = self._compose(text, lang, predictions[slot], contacts)
        return [result for result in results if result is not None]

    def _languages(self, texts: Sequence[str], given: Sequence[str | None]) -> list[str]:
        """The given language of each text, else the detected one (``und`` when unknowable)."""
        languages = [(lang or "").strip().lower() for lang in given]
        unknown = [slot for slot, lang in enumerate(languages) if not lang]
        for slot, lang in zip(unknown, detect_langs([texts[s][:CHAR_WINDOW] for s in unknown]), strict=True):
            languages[slot] = lang
        return languages

    def _decisions_to_explain(self, probs: dict[str, list[float]], lang: str) -> list[tuple[str, int]]:
        decisions = []
        if probs["complaint"][1] >= decision_threshold(self.thresholds, "complaint", lang):
            topic = probs["topic"]
            decisions += [("complaint", 1), ("topic", max(range(len(topic)), key=topic.__getitem__))]
        if probs["offense"][1] >= decision_threshold(self.thresholds, "insult", lang):
            decisions.append(("offense", 1))
        return decisions

    def _compose(self, text: str, lang: str, prediction: Prediction, contacts: tuple[str, ...]) -> TagResult:
        probs, thresholds = prediction.probs, self.thresholds
        complaint_p = probs["complaint"][1]
        is_complaint = complaint_p >= decision_threshold(thresholds, "complaint", lang)
        topic_probs = probs["topic"]
        best_topic = max(range(len(topic_probs)), key=topic_probs.__getitem__)
        cues = legal_cues(text, lang)
        insult_model = probs["offense"][1]
        insult_cue = cues["insult"].score if "insult" in cues else 0.0
        is_insult = (
            insult_model >= decision_threshold(thresholds, "insult", lang)
            or insult_cue >= thresholds["insult_cue"]
        )
        pii = [
            {"type": s.type, "start": s.start, "end": s.end} for s in find_pii(text, brand_contacts=contacts)
        ]
        tags: dict = {
            "complaint": is_complaint,
            "topic": self.config.tasks["topic"][best_topic] if is_complaint else None,
        }
        scores = {"complaint": complaint_p, "topic": topic_probs[best_topic] if is_complaint else 0.0}
        evidence: dict[str, list[dict[str, int]]] = {}
        for tag in CUE_TAGS:
            cue = cues.get(tag)
            score = float(cue.score) if cue is not None else 0.0
            tags[tag], scores[tag] = score >= thresholds[tag], score
            if tags[tag] and cue is not None:
                evidence[tag] = decisive_spans(cue.evidence, thresholds[tag])
        tags.update({"insult": is_insult, "pii": pii, "lang": lang, "truncated": prediction.truncated})
        scores.update({"insult": max(insult_model, insult_cue), "pii": 1.0 if pii else 0.0})
        if is_complaint:
            evidence["complaint"] = as_dicts(prediction.evidence.get("complaint", []))
            evidence["topic"] = as_dicts(prediction.evidence.get("topic", []))
        if is_insult:
            spans = set(prediction.evidence.get("offense", []))
            if insult_cue >= thresholds["insult_cue"]:
                spans |= {
                    (s["start"], s["end"])
                    for s in decisive_spans(cues["insult"].evidence, thresholds["insult_cue"])
                }
            evidence["insult"] = as_dicts(sorted(spans))
        return TagResult(tags, {k: round(float(v), 4) for k, v in scores.items()}, evidence)


def input_problem(text: object) -> str | None:
    """Why a text cannot be tagged, or None if it can."""
    if not isinstance(text, str):
        return f"not a string (got {type(text).__name__})"
    if not text.strip():
        return "empty text"
    return None


def decisive_spans(spans: Iterable[Span], threshold: float) -> list[dict[str, int]]:
    """The cue's trigger spans that reach the threshold (negated or quoted mentions are not evidence)."""
    spans = list(spans)
    strong = [s for s in spans if s.score >= threshold] or spans
    return [s.to_evidence() for s in sorted(strong, key=lambda s: s.start)]


def as_dicts(spans: Iterable[tuple[int, int]]) -> list[dict[str, int]]:
    return [{"start": start, "end": end} for start, end in spans]


def merge_thresholds(defaults: Mapping[str, float], overrides: Mapping[str, float]) -> dict[str, float]:
    """Apply user thresholds over the defaults; ``tag`` also replaces that tag's ``tag.<lang>`` values."""
    merged = dict(defaults)
    known = {key.split(".")[0] for key in defaults}
    for key, value in overrides.items():
        if key.split(".")[0] not in known:
            raise ValueError(f"unknown threshold {key!r}; known: {sorted(known)}")
        if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"threshold {key!r} must be a number in [0, 1], got {value!r}")
        if "." not in key:
            merged = {k: v for k, v in merged.items() if not k.startswith(f"{key}.")}
        merged[key] = float(value)
    return merged


def artifact_version(folder: Path, model: str) -> str:
    """Model id + a short hash of the trained artifact files, stored with each classification."""
    digest = hashlib.sha256()
    for name in (CONFIG_FILE, WEIGHTS_FILE, LEXICAL_FILE):
        if (folder / name).exists():
            digest.update((folder / name).read_bytes())
    return f"{model}@{digest.hexdigest()[:12]}"
