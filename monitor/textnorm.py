"""Text normalisation shared by matching, fingerprints and near-duplicate detection.

NFKC, soft hyphens and zero-width characters removed, stray combining grave and acute accents
(Russian stress marks: ``Росси́я``) removed after NFKC, every kind of space made one space,
``ё`` read as ``е``, case folded. ``words()`` splits on Unicode word boundaries.
"""

from __future__ import annotations

import re
import unicodedata

# Invisible characters, and the combining accents NFKC could not compose into a letter.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff\u0300\u0301"), None)
_SPACES = re.compile(r"[\s\u00a0\u2007\u202f]+")
_WORD = re.compile(r"\w+(?:['’]\w+)*", re.UNICODE)


def normalize(text: str) -> str:
    """Unicode-normalised, case-folded text with single spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = text.casefold().replace("ё", "е")
    return _SPACES.sub(" ", text).strip()


def words(text: str) -> list[str]:
    """The normalised words of a text, in order."""
    return _WORD.findall(normalize(text))
