"""Postal addresses in German and English (UK/US) shapes, by grammar rather than by gazetteer.

German: a street (``Lindenstraße``, ``Hauptstr.``, ``Berliner Allee``) and a house number, optionally
followed by a 5-digit PLZ and town. A street name without a street word (``Am Rosengarten 3``, but also
``Gleis 7`` or ``Im Jahr 1998``) only counts when the PLZ and town follow. English: house number,
street name ending in a street word (``Street``, ``Rd``, ``Ave``…), optionally a flat/unit, town, and US
state + ZIP or UK postcode.
"""

from __future__ import annotations

import re

from classify.spans import Span

_LOWER = "a-zäöüß"
_UPPER = "A-ZÄÖÜ"
_WORD = rf"[{_UPPER}][{_LOWER}]{{1,40}}(?:-[{_UPPER}]?[{_LOWER}]{{1,40}}){{0,3}}\.?"
_DE_STREET_WORD = (
    r"(?:stra(?:ß|ss)e|str\.|weg|platz|allee|gasse|ring|damm|ufer|chaussee|pfad|steig|markt|graben|wall"
    r"|hof|kai|promenade|zeile)"
)
_DE_PREPOSITION = r"(?:Am|An der|An den|Auf dem|Auf der|Im|In der|Zum|Zur|Unter den|Vor dem|Hinter dem)"
_TOWN = (
    rf"[{_UPPER}][{_LOWER}]{{1,40}}(?:-[{_UPPER}][{_LOWER}]{{1,40}}){{0,2}}"
    rf"(?: (?:am|an der|im|ob der|in der) [{_UPPER}][{_LOWER}]{{1,40}}| \([{_UPPER}][{_LOWER}]{{1,40}}\))?"
)
_DE_ADDRESS = re.compile(
    rf"(?<!\w)(?P<street>(?:{_DE_PREPOSITION} )?(?:{_WORD} )?{_WORD}) ?"
    r"[0-9]{1,4} ?[a-zA-Z]?(?: ?[-/] ?[0-9]{1,4}[a-zA-Z]?)?(?![\w])"
    rf"(?P<town>,? {{1,3}}[0-9]{{5}} {{1,3}}{_TOWN})?"
)
_DE_STREET_NAME = re.compile(rf"\w{_DE_STREET_WORD}\.?$| {_DE_STREET_WORD}\.?$", re.IGNORECASE)

_EN_STREET_WORD = (
    r"(?:Street|St|Road|Rd|Avenue|Ave|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl|Terrace|Close"
    r"|Crescent|Parkway|Pkwy|Highway|Hwy|Square|Sq|Gardens|Row|Mews|Grove)"
)
_UNIT = r"(?:Flat|Apt\.?|Apartment|Unit|Suite|\#)"
_EN_ADDRESS = re.compile(
    rf"(?<!\w)(?:{_UNIT} ?[0-9A-Za-z]{{1,5}},? )?[0-9]{{1,5}}[A-Za-z]? (?:[A-Z][a-z]{{1,30}} ){{1,3}}"
    rf"{_EN_STREET_WORD}\b\.?(?:,? {_UNIT} ?[0-9A-Za-z]{{1,5}})?"
    r"(?:, [A-Z][a-z]{1,30}(?: [A-Z][a-z]{1,30})?)?"
    r"(?:,? (?:[A-Z]{2} [0-9]{5}(?:-[0-9]{4})?|[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2})(?![\w]))?"
)


def find_postal_addresses(text: str) -> list[Span]:
    """Postal addresses in ``text`` (German or English shapes) as ``postal_address`` spans."""
    spans = [Span(m.start(), m.end(), "postal_address") for m in _EN_ADDRESS.finditer(text)]
    for match in _DE_ADDRESS.finditer(text):
        if match.group("town") or _DE_STREET_NAME.search(match.group("street")):
            spans.append(Span(match.start(), match.end(), "postal_address"))
    return spans
