"""Language detection of article text (py3langid, its bundled model, loaded on first use)."""

from __future__ import annotations

import re

_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)
_MIN_LETTERS = 12
_SAMPLE = 1000  # characters: enough for a stable guess, keeps detection cheap on long texts


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of ``text``'s language, or None when there is too little text."""
    sample = text[:_SAMPLE]
    if len(_LETTERS.findall(sample)) < _MIN_LETTERS:
        return None
    from py3langid.langid import classify  # imported late: loading the model takes ~1 s

    code, _score = classify(sample)
    return str(code) if code else None
