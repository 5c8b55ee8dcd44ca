"""Labeled training and evaluation examples, read from the shared JSONL datasets.

Each dataset folder under ``data_dir`` holds ``train.jsonl`` and ``dev.jsonl`` (one JSON object per line with
``text``, ``lang``, ``label`` and ``labels``). This module turns them into :class:`Example` records, one per
(text, task) pair, for the multi-task heads declared in :data:`TASKS`.

Topic labels come from two datasets whose categories are mapped onto our topics (documented in
``MODEL_CARD.md``): the airline tweets' ``negative_reason`` (English) and the GermEval 2017 Deutsche Bahn
aspect categories of negative opinions (German).

One dataset ships with the package (:data:`BUNDLED_DIR`): ``complaints_de_posts``, our own annotated German
customer posts (complaint or not, with a topic), because none of the public sets has German complaint
labels. A dataset of the same name under ``data_dir`` takes its place.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

TOPICS = (
    "delivery",
    "billing",
    "contract_cancellation",
    "product_defect",
    "service_reachability",
    "account_access",
    "privacy_data",
    "other",
)

# Every head of the network and its class names. Binary heads are ("no", "yes").
TASKS: dict[str, tuple[str, ...]] = {
    "complaint": ("no", "yes"),
    "topic": TOPICS,
    "offense": ("no", "yes"),
    "toxic": ("no", "yes"),
    "sentiment": ("negative", "neutral", "positive"),
}

# Airline tweets (US carriers, English): why a negative tweet is negative -> our topic.
AIRLINE_REASON_TOPIC = {
    "Late Flight": "delivery",  # the service was not delivered as promised (on time)
    "Lost Luggage": "delivery",  # the customer's goods did not arrive
    "Cancelled Flight": "contract_cancellation",  # the booked contract was cancelled, refunds/rebooking
    "Flight Booking Problems": "billing",  # ordering and paying
    "Customer Service Issue": "service_reachability",  # could not get (good) help from support
    "longlines": "service_reachability",  # waiting to be served
    "Damaged Luggage": "product_defect",
    "Bad Flight": "product_defect",  # the product itself (the flight) was faulty
    "Flight Attendant Complaints": "other",  # staff conduct: none of our topics
    "Can't Tell": "other",
}

# GermEval 2017 (Deutsche Bahn feedback, German): aspect category prefix -> our topic.
DB_ASPECT_TOPIC = {
    "Sonstige_Unregelmässigkeiten": "delivery",  # delays, cancellations, disruptions
    "Zugfahrt#Pünktlichkeit": "delivery",
    "Zugfahrt#Anschlusserreichung": "delivery",
    "Zugfahrt#Streckennetz": "delivery",
    "Zugfahrt#Fahrtzeit_und_Schnelligkeit": "delivery",
    "Gepäck": "delivery",
    "Ticketkauf": "billing",
    "Gastronomisches_Angebot#Preise": "billing",
    "Service_und_Kundenbetreuung": "service_reachability",
    "Informationen": "service_reachability",
    "DB_App_und_Website": "account_access",  # the customer's digital access to the service
    "Connectivity": "product_defect",
    "Komfort_und_Ausstattung": "product_defect",
    "Toiletten": "product_defect",
    "Zugfahrt#Technische_Schäden_und_Störungen_am_Zug": "product_defect",
    "Atmosphäre": "product_defect",
}

DATASETS = (
    "complaints_preotiuc2019",
    "complaints_de_posts",
    "airline_twitter_sentiment",
    "germeval2017_db",
    "germeval2018_offense",
    "germeval2019_offense",
    "germeval2021_toxic",
    "olid_offenseval2019",
)


@dataclass(frozen=True)
class Example:
    """One text labeled for one task; ``label`` indexes ``TASKS[task]``."""

    text: str
    lang: str
    task: str
    label: int
    dataset: str


class DataError(ValueError):
    """A dataset file or a correction record is malformed."""


def read_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for a JSONL file, naming file and line on a malformed line."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise DataError(f"{path}:{number}: expected an object with a string 'text'")
            yield number, record


def file_sha256(path: Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# Datasets shipped with the package (see the module docstring and ``annotated/README.md``).
BUNDLED_DIR = Path(__file__).parent / "annotated"


def dataset_files(data_dir: Path, split: str) -> list[Path]:
    """The JSONL files of ``split`` for every known dataset under ``data_dir`` or bundled with the package
    (``data_dir``'s copy of a dataset wins)."""
    files = []
    for name in DATASETS:
        for root in (data_dir, BUNDLED_DIR):
            if (root / name / f"{split}.jsonl").exists():
                files.append(root / name / f"{split}.jsonl")
                break
    return files


def load_split(data_dir: Path, split: str) -> list[Example]:
    """All examples of one split (``train`` or ``dev``) across the known datasets."""
    examples: list[Example] = []
    for path in dataset_files(Path(data_dir), split):
        name = path.parent.name
        for number, record in read_jsonl(path):
            try:
                examples.extend(_examples_from(name, record))
            except DataError as exc:
                raise DataError(f"{path}:{number}: {exc}") from exc
    return examples


# Sentiment datasets of customer feedback whose negative posts are complaints (weak labels, see below).
WEAK_COMPLAINT_SOURCES = ("airline_twitter_sentiment", "germeval2017_db")


def weak_complaint_examples(examples: Iterable[Example]) -> list[Example]:
    """Complaint labels derived from customer-feedback sentiment: negative = complaint, else not.

    Airline tweets addressed to carriers and Deutsche Bahn feedback are customer voices, so a negative one
    is (nearly always) a complaint. This gives the complaint head German examples, which the English-only
    complaint corpus lacks. Weak: neutral reports of a problem count as "no".
    """
    negative = TASKS["sentiment"].index("negative")
    return [
        Example(e.text, e.lang, "complaint", _yes_no(e.label == negative), e.dataset)
        for e in examples
        if e.task == "sentiment" and e.dataset in WEAK_COMPLAINT_SOURCES
    ]


def _yes_no(flag: bool) -> int:
    return 1 if flag else 0


def _examples_from(dataset: str, record: dict) -> list[Example]:
    """The examples of one record of ``dataset``; :class:`DataError` names a missing or unknown label."""
    labels = record.get("labels") or {}
    if not isinstance(labels, dict):
        raise DataError(f"'labels' must be an object, got {type(labels).__name__}")
    try:
        return _labelled_examples(dataset, record, labels)
    except KeyError as exc:
        field = exc.args[0] if exc.args[0] == "label" else f"labels.{exc.args[0]}"
        raise DataError(f"a {dataset} record needs {field}") from exc


def _class_index(classes: Sequence[object], value: object, field: str) -> int:
    if value not in classes:
        raise DataError(f"{field} value {value!r} is not one of {list(classes)}")
    return list(classes).index(value)


def _is_yes(value: object, yes: object, no: object, field: str) -> int:
    """1 for ``yes``, 0 for ``no``; any other value is refused (a typo must not become a silent "no")."""
    return _class_index((no, yes), value, field)


def _labelled_examples(dataset: str, record: dict, labels: dict) -> list[Example]:
    text, lang = record["text"], record.get("lang", "und")

    def make(task: str, label: int) -> Example:
        return Example(text, lang, task, label, dataset)

    if dataset == "complaints_preotiuc2019":
        return [make("complaint", _is_yes(record["label"], "complaint", "not_complaint", "label"))]
    if dataset == "complaints_de_posts":
        out = [make("complaint", _is_yes(record["label"], "complaint", "not_complaint", "label"))]
        if labels.get("topic") is not None:
            out.append(make("topic", _class_index(TOPICS, labels["topic"], "labels.topic")))
        return out
    if dataset in ("germeval2018_offense", "germeval2019_offense"):
        return [make("offense", _is_yes(labels["coarse"], "OFFENSE", "OTHER", "labels.coarse"))]
    if dataset == "olid_offenseval2019":
        return [make("offense", _is_yes(labels["a"], "OFF", "NOT", "labels.a"))]
    if dataset == "germeval2021_toxic":
        return [make("toxic", _is_yes(str(labels["toxic"]), "1", "0", "labels.toxic"))]
    if dataset == "airline_twitter_sentiment":
        out = [make("sentiment", _class_index(TASKS["sentiment"], labels["sentiment"], "labels.sentiment"))]
        topic = AIRLINE_REASON_TOPIC.get(labels.get("negative_reason") or "")
        if topic is not None:
            out.append(make("topic", TOPICS.index(topic)))
        return out
    if dataset == "germeval2017_db":
        out = [make("sentiment", _class_index(TASKS["sentiment"], labels["sentiment"], "labels.sentiment"))]
        topic = _db_topic(labels.get("aspects") or [])
        if topic is not None:
            out.append(make("topic", TOPICS.index(topic)))
        return out
    raise DataError(f"unknown dataset {dataset!r}")


def _db_topic(aspects: Iterable[str]) -> str | None:
    """The topic of the first negative, mapped aspect of a Deutsche Bahn document (None if there is none)."""
    for aspect in aspects:
        category, _, polarity = aspect.rpartition(":")
        if polarity != "negative":
            continue
        for prefix, topic in DB_ASPECT_TOPIC.items():
            if category.startswith(prefix):
                return topic
    return None


# Reviewer corrections name a tag; this is the head that learns it.
CORRECTION_FIELD_TASK = {
    "complaint": "complaint",
    "topic": "topic",
    "insult": "offense",
    "sentiment": "sentiment",
}


def corrections_to_examples(records: Iterable[dict]) -> list[Example]:
    """Turn reviewer corrections ``{"text", "lang", "field", "value"}`` into examples.

    ``field`` is a tag name (complaint, topic, insult, sentiment); ``value`` a bool for the binary tags, a
    class name for topic and sentiment. Raises :class:`DataError` naming the record index when one is invalid.
    """
    examples = []
    for index, record in enumerate(records):
        field, value, text = record.get("field"), record.get("value"), record.get("text")
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"correction {index}: 'text' must be a non-empty string")
        task = CORRECTION_FIELD_TASK.get(str(field))
        if task is None:
            raise DataError(
                f"correction {index}: field {field!r} is not one of {sorted(CORRECTION_FIELD_TASK)}"
            )
        classes = TASKS[task]
        if classes == ("no", "yes"):
            if not isinstance(value, bool):
                raise DataError(f"correction {index}: {field} needs a true/false value, got {value!r}")
            label = _yes_no(value)
        elif value in classes:
            label = classes.index(value)
        else:
            raise DataError(f"correction {index}: {field} value {value!r} is not one of {list(classes)}")
        examples.append(Example(text, str(record.get("lang") or "und"), task, label, "corrections"))
    return examples
