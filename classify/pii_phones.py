"""Phone numbers: ``phonenumbers.PhoneNumberMatcher`` (leniency VALID) run over short digit windows.

The matcher is exact but slow (it parses every candidate for every region), so it only sees windows cut
out of the text by a linear scan: runs of digits and phone punctuation, split where a second number
evidently begins. A post has at most :data:`MAX_WINDOWS` windows parsed, which bounds the time spent
on a hostile or list-like post (tens of thousands of digits) while covering any real message.
"""

from __future__ import annotations

import bisect
import re
import sys
from collections.abc import Iterator, Sequence

import phonenumbers

from classify.spans import Span

PHONE_REGIONS = ("DE", "AT", "CH", "GB", "US")
MAX_WINDOWS = 64
# E.164 allows 15 digits; a national trunk prefix and an "(0)" add two.
_MAX_DIGITS = 17
_MIN_DIGITS = 6
# Real numbers have at most six digit groups ("+49 (0) 30 123 456 78"); more is a list of figures.
_MAX_GROUPS = 6

_RUN = re.compile(r"(?<![\w+])[+(]{0,2}[0-9][0-9 ()./-]*[0-9](?![0-9A-Za-z])")
_DIGITS = re.compile(r"[0-9]+")
_LOOKS_LIKE_DATE = re.compile(r"[0-9]{1,4}[./-][0-9]{1,2}[./-][0-9]{1,4}")


def phone_regions(default_region: str) -> tuple[str, ...]:
    """Regions to read national numbers in: ``default_region`` first, then :data:`PHONE_REGIONS`."""
    region = default_region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"default_region {default_region!r} is not a known ISO 3166 region")
    return (region, *(r for r in PHONE_REGIONS if r != region))


def e164_readings(number: str, regions: tuple[str, ...]) -> set[str]:
    """Every E.164 form ``number`` validly has when read in one of ``regions``."""
    readings = set()
    for region in regions:
        try:
            parsed = phonenumbers.parse(number, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            readings.add(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    return readings


def find_phones(
    text: str, regions: tuple[str, ...], brand_phones: frozenset[str], taken: Sequence[Span] = ()
) -> list[Span]:
    """Valid phone numbers in ``text`` that are not among ``brand_phones`` (E.164 strings).

    Windows lying wholly inside a ``taken`` span (a more specific detection) are not parsed.
    """
    covered = _union(taken)
    spans: list[Span] = []
    for count, (start, end) in enumerate(phone_windows(text)):
        if count >= MAX_WINDOWS:
            break
        if not _contains(covered, start, end):
            spans += _phones_in_window(text[start:end], start, regions, brand_phones)
    return spans


def phone_windows(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of stretches that may hold one phone number each, left to right."""
    for run in _RUN.finditer(text):
        for start, end in _split_run(text, run.start(), run.end()):
            window = text[start:end]
            digits = sum(char.isdigit() for char in window)
            if _MIN_DIGITS <= digits <= _MAX_DIGITS and not _LOOKS_LIKE_DATE.fullmatch(window):
                yield start, end


def _split_run(text: str, run_start: int, run_end: int) -> Iterator[tuple[int, int]]:
    """Cut a run of digits and punctuation where a second number evidently begins.

    A new number starts after a "/" or a wide gap, at a "+" or "(" once the current one has seven digits,
    at a trunk "0" once it has ten, or where the current one would grow past the longest possible number.
    """
    start = run_start
    last_end = run_start
    digits = groups = 0
    for group in _DIGITS.finditer(text, run_start, run_end):
        gap = text[last_end : group.start()]
        if groups and (
            "/" in gap
            or "  " in gap
            or " - " in gap
            or (digits >= 7 and gap.endswith(("+", "(")))
            or (digits >= 10 and text[group.start()] == "0")
            or digits + len(group.group()) > _MAX_DIGITS
            or groups == _MAX_GROUPS
        ):
            yield start, last_end
            start, digits, groups = group.start() - len(gap.lstrip(" /-.")), 0, 0
        digits += len(group.group())
        groups += 1
        last_end = group.end()
    yield start, last_end


def _union(spans: Sequence[Span]) -> list[tuple[int, int]]:
    """The stretches covered by ``spans``, merged and sorted."""
    merged: list[tuple[int, int]] = []
    for span in sorted(spans, key=lambda s: s.start):
        if merged and span.start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], span.end))
        else:
            merged.append((span.start, span.end))
    return merged


def _contains(merged: list[tuple[int, int]], start: int, end: int) -> bool:
    """True when ``start..end`` lies inside one of the merged stretches."""
    index = bisect.bisect_right(merged, (start, sys.maxsize)) - 1
    return index >= 0 and end <= merged[index][1]


def _phones_in_window(
    window: str, offset: int, regions: tuple[str, ...], brand_phones: frozenset[str]
) -> list[Span]:
    found: list[Span] = []
    international = window.lstrip("(").startswith("+")
    for region in regions[:1] if international else regions:
        if sum(len(span) for span in found) >= len(window.strip("() ")):
            break  # the whole window is one number already: other regions cannot add anything
        for match in phonenumbers.PhoneNumberMatcher(window, region, leniency=phonenumbers.Leniency.VALID):
            span = Span(offset + match.start, offset + match.end, "phone")
            if any(span.overlaps(other) for other in found):
                continue
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            # A brand number still blocks its stretch for the other regions, then is dropped.
            found.append(span if e164 not in brand_phones else Span(span.start, span.end, "brand_phone"))
    return [span for span in found if span.label == "phone"]
