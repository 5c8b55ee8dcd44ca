"""Legal-risk cues: a lexicon with context rules scoring ``legal_threat``, ``regulator``,
``defamation_risk`` and ``insult`` in German and English posts.

Each trigger word found gets a prior score (what a bare mention in a complaint is worth), then the first
context rule that matches caps it (negated, quoted, reported, news, opinion, question…) or raises it
(first-person intent, escalation verb, addressed at people). A tag's score is the highest trigger score;
its evidence is every trigger span with its own score. Scores are calibrated-ish: about 0.9 for a clear
first-person threat, 0.5–0.8 for a bare mention, 0.1–0.35 for negated, quoted, reported or asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from classify.cue_context import Context
from classify.legal_lexicon import RULES, TAGS, TRIGGERS, ContextRule
from classify.spans import Span

#: Score at or above which a cue counts as present.
THRESHOLD = 0.5


@dataclass(frozen=True)
class Cue:
    """A tag's score in [0, 1] and the trigger spans it rests on (each with its own score)."""

    score: float = 0.0
    evidence: tuple[Span, ...] = field(default_factory=tuple)

    @property
    def present(self) -> bool:
        """True when the score reaches :data:`THRESHOLD`."""
        return self.score >= THRESHOLD


@dataclass(frozen=True)
class _CompiledRule:
    rule: ContextRule
    regex: re.Pattern[str] | None


# Words that end an insult trigger but are not insults: "idiotensicher", "idiot-proof".
_INSULT_TAIL = r"(?![\w*]|-?proof|-?sicher)"


def _lexicon_langs(lang: str | None) -> tuple[str, ...]:
    """German posts borrow English words ("Scam", "Fake"); English posts rarely borrow German ones."""
    if lang == "en":
        return ("en",)
    return ("de", "en")


@dataclass(frozen=True)
class _Lexicon:
    """All triggers of the chosen languages in one alternation; group ``gN`` stands for ``groups[N]``."""

    groups: tuple[tuple[str, float], ...]  # (tag, prior) per named group
    lowered: re.Pattern[str]  # lower-case patterns, for the lower-cased text
    folding: re.Pattern[str]  # the same, case-insensitive, for texts whose lower-casing changes length
    exact: re.Pattern[str]  # case-sensitive acronyms, for the text as written


@cache
def _lexicon(langs: tuple[str, ...]) -> _Lexicon:
    groups: list[tuple[str, float]] = []
    folded: list[str] = []
    exact: list[str] = []
    for tag in TAGS:
        tail = _INSULT_TAIL if tag == "insult" else r"(?!\w)"
        for group in TRIGGERS[tag]:
            if group.lang not in langs:
                continue
            if not group.case_sensitive and _UPPER_LITERAL.search(_ESCAPE.sub("", "".join(group.patterns))):
                raise ValueError(
                    f"{tag} trigger group {group.patterns} must be lower case (or case_sensitive)"
                )
            alternative = f"(?P<g{len(groups)}>(?:{'|'.join(group.patterns)}){tail})"
            (exact if group.case_sensitive else folded).append(alternative)
            groups.append((tag, group.prior))
    pattern = r"(?<!\w)(?=\w)(?:{})"  # the look-ahead skips non-word positions before trying branches
    return _Lexicon(
        groups=tuple(groups),
        lowered=re.compile(pattern.format("|".join(folded))),
        folding=re.compile(pattern.format("|".join(folded)), re.IGNORECASE),
        exact=re.compile(pattern.format("|".join(exact) or "(?!)")),
    )


_ESCAPE = re.compile(r"\\.")
_UPPER_LITERAL = re.compile(r"[A-ZÄÖÜ]")


def _triggers(text: str, langs: tuple[str, ...]) -> list[tuple[str, float, int, int]]:
    """(tag, prior, start, end) of every trigger in ``text``.

    Matching the lower-cased text with lower-case patterns lets the regex engine skip alternatives by
    their first literal, several times faster than case-insensitive matching; where lower-casing would
    change the length (e.g. "İ"), offsets would shift, so that text is matched case-insensitively instead.
    """
    lexicon = _lexicon(langs)
    lowered = text.lower()
    scan = lexicon.lowered.finditer(lowered) if len(lowered) == len(text) else lexicon.folding.finditer(text)
    found = []
    for match in (*scan, *lexicon.exact.finditer(text)):
        tag, prior = lexicon.groups[int((match.lastgroup or "g0")[1:])]
        found.append((tag, prior, match.start(), match.end()))
    return found


def _compile_rules() -> dict[str, tuple[_CompiledRule, ...]]:
    return {
        tag: tuple(
            _CompiledRule(rule, re.compile(rule.pattern, re.IGNORECASE) if rule.pattern else None)
            for rule in rules
        )
        for tag, rules in RULES.items()
    }


_RULES = _compile_rules()
for _langs in (("en",), ("de", "en")):  # compile every lexicon at import: the first post is not slower
    _lexicon(_langs)


def legal_cues(text: str, lang: str | None = None) -> dict[str, Cue]:
    """Score the four legal-risk tags for one post.

    ``lang`` (ISO 639-1, or None when unknown) selects the lexicons: English posts use the English one,
    anything else uses German and English together. Returns a :class:`Cue` for every tag.
    """
    if not isinstance(text, str):
        raise TypeError(f"legal_cues: text must be str, got {type(text).__name__}")
    context = Context(text)
    evidence: dict[str, list[Span]] = {tag: [] for tag in TAGS}
    for tag, prior, start, end in _triggers(text, _lexicon_langs(lang)):
        score = _apply_rules(_RULES[tag], prior, start, end, context)
        evidence[tag].append(Span(start, end, tag, score))
    return {tag: _cue(spans) for tag, spans in evidence.items()}


def _cue(spans: list[Span]) -> Cue:
    if not spans:
        return Cue()
    spans.sort(key=lambda span: span.start)
    return Cue(max(span.score for span in spans), tuple(spans))


def _apply_rules(
    rules: tuple[_CompiledRule, ...], prior: float, start: int, end: int, context: Context
) -> float:
    """The first rule whose pattern is found in its scope decides: cap or raise the prior."""
    for compiled in rules:
        if _rule_matches(compiled, start, end, context):
            rule = compiled.rule
            return min(prior, rule.value) if rule.effect == "cap" else max(prior, rule.value)
    return prior


def _rule_matches(compiled: _CompiledRule, start: int, end: int, context: Context) -> bool:
    scope, regex = compiled.rule.scope, compiled.regex
    if scope == "quoted":
        return context.is_quoted(start, end)
    if scope == "question":
        return context.is_question(start) and (regex is None or context.sentence_has(regex, start))
    assert regex is not None, f"context rule {compiled.rule.name!r} needs a pattern for scope {scope!r}"
    if scope == "left":
        return bool(regex.search(context.left_words(start)))
    if scope == "left2":
        return bool(regex.search(context.left_words(start, 2)))
    if scope == "right":
        return bool(regex.search(context.right_text(end)))
    if scope == "sentence":
        return context.sentence_has(regex, start)
    if scope == "post":
        return context.post_has(regex)
    raise ValueError(f"context rule {compiled.rule.name!r}: unknown scope {scope!r}")
