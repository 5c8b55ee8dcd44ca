"""Classification: the :class:`Tagger` (transformer + character n-gram channel), PII detectors, legal-risk
cues, language id.

``Tagger`` and ``TagResult`` are imported lazily, so ``import classify.pii`` (pure Python) does not pay for
loading torch and transformers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["TagResult", "Tagger"]

if TYPE_CHECKING:
    from classify.tagger import Tagger, TagResult


def __getattr__(name: str) -> Any:
    if name in __all__:
        from classify import tagger

        return getattr(tagger, name)
    raise AttributeError(f"module 'classify' has no attribute {name!r}")
