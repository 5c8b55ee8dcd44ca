"""The surroundings of a trigger word: its sentence, the few words before it, quotes, questions.

Built lazily, once per post, and only for posts in which some trigger fired, so the common case (no
trigger) costs nothing here. All offsets are indices into the original text.
"""

from __future__ import annotations

import bisect
import re
import sys
from dataclasses import dataclass, field
from functools import cached_property

# A run of sentence-final punctuation followed by white space or the end, or a line break.
_SENTENCE_END = re.compile(r"[.!?…]{1,10}(?=\s|$)|\n")
_ABBREVIATION_BEFORE_DOT = re.compile(
    r"(?:^|\s)(?:[0-9]{1,2}\.){0,2}[0-9]{1,2}$"  # dates and ordinals: "30.11.", "4. Mai"
    r"|(?:^|\W)(?:nr|str|geb|kd|ca|bzw|usw|etc|no|st|dr|mr|mrs|ms|vs|ggf|evtl|inkl|bspw|z\.b|u\.a)$",
    re.IGNORECASE,
)
_QUOTED = re.compile(
    r"(?<!\w)'[^'\n]{1,200}'(?!\w)|\"[^\"\n]{1,300}\"|„[^“”\n]{1,300}[“”]|“[^”\n]{1,300}”|«[^»\n]{1,300}»"
)
# Words and the punctuation that closes a clause: the "few words before" a trigger stop at a clause break.
_CLAUSE_BREAK = re.compile(r"[,;:()\[\]—–]|\s-\s|\b(?:aber|but|und dann|and then)\b", re.IGNORECASE)
_TOKEN = re.compile(r"\S+")
# A "sentence" is cut to the blocks of this many characters around a trigger, so a post without punctuation
# does not make every trigger search the whole post (quadratic in the number of triggers). Block-aligned
# cuts are shared by the triggers of one block, so each rule is searched once per block, not per trigger.
SENTENCE_BLOCK = 300


@dataclass
class Context:
    """Lazily computed structure of one post, shared by all cues scored on it."""

    text: str
    _hits: dict[tuple[re.Pattern[str], int, int], bool] = field(default_factory=dict)

    @cached_property
    def sentence_ends(self) -> list[int]:
        """Offsets just past each sentence-final punctuation run (plus the end of the text)."""
        ends = []
        for match in _SENTENCE_END.finditer(self.text):
            before = self.text[max(0, match.start() - 8) : match.start()]
            if match.group() == "." and _ABBREVIATION_BEFORE_DOT.search(before):
                continue
            ends.append(match.end())
        if not ends or ends[-1] < len(self.text):
            ends.append(len(self.text))
        return ends

    @cached_property
    def quoted(self) -> list[tuple[int, int]]:
        """Stretches of the text inside quotation marks (disjoint, sorted)."""
        return [(m.start(), m.end()) for m in _QUOTED.finditer(self.text)]

    def sentence(self, start: int) -> tuple[int, int]:
        """Bounds of the sentence holding offset ``start``, cut to the blocks around it."""
        index = bisect.bisect_right(self.sentence_ends, start)
        begin = self.sentence_ends[index - 1] if index else 0
        end = self.sentence_ends[min(index, len(self.sentence_ends) - 1)]
        block = start - start % SENTENCE_BLOCK
        return max(begin, block - SENTENCE_BLOCK), min(end, block + 2 * SENTENCE_BLOCK)

    def sentence_has(self, pattern: re.Pattern[str], start: int) -> bool:
        """True when ``pattern`` occurs in the sentence holding ``start`` (cached per sentence)."""
        return self._search(pattern, *self.sentence(start))

    def post_has(self, pattern: re.Pattern[str]) -> bool:
        """True when ``pattern`` occurs anywhere in the post (searched once per post)."""
        return self._search(pattern, 0, len(self.text))

    def _search(self, pattern: re.Pattern[str], begin: int, end: int) -> bool:
        key = (pattern, begin, end)
        if key not in self._hits:
            self._hits[key] = pattern.search(self.text, begin, end) is not None
        return self._hits[key]

    def sentence_text(self, start: int) -> str:
        """The sentence holding offset ``start``."""
        begin, end = self.sentence(start)
        return self.text[begin:end]

    def is_question(self, start: int) -> bool:
        """True when the sentence holding ``start`` ends in a question mark."""
        return "?" in self.sentence_text(start).rstrip()[-3:]

    def left_words(self, start: int, count: int = 5) -> str:
        """Up to ``count`` words right before ``start``, within its sentence and clause."""
        begin, _ = self.sentence(start)
        window = self.text[max(begin, start - 60) : start]
        breaks = list(_CLAUSE_BREAK.finditer(window))
        if breaks:
            window = window[breaks[-1].end() :]
        return " ".join(_TOKEN.findall(window)[-count:])

    def right_text(self, end: int, chars: int = 40) -> str:
        """Up to ``chars`` characters right after ``end`` (across sentences)."""
        return self.text[end : end + chars]

    def is_quoted(self, start: int, end: int) -> bool:
        """True when the stretch lies inside quotation marks."""
        index = bisect.bisect_right(self.quoted, (start, sys.maxsize)) - 1
        return index >= 0 and self.quoted[index][0] < start and end < self.quoted[index][1]


_LOOKALIKES = {
    "a": "a@4*",
    "e": "e3*",
    "i": "i1!|*",
    "o": "o0*",
    "u": "u*",
    "s": "s$5*",
    "l": "l1",
    "c": "c*",
    "k": "k*",
    "h": "h*",
    "r": "r*",
    "t": "t*",
}


def obfuscation_tolerant(word: str) -> str:
    """Regex for ``word`` that also matches common masking (``Id!oten``, ``f*ck``, ``a**hole``, ``m0ron``).

    Each letter may be replaced by one look-alike character; the first letter keeps its identity apart
    from digit/symbol look-alikes (a leading ``*`` would match anything). One character per letter keeps
    the pattern free of nested repetition. Spaces in ``word`` match one to three white-space characters.
    """
    parts = []
    for position, char in enumerate(word.lower()):
        if char == " ":
            parts.append(r"\s{1,3}")
            continue
        alternatives = _LOOKALIKES.get(char, char)
        if position == 0:
            alternatives = alternatives.replace("*", "")
        if alternatives == char:
            parts.append(re.escape(char))
        else:
            parts.append("[" + "".join(re.escape(a) for a in dict.fromkeys(char + alternatives)) + "]")
    return "".join(parts)
