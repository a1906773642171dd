"""Article extraction: title, body, dates, language and press-release fields of a page.

    extract_article(html, url, *, selectors=None, language=None, timezone="UTC") -> Extracted
    html_to_text(fragment) -> str
    detect_language(text) -> str | None
"""

from __future__ import annotations

from monitor.extract.article import extract_article, html_to_text
from monitor.extract.lang import detect_language

__all__ = ["detect_language", "extract_article", "html_to_text"]
