"""The one small record every detector returns: a labelled stretch of the input text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """Characters ``text[start:end]`` carry ``label`` (a PII type or a cue's trigger) with ``score``.

    Offsets are Python string indices (code points) into the text the detector was given.
    """

    start: int
    end: int
    label: str
    score: float = 1.0

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"Span {self.label!r}: need 0 <= start < end, got {self.start}..{self.end}")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"Span {self.label!r}: score must lie in [0, 1], got {self.score}")

    @property
    def type(self) -> str:
        """The label under the name the tagger's output uses for PII (``{"type", "start", "end"}``)."""
        return self.label

    def __len__(self) -> int:
        return self.end - self.start

    def overlaps(self, other: Span) -> bool:
        """True when the two spans share at least one character."""
        return self.start < other.end and other.start < self.end

    def to_dict(self) -> dict[str, int | str]:
        """The tagger's PII record: ``{"type", "start", "end"}``."""
        return {"type": self.label, "start": self.start, "end": self.end}

    def to_evidence(self) -> dict[str, int]:
        """The tagger's evidence record: ``{"start", "end"}``."""
        return {"start": self.start, "end": self.end}
