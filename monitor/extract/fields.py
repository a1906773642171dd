"""Press-release fields that are not body text: attribution, photo credit, author, category.

``split_fields(paragraphs)`` takes the body's paragraphs and returns them without the lines that
name the source ("Based on materials from TASS", "Источник: ...", agency datelines such as
"MOSCOW, December 8. /TASS/."), photo credits ("Photo: ...", "Фото: ...") and author lines,
together with those values. A short unpunctuated line in the closing run of such lines is the
release's category (e.g. 'GSV "Russia - Islamic World"').
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

_MAX_LINE = 160  # a field line is short; a longer paragraph is body text

# Whole-line attribution: "Based on materials from TASS", "По материалам ТАСС", "Source: ...".
_ATTRIBUTION = re.compile(
    r"""^[(\[（【]?\s*(?:
        (?:based\s+on|according\s+to)\s+(?:materials|reports|information)\s+(?:from|of|by)\s+\S
      | (?:source|sources|via)\s*[:：]\s*\S
      | по\s+материалам\s+\S
      | по\s+информации\s+\S
      | источник(?:и)?\s*[:：—–-]\s*\S
      | d['’]après\s+(?:des\s+)?(?:informations|dépêches)\s+\S
      | avec\s+(?:afp|reuters|ap)\b
      | quelle\s*[:：]\s*\S
      | mit\s+material\s+(?:von|der|des)\s+\S
      | nach\s+angaben\s+(?:von|der|des)\s+\S
      | fuente\s*[:：]\s*\S
      | 来源\s*[:：]\s*\S
      | 消息来源\s*[:：]\s*\S
      | 本文来源\s*[:：]?\s*\S
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# Photo credits: "Photo: ...", "Фото: ...", "Photo credit: ...", "Crédit photo : ...", "© ...".
_CREDIT = re.compile(
    r"""^[(\[（【]?\s*(?:
        (?:photo|photos|photograph|image|picture|cover\s+photo|top\s+photo)
            (?:\s+credits?)?\s*(?:[:：©]|by\b|[—–-]\s)
      | credits?\s*(?:photo)?\s*[:：]
      | crédits?\s+photos?\s*[:：]
      | фото(?:графи[яи])?\s*(?:[:：©]|[—–-]\s)
      | снимок\s*[:：]
      | fotos?\s*[:：©]
      | bild(?:er)?\s*[:：©]
      | bildquelle\s*[:：]
      | 图片来源\s*[:：]
      | (?:图|摄影|图片)\s*[:：/／]
      | ©\s*\S
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_AUTHOR = re.compile(
    r"^(?:author|автор|auteur|autor|作者|by|von|par)(?:\s*[:：]\s*|\s+)(?P<name>\S.{0,80})$",
    re.IGNORECASE,
)
# Agency datelines at the start of the first paragraph: "MOSCOW, December 8. /TASS/. ",
# "МОСКВА, 8 декабря. /ТАСС/.", "LONDON, Dec 8 (Reuters) - ", "新华社北京12月8日电 ".
_DATELINE = re.compile(
    r"""^(?:
        [A-ZА-ЯЁ][A-ZА-ЯЁ.\-’' ]{1,40}(?:,\s*[^/()\n]{1,30}?)?\s*[.,]?
            \s*/\s*[^/\s][^/]{0,30}/\s*[.,:—–-]*\s+
      | [A-ZА-ЯЁ]{2}[A-ZА-ЯЁ.\-’' ]{0,40},[^()\n]{1,30}?\(\s*[^()\n]{2,30}\)\s*[—–-]+\s*
      | [A-ZА-ЯЁ][A-Za-zА-Яа-яЁё.\-’' ]{1,40},?[^()\n]{0,30}?\(\s*(?:Reuters|AP|AFP|dpa|DPA|Xinhua
            |Kyodo|Interfax|Интерфакс|ТАСС|TASS|РИА\s+Новости|RIA\s+Novosti|EFE|ANSA|Yonhap
            |Bloomberg|PTI|IANS|Anadolu|BelTA|БЕЛТА|Kazinform|Казинформ)\s*\)\s*[—–-]+\s*
      | (?:新华社|中新社|中新网|人民网|央视网)[^\s，。]{0,20}?电(?:\s*[（(][^）)]{0,30}[）)])?\s*
    )""",
    re.VERBOSE,
)
_TERMINAL = tuple(".!?。！？…:;")
_QUOTES = "\"'”“»«)"


@dataclass
class Fields:
    body: list[str] = field(default_factory=list)
    attribution: str | None = None
    credit: str | None = None
    author: str | None = None
    category: str | None = None


def is_attribution(line: str) -> bool:
    return len(line) <= _MAX_LINE and bool(_ATTRIBUTION.match(line))


def is_credit(line: str) -> bool:
    return len(line) <= _MAX_LINE and bool(_CREDIT.match(line))


def dateline(paragraph: str) -> tuple[str, str] | None:
    """(dateline, rest of the paragraph) when an agency dateline opens ``paragraph``."""
    m = _DATELINE.match(paragraph)
    if not m or m.end() >= len(paragraph):
        return None
    return m.group(0).strip().rstrip("—–-").strip(), paragraph[m.end() :].lstrip(" —–-.")


def _join(values: Sequence[str]) -> str | None:
    unique = list(dict.fromkeys(values))
    return "; ".join(unique) if unique else None


def split_fields(paragraphs: Sequence[str], labels: Sequence[bool] | None = None) -> Fields:
    """Take attribution, credit, author and category lines out of ``paragraphs``.

    ``labels[i]`` says whether paragraph ``i`` may be a label such as a category (a list item
    or a heading may not); by default every paragraph may.
    """
    attributions: list[str] = []
    credits: list[str] = []
    authors: list[str] = []
    body: list[str] = []
    removed_at: list[int] = []
    for i, line in enumerate(paragraphs):
        if is_attribution(line):
            attributions.append(line)
        elif is_credit(line):
            credits.append(line)
        elif (i < 2 or i >= len(paragraphs) - 2) and (m := _AUTHOR.match(line)):
            if len(line) > 60 or line.rstrip()[-1:] in ".!?":
                body.append(line)
                continue
            authors.append(m.group("name").strip())
        else:
            body.append(line)
            continue
        removed_at.append(i)
    if body:
        found = dateline(body[0])
        if found:
            attributions.insert(0, found[0])
            body[0] = found[1]
    category = _closing_category(paragraphs, removed_at, body, labels)
    return Fields(
        body=[p for p in body if p],
        attribution=_join(attributions),
        credit=_join(credits),
        author=_join(authors),
        category=category,
    )


def _closing_category(
    paragraphs: Sequence[str],
    removed_at: list[int],
    body: list[str],
    labels: Sequence[bool] | None,
) -> str | None:
    """A short label line just before the closing credit/attribution lines is a category."""
    if not removed_at or not body or len(body) < 2:
        return None
    removed = set(removed_at)
    last_body_index = max(i for i in range(len(paragraphs)) if i not in removed)
    if not any(i > last_body_index for i in removed):  # no closing field lines
        return None
    if labels is not None and not labels[last_body_index]:
        return None
    candidate = body[-1]
    bare = candidate.rstrip(_QUOTES)
    if len(candidate) > 60 or bare.endswith(_TERMINAL) or len(candidate.split()) > 8:
        return None
    body.pop()
    return candidate
