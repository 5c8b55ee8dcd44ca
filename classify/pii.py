"""Find personal data in a post: exact detectors where a checksum or grammar exists, cue words elsewhere.

``find_pii`` returns character spans typed as one of :data:`PII_TYPES`. Exact detectors: e-mail (grammar),
IBAN (country length + mod-97), payment card (IIN + length + Luhn), phone (``phonenumbers`` with leniency
VALID over DE, AT, CH, GB, US), tracking ids with a known shape (DHL ``JJD…``, UPS ``1Z…``, UPU S10 with its
check digit). Context-driven: customer/contract/order/tracking numbers need a cue word right before them,
dates of birth need a birth cue, postal addresses need a street + house number (and a post code where the
street name alone is not telling). The brand's own public contact data is not PII.

Every regex is bounded (no nested unbounded repetition) so the detectors stay linear on hostile input.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from classify.pii_addresses import find_postal_addresses
from classify.pii_checks import IBAN_LENGTHS, iban_is_valid, payment_card_is_valid, s10_is_valid
from classify.pii_phones import e164_readings, find_phones, phone_regions
from classify.spans import Span

PII_TYPES = (
    "email",
    "phone",
    "iban",
    "payment_card",
    "postal_address",
    "customer_number",
    "contract_number",
    "order_number",
    "tracking_number",
    "date_of_birth",
)

# When two detections overlap, the more specific one (lower rank) wins: a checksum beats a cue, a cue
# beats a bare phone-number parse.
_SPECIFICITY = {
    "iban": 0,
    "payment_card": 1,
    "email": 2,
    "tracking_number": 3,
    "order_number": 4,
    "contract_number": 4,
    "customer_number": 4,
    "date_of_birth": 5,
    "postal_address": 6,
    "phone": 7,
}

_EMAIL = re.compile(
    r"(?<![\w.%+-])[\w.%+-]{1,64}@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.){1,8}[^\W\d_]{2,24}(?![\w-])"
)
# Zero-width so overlapping candidates are all seen; the group holds up to 34 characters after the
# country code, the validator cuts it to that country's length.
_IBAN_CANDIDATE = re.compile(r"(?<![A-Za-z0-9])(?=([A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]){10,32}))")
_CARD_CANDIDATE = re.compile(r"(?<![\w.,])[0-9](?:[ -]?[0-9]){11,22}(?![0-9])")
_TRACKING_SHAPES = re.compile(
    r"(?<![A-Za-z0-9])(?:JJD[0-9]{16,20}|1Z[0-9A-Z]{16}|TBA[0-9]{12}|(?P<s10>[A-Z]{2}[0-9]{9}[A-Z]{2}))"
    r"(?![A-Za-z0-9])"
)
_LOOKS_LIKE_DATE = re.compile(r"[0-9]{1,4}[./-][0-9]{1,2}[./-][0-9]{1,4}")

_CUES = {
    "customer_number": (
        r"kunden(?:-?nummer|-?nr\.?|-?id|konto(?:nummer)?)|kd\.?\s?-?\s?nr\.?|kdnr\.?|kontonummer"
        r"|mitglieds(?:nummer|-?nr\.?)|z[äa]hlernummer"
        r"|customer\s(?:number|no\.?|id|\#|account(?:\snumber)?)|account\s?(?:number|no\.?|\#|id)"
        r"|acct\.?\s?(?:no\.?|\#)|member(?:ship)?\s(?:number|no\.?|id)|meter\s(?:number|no\.?)"
    ),
    "contract_number": (
        r"vertrags(?:-?nummer|-?nr\.?|konto(?:nummer)?)|policen-?nummer|versicherungs(?:-?nummer|schein-?nummer)"
        r"|contract\s(?:number|no\.?|\#|id)|policy\s(?:number|no\.?|\#)"
    ),
    "order_number": (
        r"bestell(?:-?nummer|-?nr\.?|ung\s?(?:nr\.?|\#))|auftrags(?:-?nummer|-?nr\.?)"
        r"|buchungs(?:-?nummer|-?nr\.?|code|referenz)|rechnungs(?:-?nummer|-?nr\.?)"
        r"|order\s?(?:number|no\.?|\#|id)|booking\s(?:reference|ref\.?|number|no\.?|code)"
        r"|confirmation\s(?:number|code)|invoice\s(?:number|no\.?|\#)|reservation\s(?:number|code)"
    ),
    "tracking_number": (
        r"sendungs(?:-?nummer|-?nr\.?|-?id|verfolgungs?(?:nummer)?)|paket(?:-?nummer|-?nr\.?)"
        r"|tracking(?:-?nummer|-?nr\.?|-?id|-?code|\s(?:number|no\.?|\#|id|code))?|(?:air\s?)?waybill"
    ),
}
_CUE = re.compile(
    r"(?<!\w)(?:" + "|".join(f"(?P<{name}>{pattern})" for name, pattern in _CUES.items()) + r")",
    re.IGNORECASE,
)
# What may stand between a cue and its value, then the value itself (case-sensitive: ids are upper case).
_CUED_VALUE = re.compile(
    r"[ \t]*[:#]?[ \t]*(?:(?i:ist|lautet|is|was|nr\.?|no\.?|number)[ \t]*[:#]?[ \t]*){0,2}"
    r"(?P<value>[A-Z0-9][A-Z0-9]{0,40}(?:[-/.][A-Z0-9]{1,40}){0,5}(?: [0-9]{2,6}){0,6})(?![\w-])"
)

_MONTHS = (
    r"jan(?:uar|uary)?|feb(?:ruar|ruary)?|m[äa]r(?:z|ch)?|apr(?:il)?|ma[iy]|jun[ie]?|jul[iy]?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|o[ck]t(?:ober)?|nov(?:ember)?|de[cz](?:ember)?"
)
_DATE = (
    r"[0-9]{1,2}[./-][0-9]{1,2}[./-](?:[0-9]{4}|[0-9]{2})(?![0-9])|[0-9]{4}-[0-9]{2}-[0-9]{2}(?![0-9])"
    rf"|[0-9]{{1,2}}(?:\.|st|nd|rd|th)?\s(?:of\s)?(?:{_MONTHS})\.?,?\s[0-9]{{4}}"
    rf"|(?:{_MONTHS})\.?\s[0-9]{{1,2}}(?:st|nd|rd|th)?,?\s[0-9]{{4}}"
)
_DATE_OF_BIRTH = re.compile(
    r"(?<!\w)(?:geb\.|geboren|geburtsdatum|geb\.-?datum|geburtstag|d\.?o\.?b\.?|date\sof\sbirth"
    r"|birth\s?date|birthday|born)"
    r"[ \t]*[:(,-]?[ \t]*(?:(?:am|on|the|is|ist|was|war|:)[ \t]+){0,3}"
    rf"(?P<date>{_DATE})",
    re.IGNORECASE,
)


def find_pii(text: str, brand_contacts: Iterable[str] = (), default_region: str = "DE") -> list[Span]:
    """Personal data in ``text`` as non-overlapping spans sorted by position.

    ``brand_contacts`` are the brand's own public phone numbers and e-mail addresses; matches of them are
    not reported. ``default_region`` (ISO 3166 alpha-2) is tried first for national phone formats.
    """
    if not isinstance(text, str):
        raise TypeError(f"find_pii: text must be str, got {type(text).__name__}")
    regions = phone_regions(default_region)
    emails, phones = _brand_contact_keys(tuple(brand_contacts), regions)
    has_digit = any(char.isdigit() for char in text)
    spans: list[Span] = []
    if "@" in text:
        spans += [s for s in _find_emails(text) if text[s.start : s.end].lower() not in emails]
    if has_digit:
        spans += _find_ibans(text)
        spans += _find_cards(text)
        spans += _find_tracking_shapes(text)
        spans += _find_cued_numbers(text)
        spans += _find_dates_of_birth(text)
        spans += find_postal_addresses(text)
        spans += find_phones(text, regions, phones, taken=spans)
    return _most_specific(spans)


def mask_pii(text: str, spans: Iterable[Span | Mapping[str, object]]) -> str:
    """``text`` with each span replaced by its type tag (``[email]``, ``[iban]``…), the rest unchanged.

    Spans may be :class:`Span` objects or ``{"type", "start", "end"}`` records; overlapping spans are
    merged into one tag (the first one's type).
    """
    parts: list[str] = []
    cursor = 0
    for start, end, label in sorted(_as_triples(spans, len(text))):
        if end <= cursor:
            continue
        if start < cursor:  # overlaps the previous tag: extend it instead of tagging twice
            cursor = end
            continue
        parts += [text[cursor:start], f"[{label}]"]
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts)


def _as_triples(spans: Iterable[Span | Mapping[str, object]], length: int) -> list[tuple[int, int, str]]:
    triples = []
    for span in spans:
        if isinstance(span, Span):
            start, end, label = span.start, span.end, span.label
        else:
            start, end, label = span["start"], span["end"], span["type"]  # type: ignore[assignment]
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= length):
            raise ValueError(f"mask_pii: span {span!r} does not fit a text of {length} characters")
        triples.append((start, end, str(label)))
    return triples


@lru_cache(maxsize=256)
def _brand_contact_keys(
    contacts: tuple[str, ...], regions: tuple[str, ...]
) -> tuple[frozenset[str], frozenset[str]]:
    """Normalised brand contacts: lower-case e-mails, and every E.164 reading of each phone number."""
    emails, phones = set(), set()
    for contact in contacts:
        if not isinstance(contact, str):
            raise TypeError(
                f"brand contact {contact!r} must be a string (a phone number or an e-mail address)"
            )
        if "@" in contact:
            emails.add(contact.strip().lower())
            continue
        readings = e164_readings(contact, regions)
        if not readings:
            raise ValueError(
                f"brand contact {contact!r} is neither an e-mail address nor a valid phone number"
            )
        phones |= readings
    return frozenset(emails), frozenset(phones)


def _find_emails(text: str) -> list[Span]:
    return [Span(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)]


def _find_ibans(text: str) -> list[Span]:
    spans = []
    for match in _IBAN_CANDIDATE.finditer(text):
        candidate = match.group(1)
        length = _iban_length_within(candidate)
        if length:
            spans.append(Span(match.start(1), match.start(1) + length, "iban"))
    return spans


def _iban_length_within(candidate: str) -> int:
    """Characters of ``candidate`` taken by a valid IBAN at its start (0 when there is none)."""
    wanted = IBAN_LENGTHS.get(candidate[:2].upper())
    if wanted is None:
        return 0
    compact, taken = [], 0
    for char in candidate:
        taken += 1
        if char != " ":
            compact.append(char.upper())
        if len(compact) == wanted:
            break
    if len(compact) != wanted or (taken < len(candidate) and candidate[taken] != " "):
        return 0
    return taken if iban_is_valid("".join(compact)) else 0


def _find_cards(text: str) -> list[Span]:
    spans = []
    for match in _CARD_CANDIDATE.finditer(text):
        end = _card_end_within(match.group())
        if end:
            spans.append(Span(match.start(), match.start() + end, "payment_card"))
    return spans


def _card_end_within(candidate: str) -> int:
    """Length of the longest run of whole digit groups at the candidate's start that is a valid card."""
    ends = [m.start() for m in re.finditer(r"[ -]", candidate)] + [len(candidate)]
    for end in reversed(ends):
        if payment_card_is_valid(candidate[:end].replace(" ", "").replace("-", "")):
            return end
    return 0


def _find_tracking_shapes(text: str) -> list[Span]:
    return [
        Span(m.start(), m.end(), "tracking_number")
        for m in _TRACKING_SHAPES.finditer(text)
        if m.group("s10") is None or s10_is_valid(m.group("s10"))
    ]


def _find_cued_numbers(text: str) -> list[Span]:
    spans = []
    for cue in _CUE.finditer(text):
        value = _CUED_VALUE.match(text, cue.end())
        if value and cue.lastgroup and _looks_like_an_id(value.group("value")):
            spans.append(Span(value.start("value"), value.end("value"), cue.lastgroup))
    return spans


def _looks_like_an_id(value: str) -> bool:
    """At least four digits, or a booking-reference shape (5–8 capitals and digits, both present)."""
    digits = sum(char.isdigit() for char in value)
    if digits >= 4:
        return not _LOOKS_LIKE_DATE.fullmatch(value)
    return 5 <= len(value) <= 8 and value.isalnum() and digits >= 1 and sum(c.isalpha() for c in value) >= 2


def _find_dates_of_birth(text: str) -> list[Span]:
    return [Span(m.start("date"), m.end("date"), "date_of_birth") for m in _DATE_OF_BIRTH.finditer(text)]


def _most_specific(spans: list[Span]) -> list[Span]:
    """Keep, among overlapping spans, the most specific type (then the longest); sort by position."""
    starts: list[int] = []  # the kept spans are disjoint, so sorted starts and ends stay aligned
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (_SPECIFICITY[s.label], -len(s), s.start)):
        index = bisect.bisect_left(starts, span.start)
        if index < len(kept) and kept[index].start < span.end:
            continue  # overlaps the next kept span
        if index > 0 and kept[index - 1].end > span.start:
            continue  # overlaps the previous kept span
        starts.insert(index, span.start)
        kept.insert(index, span)
    return kept
