"""Legal-risk cues in German and English, their hard cases, evidence offsets, robustness; the eval set."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from classify.cue_context import Context, obfuscation_tolerant
from classify.eval_legal import TARGET_F1, evaluate_detectors, match_spans, spans_match
from classify.legal import THRESHOLD, Cue, legal_cues
from classify.legal_lexicon import TAGS

EVAL_DATA = Path(__file__).resolve().parent.parent / "classify" / "eval_data"

# (text, lang, tag, expected present?) — both languages, and the hard cases the issue names.
CASES = [
    # legal_threat
    ("Ich schalte jetzt meinen Anwalt ein, das war's.", "de", "legal_threat", True),
    ("Wenn bis Montag nichts passiert, verklage ich euch.", "de", "legal_threat", True),
    ("Mahnbescheid ist beantragt.", "de", "legal_threat", True),
    (
        "Ich setze euch eine Frist bis zum 30.11., danach trete ich vom Vertrag zurück.",
        "de",
        "legal_threat",
        True,
    ),
    ("Ich will keinen Anwalt, nur mein Geld.", "de", "legal_threat", False),
    ("Laut Spiegel wurde die Firma von Kunden verklagt.", "de", "legal_threat", False),
    ("Hat das Amtsgericht schon entschieden?", "de", "legal_threat", False),
    ("Das Gericht im Bordbistro war kalt.", "de", "legal_threat", False),
    ("My lawyer will be in touch.", "en", "legal_threat", True),
    ("Refund me within 14 days or I will take you to small claims court.", "en", "legal_threat", True),
    ("Consider this a cease and desist.", "en", "legal_threat", True),
    ("No need for lawyers, just fix my bill.", "en", "legal_threat", False),
    ("Reuters: airline sued by passengers over fees.", "en", "legal_threat", False),
    ("The food court is the only thing open.", "en", "legal_threat", False),
    ("The agent told me 'sue us if you want'.", "en", "legal_threat", False),
    # regulator
    ("Ich melde das der Bundesnetzagentur.", "de", "regulator", True),
    ("Beschwerde bei der BaFin ist eingereicht.", "de", "regulator", True),
    ("Nächster Schritt: Schlichtungsstelle Energie.", "de", "regulator", True),
    ("BNetzA veröffentlicht Bericht zum Netzausbau.", "de", "regulator", False),
    ("Ich melde das nicht der BNetzA, keine Sorge.", "de", "regulator", False),
    ("Filed a complaint with the CFPB today.", "en", "regulator", True),
    ("Reporting you to the FCC.", "en", "regulator", True),
    ("Ofcom report says complaints fell this year.", "en", "regulator", False),
    ("The fcc in my notes means 'first call contact'.", "en", "regulator", False),
    # defamation_risk
    ("Das ist Betrug, ihr bucht doppelt ab!", "de", "defamation_risk", True),
    ("Ihr habt mir 50 € geklaut.", "de", "defamation_risk", True),
    ("Ich finde, das fühlt sich an wie Abzocke.", "de", "defamation_risk", False),
    ("Ist das Betrug oder ein Fehler?", "de", "defamation_risk", False),
    ("Achtung, Betrüger verschicken SMS im Namen der Bank!", "de", "defamation_risk", False),
    ("Mein Paket wurde vor der Haustür gestohlen.", "de", "defamation_risk", False),
    ("You stole my deposit.", "en", "defamation_risk", True),
    ("This company is a scam.", "en", "defamation_risk", True),
    ("I feel like the fees are a bit of a rip-off.", "en", "defamation_risk", False),
    ("In my opinion it's borderline theft.", "en", "defamation_risk", False),
    ("Not saying it's fraud, but the billing is a mess.", "en", "defamation_risk", False),
    ("Heads up: scammers are sending fake delivery texts.", "en", "defamation_risk", False),
    # insult
    ("Ihr seid alle Idioten.", "de", "insult", True),
    ("Unfähige Deppen in der Hotline.", "de", "insult", True),
    ("Ihr Id!oten habt es wieder verbockt.", "de", "insult", True),
    ("Der Typ war ein A****loch.", "de", "insult", True),
    ("Schlechter Service, lange Wartezeiten.", "de", "insult", False),
    ("Die App ist idiotensicher.", "de", "insult", False),
    ("Ich Idiot hab das Ticket vergessen.", "de", "insult", False),
    ("Der Mitarbeiter hat mich als Idiot bezeichnet.", "de", "insult", False),
    ("Your agents are morons.", "en", "insult", True),
    ("f*ck you and your hotline", "en", "insult", True),
    ("What a bunch of clowns.", "en", "insult", True),
    ("The guy was a total a**hole.", "en", "insult", True),
    ("u r all m0r0ns", "en", "insult", True),
    ("I'm such an idiot, wrong date booked.", "en", "insult", False),
    ("The app is supposed to be idiot-proof.", "en", "insult", False),
    ("This is fucking ridiculous.", "en", "insult", False),
]


@pytest.mark.parametrize(
    ("text", "lang", "tag", "expected"), CASES, ids=[f"{c[2]}:{c[0][:40]}" for c in CASES]
)
def test_cue_decisions(text: str, lang: str, tag: str, expected: bool) -> None:
    cue = legal_cues(text, lang)[tag]
    assert cue.present is expected, (cue.score, cue.evidence)


def test_scores_are_calibrated_by_context() -> None:
    clear = legal_cues("Ich verklage euch, mein Anwalt ist informiert.", "de")["legal_threat"].score
    bare = legal_cues("Klage eingereicht.", "de")["legal_threat"].score
    negated = legal_cues("Ich will keinen Anwalt.", "de")["legal_threat"].score
    asked = legal_cues("Braucht man dafür einen Anwalt?", "de")["legal_threat"].score
    assert clear >= 0.9
    assert THRESHOLD <= bare < clear
    assert negated <= 0.1
    assert negated < asked < THRESHOLD


def test_evidence_spans_are_the_trigger_words() -> None:
    text = "Ihr Idioten habt mein Geld geklaut, ich gehe zur Verbraucherzentrale und zum Anwalt."
    cues = legal_cues(text, "de")
    words = {tag: [text[s.start : s.end] for s in cue.evidence] for tag, cue in cues.items()}
    assert words == {
        "legal_threat": ["Anwalt"],
        "regulator": ["Verbraucherzentrale"],
        "defamation_risk": ["geklaut"],
        "insult": ["Idioten"],
    }
    assert all(0.0 <= span.score <= cue.score for cue in cues.values() for span in cue.evidence)


def test_every_tag_is_returned_even_without_triggers() -> None:
    cues = legal_cues("Danke, heute alles pünktlich!", "de")
    assert set(cues) == set(TAGS)
    assert all(cue == Cue() and not cue.present for cue in cues.values())


def test_english_posts_skip_the_german_lexicon_others_use_both() -> None:
    text = "My Anwalt friend says hi"
    assert legal_cues(text, "en")["legal_threat"].evidence == ()
    assert legal_cues(text, None)["legal_threat"].evidence
    assert legal_cues("Das ist ein Scam!", "de")["defamation_risk"].present


def test_acronyms_are_case_sensitive() -> None:
    assert legal_cues("Reported them to the FTC.", "en")["regulator"].present
    assert not legal_cues("Reported them to the ftc.", "en")["regulator"].evidence


def test_offsets_stay_exact_when_lowercasing_changes_length() -> None:
    text = "İİİ Istanbul-Flug gestrichen, ich verklage euch!"
    assert len(text.lower()) != len(text)
    (span,) = legal_cues(text, "de")["legal_threat"].evidence
    assert text[span.start : span.end] == "verklage"


# --- helpers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "variant", "matches"),
    [
        ("idioten", "Id!oten", True),
        ("idioten", "1d10ten", True),
        ("fuck you", "F***  you", True),
        ("asshole", "a**hole", True),
        ("asshole", "**shole", False),  # a masked first letter would match anything
        ("moron", "moran", False),
    ],
)
def test_obfuscation_tolerant_patterns(word: str, variant: str, matches: bool) -> None:
    import re

    assert bool(re.fullmatch(obfuscation_tolerant(word), variant, re.IGNORECASE)) is matches


def test_context_sentences_ignore_dates_and_abbreviations() -> None:
    text = "Frist bis zum 30.11. sonst Anwalt. Pay €400. Now."
    context = Context(text)
    assert context.sentence_text(text.index("Anwalt")) == "Frist bis zum 30.11. sonst Anwalt."
    assert context.sentence_text(text.index("Now")).strip() == "Now."
    assert context.is_quoted(9, 12) is False


def test_context_quotes_and_questions() -> None:
    text = "Sie sagte 'Klage nicht möglich'. Wirklich?"
    context = Context(text)
    start = text.index("Klage")
    assert context.is_quoted(start, start + 5)
    assert context.is_question(text.index("Wirklich"))
    assert not context.is_question(start)


# --- hostile and odd input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\x00\x01\x1b[31m\x7f",
        "\ud800 Idiot \udfff",
        "😂🤬🙄",
        "Привет идиот, Anwalt مرحبا 你好",
        "?" * 500,
    ],
)
@pytest.mark.parametrize("lang", ["de", "en", None, "und"])
def test_odd_input_never_crashes(text: str, lang: str | None) -> None:
    for cue in legal_cues(text, lang).values():
        assert 0.0 <= cue.score <= 1.0
        assert all(0 <= s.start < s.end <= len(text) for s in cue.evidence)


def test_rejects_non_text() -> None:
    with pytest.raises(TypeError, match="must be str"):
        legal_cues(None, "de")  # type: ignore[arg-type]


HOSTILE = {
    "triggers without punctuation": "Idiot Anwalt Betrug BNetzA scam lawyer " * 2_600,
    "triggers in sentences": "Ich will keinen Anwalt, aber ihr Idioten lügt! " * 2_100,
    "masking stars": "f" + "*" * 100_000,
    "question marks": "?" * 100_000,
    "quotes": "'a' \"b\" " * 12_500,
    "line breaks": "\n" * 100_000,
    "one long word": "a" * 100_000,
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_text_takes_linear_time(name: str) -> None:
    """100,000 characters take far less than 100 times as long as 10,000 (quadratic time would)."""
    text = HOSTILE[name]
    small = text[: len(text) // 10]
    small_time = min(_seconds(lambda t: legal_cues(t, None), small) for _ in range(3))
    large_time = _seconds(lambda t: legal_cues(t, None), text)
    if large_time >= 40 * small_time + 0.05:  # one scheduling hiccup on a shared machine is not a failure
        large_time = min(large_time, _seconds(lambda t: legal_cues(t, None), text))
    assert large_time < 40 * small_time + 0.05, (small_time, large_time)


def _seconds(function: Callable[[str], object], text: str) -> float:
    started = time.perf_counter()
    function(text)
    return time.perf_counter() - started


# --- the annotated evaluation set -----------------------------------------------------------------


def _records(name: str) -> list[dict]:
    return [json.loads(line) for line in (EVAL_DATA / name).read_text(encoding="utf-8").splitlines()]


def test_evaluation_set_shape() -> None:
    dev, test = _records("legal_pii_dev.jsonl"), _records("legal_pii_test.jsonl")
    assert len(dev) + len(test) >= 300
    assert not {r["text"] for r in dev} & {r["text"] for r in test}, "dev and test must not share posts"
    langs = Counter(r["lang"] for r in dev + test)
    assert set(langs) == {"de", "en"} and abs(langs["de"] - langs["en"]) <= 0.1 * len(dev + test)
    for record in dev + test:
        labels = record["labels"]
        assert set(labels) == {*TAGS, "pii"}
        assert all(labels[tag] in (0, 1) for tag in TAGS)
        for contact in record.get("brand_contacts", []):
            assert isinstance(contact, str) and contact


def test_dev_set_meets_the_issue_targets() -> None:
    result = evaluate_detectors(EVAL_DATA / "legal_pii_dev.jsonl")
    for tag, target in TARGET_F1.items():
        assert result["tags"][tag]["all"]["f1"] >= target, (tag, result["tags"][tag]["all"])


def test_span_matching_rule() -> None:
    gold = {"type": "postal_address", "start": 0, "end": 20}
    assert spans_match(gold, {"type": "postal_address", "start": 0, "end": 12})
    assert not spans_match(gold, {"type": "postal_address", "start": 0, "end": 9})
    assert not spans_match(gold, {"type": "phone", "start": 0, "end": 20})
    assert match_spans([gold], [gold, dict(gold)], exact=True) == (1, 1, 0)
