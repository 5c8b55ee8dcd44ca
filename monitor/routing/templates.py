"""Reply templates in German and English, and the guard that keeps personal data out of them.

A template is a list of sentences with ``{variables}``: ``brand``, ``handle`` (bare),
``mention`` (``@handle``, ``u/handle`` on Reddit), ``ticket`` (our case reference), ``hotline``
and ``email`` (the brand's public contacts from ``[[brands]].contacts``). A sentence whose
variable has no value is left out, so "call us at {hotline}" disappears for a brand without a
hotline. The reply starts with ``mention`` when the handle is known. Templates never take the
post's text: a public reply must not quote what the author exposed. Every rendered text still
goes through :func:`public_text` before it is stored.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from classify.pii import find_pii, mask_pii

LANGUAGES = ("de", "en")
FALLBACK_LANGUAGE = "en"
VARIABLES = ("brand", "handle", "mention", "ticket", "hotline", "email")
#: What replaces a piece of personal data that reached a public text anyway.
MASK = "[…]"

TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "support_dm": {
        "en": (
            "We're sorry to hear that!",
            "Please send us a direct message with your customer number and we'll sort it out "
            "(case {ticket}).",
            "You can also call us at {hotline}.",
            "– {brand} Support",
        ),
        "de": (
            "Das tut uns leid!",
            "Bitte schreib uns eine Direktnachricht mit deiner Kundennummer, dann kümmern wir uns darum "
            "(Fall {ticket}).",
            "Du erreichst uns auch unter {hotline}.",
            "– {brand} Kundenservice",
        ),
    },
    "privacy_notice": {
        "en": (
            "For your safety, please don't share personal data such as phone numbers, addresses "
            "or account details in public posts; you may want to delete that post.",
            "We'll contact you privately about your request (case {ticket}).",
            "– {brand} Support",
        ),
        "de": (
            "Zu deiner Sicherheit: Bitte teile keine persönlichen Daten wie Telefonnummern, "
            "Adressen oder Kontodaten in öffentlichen Beiträgen; am besten löschst du den Beitrag.",
            "Wir melden uns privat bei dir (Fall {ticket}).",
            "– {brand} Kundenservice",
        ),
    },
    "legal_holding": {
        "en": (
            "Thank you for your message. We have passed it on to the responsible team at {brand} "
            "and will get back to you (case {ticket}).",
        ),
        "de": (
            "Danke für deine Nachricht. Wir haben sie an das zuständige Team von {brand} "
            "weitergegeben und melden uns bei dir (Fall {ticket}).",
        ),
    },
}


class TemplateError(ValueError):
    """An unknown template or a variable the template does not know."""


class PersonalDataError(ValueError):
    """A text meant for the public contains personal data."""


@dataclass(frozen=True)
class ReplyContext:
    """The values a template may use; empty strings are "not available"."""

    brand: str
    handle: str = ""
    platform: str = ""
    ticket: str = ""
    hotline: str = ""
    email: str = ""

    def variables(self) -> dict[str, str]:
        handle = self.handle.lstrip("@")
        return {
            "brand": self.brand,
            "handle": handle,
            "mention": mention_of(self.platform, handle),
            "ticket": self.ticket,
            "hotline": self.hotline,
            "email": self.email,
        }


def mention_of(platform: str, handle: str) -> str:
    """How a reply addresses the author on ``platform``."""
    if not handle:
        return ""
    return f"u/{handle}" if platform == "reddit" else f"@{handle}"


def choose_language(lang: str | None) -> str:
    """``de`` or ``en`` from a language tag like ``de-AT``; English for anything else."""
    primary = (lang or "").split("-")[0].split("_")[0].lower()
    return primary if primary in LANGUAGES else FALLBACK_LANGUAGE


def ticket_reference(route_id: int) -> str:
    """The case reference shown to customers and agents."""
    return f"CW-{route_id}"


def split_contacts(contacts: Iterable[str]) -> tuple[str, str]:
    """(hotline, e-mail): the brand's first public phone number and first e-mail address."""
    emails = [c for c in contacts if "@" in c]
    phones = [c for c in contacts if "@" not in c and sum(ch.isdigit() for ch in c) >= 5]
    return (phones[0] if phones else "", emails[0] if emails else "")


def render(name: str, lang: str | None, context: ReplyContext, limit: int | None = None) -> str:
    """``mention`` + the template ``name`` in the post's language, sentences without values left out.

    When the text is longer than ``limit`` (default: the platform's, :data:`POST_LIMITS`), sentences are
    left out from the end (the sign-off first) until it fits; the mention and the case reference stay.
    """
    try:
        variants = TEMPLATES[name]
    except KeyError:
        raise TemplateError(
            f"unknown reply template {name!r} (known: {', '.join(sorted(TEMPLATES))})"
        ) from None
    sentences = variants[choose_language(lang)]
    values = context.variables()
    rendered = [values["mention"]] + [_render_sentence(name, s, values) for s in sentences]
    essential = [True] + ["{ticket}" in s for s in sentences]
    limit = limit or POST_LIMITS.get(context.platform)
    for index in reversed(range(len(rendered))):
        if limit is None or post_length(" ".join(s for s in rendered if s), context.platform) <= limit:
            break
        if not essential[index]:
            rendered[index] = ""
    return " ".join(s for s in rendered if s)


#: The longest public post each platform takes, as :func:`post_length` counts (Mastodon: the default).
POST_LIMITS = {"twitter": 280, "bluesky": 300, "mastodon": 500, "reddit": 10_000}
PLATFORM_NAMES = {"twitter": "X", "bluesky": "Bluesky", "mastodon": "Mastodon", "reddit": "Reddit"}
# twitter-text v3: these code points weigh 1, all others (CJK, emoji) 2; every link counts as 23.
_X_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_X_URL_WEIGHT = 23
_URL = re.compile(r"https?://\S+")


def post_length(text: str, platform: str) -> int:
    """``text``'s length as ``platform`` counts it against its limit.

    X weighs CJK characters and emoji double and every link as 23; elsewhere it is the number of code
    points, never fewer than the graphemes Bluesky counts.
    """
    if platform != "twitter":
        return len(text)
    links = _URL.findall(text)
    weights = (1 if any(a <= ord(c) <= b for a, b in _X_LIGHT) else 2 for c in _URL.sub("", text))
    return _X_URL_WEIGHT * len(links) + sum(weights)


def length_problem(text: str, platform: str, limit: int | None = None) -> str | None:
    """Why ``text`` is too long for a public post on ``platform`` (``limit``, default the platform's), or
    None when it fits."""
    limit = limit or POST_LIMITS.get(platform)
    if limit is None:
        return None
    length = post_length(text, platform)
    if length <= limit:
        return None
    return f"the reply is {length} characters long; {PLATFORM_NAMES[platform]} takes at most {limit}"


def _render_sentence(name: str, sentence: str, values: Mapping[str, str]) -> str:
    fields = [f for _, f, _, _ in string.Formatter().parse(sentence) if f is not None]
    unknown = [f for f in fields if f not in values]
    if unknown:
        raise TemplateError(
            f"template {name!r} uses unknown variable(s) {unknown} (known: {list(VARIABLES)})"
        )
    if any(not values[f] for f in fields):
        return ""
    return sentence.format_map(values).strip()


def public_text(
    text: str, exposed: Iterable[str] = (), brand_contacts: Iterable[str] = (), keep: Iterable[str] = ()
) -> str:
    """``text`` safe to publish: every ``exposed`` value and any detected personal data masked.

    ``exposed`` are the exact personal-data substrings found in the post; they are masked
    first (longest first) so that a detector miss cannot leak them; then the detector masks
    anything else that looks like personal data. The brand's own contacts stay, and so do the
    ``keep`` strings (the author's public handle: ``@anna@example.social`` is not an e-mail).
    """
    kept = sorted({k for k in keep if k}, key=len, reverse=True)
    if kept:
        pieces = re.split("(" + "|".join(map(re.escape, kept)) + ")", text)
        return "".join(
            p if p in kept or not p.strip() else public_text(p, exposed, brand_contacts) for p in pieces
        )
    for value in sorted({v for v in exposed if v.strip()}, key=len, reverse=True):
        text = re.sub(re.escape(value), MASK, text, flags=re.IGNORECASE)
    return mask_pii(text, find_pii(text, brand_contacts=tuple(brand_contacts)))


def check_public(
    text: str, exposed: Iterable[str] = (), brand_contacts: Iterable[str] = (), keep: Iterable[str] = ()
) -> None:
    """Refuse (:class:`PersonalDataError`) a text a person wrote that would publish personal data."""
    if public_text(text, exposed, brand_contacts, keep) != text:
        raise PersonalDataError(
            "the reply contains personal data (a phone number, address, e-mail, account or card number, "
            "or something the post exposed): remove it before approving"
        )
