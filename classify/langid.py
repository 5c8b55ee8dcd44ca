"""Language of a post, by ``lingua`` over a fixed set of languages likely in brand mentions.

Lingua's high-accuracy mode is used: on posts under 60 characters it is right about 95% of the time,
the low-accuracy mode about 88% (German and English social-media posts; ``bench/langid.py`` measures
both), at about a third of the speed. The detector is built once, lazily, under a lock; detection
itself is thread-safe.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

from lingua import IsoCode639_1, LanguageDetector, LanguageDetectorBuilder

#: ISO 639-1 codes the detector chooses among. Cyrillic and Arabic-script languages are included so that
#: such posts are not forced into a Latin-script language.
LANGUAGES = ("de", "en", "fr", "es", "it", "nl", "pl", "tr", "pt", "ru", "uk", "ar")
UNDETERMINED = "und"

# Handles, links and e-mail addresses say nothing about the language; a hashtag's word does, its '#' not.
_NOISE = re.compile(r"https?://\S+|www\.\S+|[^\s@]{1,64}@\S{1,255}|(?<!\w)@\w+")
# Lingua's time grows with the text; the first few thousand characters settle the language.
_MAX_CHARS = 2000

_lock = threading.Lock()
_detector: LanguageDetector | None = None


def _get_detector() -> LanguageDetector:
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                codes = [getattr(IsoCode639_1, code.upper()) for code in LANGUAGES]
                _detector = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()
    return _detector


def clean_for_langid(text: str) -> str:
    """``text`` without @handles, URLs and e-mail addresses, and with hashtags' '#' removed."""
    return _NOISE.sub(" ", text).replace("#", " ")


def detect_lang(text: str) -> str:
    """ISO 639-1 code of the post's language (one of :data:`LANGUAGES`), or ``"und"`` when unknowable.

    Posts with no letters left after cleaning (emoji only, numbers, a bare link) are ``"und"``.
    """
    return detect_langs([text])[0]


def detect_langs(texts: Sequence[str]) -> list[str]:
    """:func:`detect_lang` of each text; lingua spreads a batch over the CPU cores."""
    prepared = [_prepared(text) for text in texts]
    todo = [(index, text) for index, text in enumerate(prepared) if text is not None]
    found = _get_detector().detect_languages_in_parallel_of([text for _, text in todo])
    codes = [UNDETERMINED] * len(texts)
    for (index, _), language in zip(todo, found, strict=True):
        if language is not None:
            codes[index] = language.iso_code_639_1.name.lower()
    return codes


def _prepared(text: str) -> str | None:
    """The part of ``text`` the detector reads, or None when it holds no letters."""
    if not isinstance(text, str):
        raise TypeError(f"detect_lang: text must be str, got {type(text).__name__}")
    cleaned = clean_for_langid(text[: _MAX_CHARS * 2])[:_MAX_CHARS]
    if not any(char.isalpha() for char in cleaned):
        return None
    # Lone surrogates cannot cross into Rust as UTF-8; they carry no language anyway.
    return cleaned.encode("utf-8", "replace").decode("utf-8")
