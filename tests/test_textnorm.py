from __future__ import annotations

import pytest

from monitor.textnorm import normalize, words


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Росси\u0301я", ["россия"]),  # a stress mark no longer splits the word
        ("Содру\u00adжество", ["содружество"]),  # soft hyphen
        ("ЁЛКА ёлка", ["елка", "елка"]),
        ("CIS\u00a0security", ["cis", "security"]),  # NBSP
        ("café", ["café"]),  # composed accents stay
        ("cafe\u0301", ["café"]),  # a decomposed one is composed by NFKC, not dropped
        ("ｆｕｌｌ　ｗｉｄｔｈ", ["full", "width"]),
    ],
)
def test_words(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_normalize_collapses_spaces() -> None:
    assert normalize("  a \u2007 b\n\tc ") == "a b c"
