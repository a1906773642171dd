"""Article pages -> :class:`~monitor.models.Extracted`.

Three ways to the body, all through the same cleanup (``text.Walk``) and field split
(``fields.split_fields``):

1. per-source CSS selectors (``title``, ``date``, ``body``, ``drop``) when configured;
2. JSON-LD ``articleBody`` of a NewsArticle/Article;
3. main-content detection (``text.main_blocks``).

Metadata comes from JSON-LD, OpenGraph/``<meta>`` and the page structure; dates from
``monitor.extract.dates.find_dates``. Garbage in gives an empty ``Extracted``, never an exception.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from monitor.config import ArticleSelectors
from monitor.extract import fields as fieldsmod
from monitor.extract.lang import detect_language
from monitor.extract.text import HEADINGS, Block, Walk, blocks, clean_text, main_blocks
from monitor.models import Extracted

Line = tuple[str, str]  # (paragraph text, tag of its block element)
FindDates = Callable[..., tuple[datetime | None, datetime | None]]
ParseDate = Callable[..., datetime | None]

_ARTICLE_TYPES = frozenset(
    {"article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle", "blogposting",
     "pressrelease", "report", "scholarlyarticle", "socialmediaposting", "liveblogposting",
     "opinionnewsarticle", "backgroundnewsarticle", "techarticle", "webpage"}
)
_TITLE_SEPARATORS = (" | ", " - ", " — ", " – ", " :: ", " « ", " » ", "_", "｜")
_AUTHOR_KEYS = frozenset({"author", "article:author", "dc.creator", "sailthru.author"})
_MIN_ARTICLE_BODY = 200
_HEADING_WINDOW = 6  # blocks above the content where its headline may stand
_NOT_LABELS = frozenset("li dt dd td th h1 h2 h3 h4 h5 h6 blockquote pre".split())
_TERMINAL = tuple(".!?。！？…:;")
_QUOTES = "\"'”“»«)"  # characters; a shorter JSON-LD articleBody is a teaser

_MONTHS_ETC = re.compile(
    r"""^(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun
      |янв|фев|мар|апр|ма[йя]|июн|июл|авг|сен|окт|ноя|дек|пн|вт|ср|чт|пт|сб|вс|пон|втор|сред
      |четв|пятн|субб|воскр|janv|févr|fevr|avr|mai|juin|juil|août|aout|sept|déc|lun|mar|mer
      |jeu|ven|sam|dim|januar|februar|märz|maerz|april|juni|juli|august|oktober|dezember
      |montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag
      |ene|abr|ago|dic|janeiro|fevereiro|março|marco|abril|maio|junho|julho|agosto|setembro
      |outubro|novembro|dezembro|enero|febrero|marzo|mayo|junio|julio|septiembre|octubre
      |noviembre|diciembre|lunes|martes|miércoles|jueves|viernes|sábado|domingo|segunda|terça
      |quarta|quinta|sexta|feira)""",
    re.VERBOSE | re.IGNORECASE,
)
_DATE_FILLERS = frozenset(
    """г гг года год am pm utc gmt msk мск cet cest est edt pst pdt bst at um uhr à h le den der
    de del às las a of the on updated update published posted last modified обновлено опубликовано
    обновлен опубликован дата публикации mis à jour publié veröffentlicht aktualisiert
    am aktualisiert date time день время""".split()
)
_NUMERIC_DATE = re.compile(r"\b\d{1,4}[./-]\d{1,2}[./-]\d{2,4}\b|\b\d{1,2}:\d{2}\b")
_CAPTION_CREDIT = re.compile(
    r"(?:Photo(?:\s+credit)?|Credit|Фото|Foto|Crédit(?:\s+photo)?|Bild|图片来源)\s*[:：]\s*[^.:：]{2,80}$",
    re.IGNORECASE,
)
# Newsletter and social promotion at the edges of the body
_PROMO = re.compile(
    r"""\b(?:subscribe\s+to|sign\s+up\s+(?:for|to|here)|newsletters?\b|follow\s+(?:us|me|him|her)\s+on
    |download\s+(?:our|the)\s+app|подпис(?:ывайтесь|аться)|abonnez-vous|abonnieren\s+sie
    |newsletter\s+abonnieren|have\s+a\s+(?:news\s+)?tip\b)""",
    re.IGNORECASE | re.VERBOSE,
)
_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)
_CJK_DATE = re.compile(r"[年月日时分秒号]")
_JUNK_LINE = re.compile(
    r"""^(?:advertisement|advertising|sponsored|реклама|publicité|anzeige|werbung
      |share(?:\s+this)?(?:\s+(?:article|story|page|post))?|share\s+on\s+\w+|tweet|email|e-mail
      |print(?:\s+this)?(?:\s+(?:page|article|story))?|версия\s+для\s+печати|печать|imprimer
      |drucken|read\s+more|read\s+next|continue\s+reading|back\s+to\s+top|наверх|comments?
      |show\s+comments|load\s+comments|skip\s+to\s+(?:main\s+)?content|打印|分享|返回顶部
      )[\s.:!…»>]*$""",
    re.VERBOSE | re.IGNORECASE,
)


@dataclass
class Meta:
    """What the page says about itself in JSON-LD and <meta>."""

    headline: str | None = None
    body: str | None = None
    og_title: str | None = None
    site_name: str | None = None
    html_title: str | None = None
    author: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    language: str | None = None
    published: str | None = None
    modified: str | None = None


def extract_article(
    html: str,
    url: str,
    *,
    selectors: ArticleSelectors | None = None,
    language: str | None = None,
    timezone: str = "UTC",
) -> Extracted:
    """Title, body, dates, language and press-release fields of one article page."""
    tree = LexborHTMLParser(html or "<html></html>")
    meta = read_meta(tree)
    title, found = _title_and_fields(tree, meta, selectors)
    body = "\n\n".join(found.body)
    lang = language or detect_language(body or title or "") or _short_lang(meta.language)
    published, updated = _dates(tree, url, selectors, lang, timezone, meta)
    return Extracted(
        title=title,
        body=body,
        published_at=published,
        updated_at=updated,
        language=lang,
        author=meta.author or found.author or _page_author(tree),
        attribution=found.attribution,
        credit=found.credit,
        category=meta.section or found.category or _page_category(tree),
        tags=tuple(dict.fromkeys(meta.tags + _rel_tags(tree, "tag"))),
    )


def extract_text(html: str, *, selectors: ArticleSelectors | None = None) -> tuple[str | None, str]:
    """Title and body only (no dates, no language): what benchmarks and previews need."""
    tree = LexborHTMLParser(html or "<html></html>")
    title, found = _title_and_fields(tree, read_meta(tree), selectors)
    return title, "\n\n".join(found.body)


def _title_and_fields(
    tree: LexborHTMLParser, meta: Meta, selectors: ArticleSelectors | None
) -> tuple[str | None, fieldsmod.Fields]:
    removed: set[int] = set()
    if selectors and selectors.drop:
        for css in selectors.drop:
            removed.update(node.mem_id for node in _select(tree, css))

    title = _selected_title(tree, selectors) if selectors and selectors.title else None
    if selectors and selectors.body:
        picked: list[Block] = []
        for node in _select(tree, selectors.body):
            picked.extend(blocks(node, removed=removed))
        heading = None
    else:
        picked, heading = _auto_body(tree, meta, removed)
    if title is None:
        title = choose_title(meta, heading)

    lines = _tidy(picked, title, meta.author)
    use_ld = not (selectors and selectors.body) and meta.body
    if use_ld and meta.body and _use_article_body(meta.body, [text for text, _ in lines]):
        ld_lines = [(text, "p") for text in _body_paragraphs(meta.body)]
        lines = _tidy_lines(ld_lines, title, meta.author)
    found = fieldsmod.split_fields(
        [text for text, _ in lines], labels=[tag not in _NOT_LABELS for _, tag in lines]
    )
    found.credit = found.credit or _caption_credit(picked)
    return title, found


def html_to_text(fragment: str) -> str:
    """Feed content HTML as clean paragraph text (paragraphs separated by blank lines)."""
    if not fragment or not fragment.strip():
        return ""
    tree = LexborHTMLParser(f"<html><body>{fragment}</body></html>")
    root = tree.body or tree.root
    if root is None:
        return ""
    paragraphs = [b.text for b in blocks(root) if not _JUNK_LINE.match(b.text)]
    return "\n\n".join(paragraphs)


# --- metadata -------------------------------------------------------------------------------


def read_meta(tree: LexborHTMLParser) -> Meta:
    meta = Meta()
    for node in tree.css('script[type="application/ld+json"]'):
        for obj in _ld_objects(_load_json(node.text(deep=True))):
            kinds = obj.get("@type")
            kinds = kinds if isinstance(kinds, list) else [kinds]
            if not any(isinstance(k, str) and k.lower() in _ARTICLE_TYPES for k in kinds):
                continue
            is_page = all(isinstance(k, str) and k.lower() == "webpage" for k in kinds)
            if is_page and not obj.get("articleBody"):
                continue
            meta.headline = meta.headline or _ld_line(obj.get("headline") or obj.get("name"))
            meta.body = meta.body or _ld_text(obj.get("articleBody"))
            meta.author = meta.author or _ld_name(obj.get("author"))
            meta.section = meta.section or _ld_line(obj.get("articleSection"))
            meta.published = meta.published or _ld_text(obj.get("datePublished"))
            meta.modified = meta.modified or _ld_text(obj.get("dateModified"))
            meta.language = meta.language or _ld_text(obj.get("inLanguage"))
            meta.tags.extend(_ld_keywords(obj.get("keywords")))
    for node in tree.css("meta[content]"):
        attrs = node.attributes
        key = (attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or "").lower()
        value = _unescape(attrs.get("content") or "")
        if not key or not value:
            continue
        if key in ("og:title", "twitter:title") and not meta.og_title:
            meta.og_title = value
        elif key == "og:site_name":
            meta.site_name = meta.site_name or value
        elif key in _AUTHOR_KEYS and not meta.author:
            if not value.startswith(("http://", "https://", "/")):
                meta.author = value
        elif key == "article:section":
            meta.section = meta.section or value
        elif key == "article:tag":
            meta.tags.append(value)
        elif key == "article:published_time":
            meta.published = meta.published or value
        elif key == "article:modified_time":
            meta.modified = meta.modified or value
    title = tree.css_first("title")
    if title is not None:
        meta.html_title = clean_text(title.text(deep=True)) or None
    root = tree.css_first("html")
    if root is not None and not meta.language:
        meta.language = (root.attributes.get("lang") or "").strip() or None
    meta.tags = [t for t in dict.fromkeys(meta.tags) if t]
    return meta


def _load_json(text: str) -> Any:
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        try:  # raw newlines inside strings are common in hand-written JSON-LD
            return json.loads(re.sub(r"[\r\n\t]+", " ", text))
        except ValueError:
            return None


def _ld_objects(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > 4:
        return
    if isinstance(data, list):
        for item in data:
            yield from _ld_objects(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        for key in ("@graph", "mainEntity", "mainEntityOfPage"):
            if isinstance(data.get(key), (list, dict)):
                yield from _ld_objects(data[key], depth + 1)


def _unescape(value: str) -> str:
    """Metadata values are sometimes escaped twice ("&amp;#163;"): undo the second one."""
    if "&" in value:
        value = html_lib.unescape(value)
    return clean_text(value)


def _ld_text(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), None)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _ld_line(value: Any) -> str | None:
    text = _ld_text(value)
    return _unescape(text) or None if text else None


def _ld_name(value: Any) -> str | None:
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("name")
        text = _ld_text(item)
        if text and not text.startswith(("http://", "https://")):
            names.append(clean_text(text))
    return ", ".join(dict.fromkeys(names)) or None


def _ld_keywords(value: Any) -> list[str]:
    if isinstance(value, str):
        return [clean_text(v) for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return [clean_text(v) for v in value if isinstance(v, str) and v.strip()]
    return []


def _short_lang(value: str | None) -> str | None:
    if not value:
        return None
    code = value.replace("_", "-").split("-")[0].lower()
    return code if re.fullmatch(r"[a-z]{2}", code) else None


def _rel_tags(tree: LexborHTMLParser, rel: str) -> list[str]:
    """Link texts of ``<a rel="tag">`` (not those that are also ``rel="category"``)."""
    out = []
    for node in tree.css(f'a[rel~="{rel}"]'):
        if rel == "tag" and "category" in (node.attributes.get("rel") or "").split():
            continue
        text = clean_text(node.text(deep=True))
        if text:
            out.append(text)
    return out


def _page_category(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first('[itemprop="articleSection"]')
    if node is not None:
        return clean_text(node.attributes.get("content") or node.text(deep=True)) or None
    categories = _rel_tags(tree, "category")
    return categories[0] if categories else None


_AUTHOR_CSS = (
    '[itemprop="author"] [itemprop="name"], [itemprop="author"], a[rel~="author"], '
    ".author .fn, .vcard .fn, .byline .author, .byline"
)
_BY = re.compile(r"^(?:by|von|par|автор[:]?|текст[:]?|作者[:：]?)\s+", re.IGNORECASE)


def _page_author(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first(_AUTHOR_CSS)
    if node is None:
        return None
    text = _BY.sub("", clean_text(node.attributes.get("content") or node.text(deep=True)))
    return text if 0 < len(text) <= 80 else None


# --- title ----------------------------------------------------------------------------------


def choose_title(meta: Meta, heading: str | None) -> str | None:
    """The article's own headline: JSON-LD, og:title, the main block's <h1>, then <title>."""
    page_title = strip_site_suffix(meta.html_title, meta.site_name) if meta.html_title else None
    for candidate in (meta.headline, _og_title(meta), heading, page_title):
        if candidate:
            title = clean_text(candidate)
            # JSON-LD headlines are often cut at 110 characters: prefer the full heading
            if heading and len(heading) > len(title) and heading.startswith(title.rstrip("….")):
                return heading
            return title
    return None


def _og_title(meta: Meta) -> str | None:
    og = meta.og_title
    if not og:
        return None
    if meta.site_name and meta.site_name in og:
        return strip_site_suffix(og, meta.site_name)
    if meta.html_title and og == meta.html_title:  # the same "Headline | Site" string
        return strip_site_suffix(og)
    return og


def strip_site_suffix(title: str, site_name: str | None = None) -> str:
    """``"Headline | Ministry"`` -> ``"Headline"``: the longest part left of a separator."""
    title = clean_text(title)
    for sep in _TITLE_SEPARATORS:
        if sep not in title:
            continue
        parts = [p.strip() for p in title.split(sep) if p.strip()]
        if len(parts) < 2:
            continue
        if site_name and site_name in parts:
            parts = [p for p in parts if p != site_name]
            return sep.join(parts)
        # the headline is the first part unless a later part is much longer
        best = max(parts, key=len)
        return parts[0] if len(parts[0]) * 2 >= len(best) else best
    return title


def _selected_title(tree: LexborHTMLParser, selectors: ArticleSelectors) -> str | None:
    assert selectors.title is not None
    for node in _select(tree, selectors.title):
        text = clean_text(node.attributes.get("content") or node.text(deep=True, separator=" "))
        if text:
            return text
    return None


def _select(tree: LexborHTMLParser, css: str) -> list[LexborNode]:
    try:
        return list(tree.css(css))
    except (SelectolaxError, ValueError, TypeError):  # an invalid selector matches nothing
        return []


# --- body -----------------------------------------------------------------------------------


def _auto_body(
    tree: LexborHTMLParser, meta: Meta, removed: set[int]
) -> tuple[list[Block], str | None]:
    root = tree.body or tree.root
    if root is None:
        return [], None
    walk = Walk(removed=removed).run(root)
    if _is_fragment(tree):  # content HTML (a feed entry), not a page: all of it is the article
        content = [b for b in walk.blocks if not walk.is_boilerplate(b)]
        return content, _heading(walk, content, meta.html_title)
    content = main_blocks(walk)
    if not content:  # a page that shows its text only without JavaScript
        walk = Walk(removed=removed, noscript=True).run(root)
        content = main_blocks(walk)
    return content, _heading(walk, content, meta.html_title)


def _is_fragment(tree: LexborHTMLParser) -> bool:
    """True for bare content HTML: nothing in <head>, one element in <body>."""
    head = tree.head
    if head is not None and head.child is not None:
        return False
    body = tree.body
    if body is None:
        return False
    elements = 0
    child = body.child
    while child is not None:
        if child.is_element_node:
            elements += 1
        elif child.is_text_node and (child.text_content or "").strip():
            return False
        child = child.next
    return elements == 1


def _heading(walk: Walk, content: Sequence[Block], page_title: str | None) -> str | None:
    """The content's own headline: its <h1>, else a heading just above it.

    A heading above the content counts when it is an <h1> or agrees with the page's <title>;
    an <h1> far from the content (a site or country name in the header) does not.
    """
    inside = [b for b in content if b.tag == "h1"]
    if inside:
        return inside[0].text
    title_key = page_title.casefold() if page_title else None
    if content:
        first = content[0]
        index = next((i for i, b in enumerate(walk.blocks) if b is first), 0)
        for block in reversed(walk.blocks[max(0, index - _HEADING_WINDOW) : index]):
            if block.tag not in ("h1", "h2", "h3"):
                continue
            key = block.text.casefold()
            if title_key and (key in title_key or title_key in key):
                return block.text
            if block.tag == "h1" and not title_key:
                return block.text
    h1s = [b for b in walk.blocks if b.tag == "h1"]
    if len(h1s) == 1 and (not title_key or h1s[0].text.casefold() in title_key):
        return h1s[0].text
    return None


def _body_paragraphs(text: str) -> list[str]:
    if "&lt;" in text or "&#" in text or "&amp;" in text or "&quot;" in text:
        text = html_lib.unescape(text)
    if "<" in text and re.search(r"<(?:p|div|br|span|a|b|i|strong|em)\b", text, re.I):
        tree = LexborHTMLParser(f"<html><body>{text}</body></html>")
        root = tree.body or tree.root
        return [b.text for b in blocks(root)] if root is not None else []
    return [p for p in (clean_text(line) for line in re.split(r"\n", text)) if p]


def _use_article_body(article_body: str, paragraphs: Sequence[str]) -> bool:
    """JSON-LD ``articleBody`` wins unless it is a teaser next to a longer page text."""
    n = len(clean_text(article_body))
    if n < _MIN_ARTICLE_BODY:
        return False
    return n * 2 >= sum(len(p) for p in paragraphs)


def _tidy(picked: Sequence[Block], title: str | None, author: str | None) -> list[Line]:
    lines = [(block.text, block.tag) for block in picked if _keep(block)]
    return _tidy_lines(_after_title(lines, title), title, author)


def _keep(block: Block) -> bool:
    """Not a caption, and not a link list: a sentence with many links is still prose."""
    if block.caption:
        return False
    density = block.link_density
    if density <= 0.5 or block.tag in HEADINGS:
        return True
    text = block.text
    return density <= 0.8 and len(text) >= 100 and text.rstrip(_QUOTES).endswith(_TERMINAL)


def _caption_credit(picked: Sequence[Block]) -> str | None:
    """A photo credit from image captions: a credit line, or a caption ending "Credit: X"."""
    for block in picked:
        if not block.caption:
            continue
        if fieldsmod.is_credit(block.text):
            return block.text
        m = _CAPTION_CREDIT.search(block.text)
        if m:
            return m.group(0).strip()
    return None


def _after_title(lines: list[Line], title: str | None) -> list[Line]:
    """The body starts after the headline: drop kickers and breadcrumbs above it."""
    if not title:
        return lines
    key = clean_text(title).casefold()
    for i, (text, tag) in enumerate(lines[:8]):
        if tag in HEADINGS and text.casefold() == key:
            return lines[i + 1 :]
    return lines


def _tidy_lines(lines: Sequence[Line], title: str | None, author: str | None) -> list[Line]:
    """Drop title repeats, date and metadata lines, bylines repeated from metadata, junk."""
    title_key = clean_text(title).casefold() if title else None
    author_key = author.casefold() if author else None
    out: list[Line] = []
    leading = True  # before the first real paragraph
    for text, tag in lines:
        key = text.casefold()
        if title_key and key == title_key:
            continue
        if _JUNK_LINE.match(text) or is_date_line(text):
            continue
        if author and author_key and len(text) <= len(author) + 12 and author_key in key:
            continue
        if len(out) < 3 and leading and _is_meta_line(text):
            continue
        if len(out) < 2 and len(text) < 200 and _PROMO.search(text):
            continue
        if len(text) >= 80:
            leading = False
        out.append((text, tag))
    while out and len(out[-1][0]) < 200 and _PROMO.search(out[-1][0]):
        out.pop()
    return out


def _is_meta_line(text: str) -> bool:
    """A short line with a number and no sentence end: "09.12.2021 - Artikel", "5 min read"."""
    return (
        len(text) < 40
        and _NUMERIC_DATE.search(text) is not None
        and not text.rstrip(_QUOTES).endswith(_TERMINAL)
    )


def is_date_line(line: str) -> bool:
    """True for a short line that holds only a date and time ("08 December 2021, 14:35")."""
    if len(line) > 60 or not any(c.isdigit() for c in line):
        return False
    dated = _NUMERIC_DATE.search(line) is not None or _CJK_DATE.search(line) is not None
    for word in _WORDS.findall(_CJK_DATE.sub(" ", line)):
        lower = word.lower()
        if _MONTHS_ETC.match(lower):
            dated = True
        elif lower not in _DATE_FILLERS:
            return False
    return dated


# --- dates ----------------------------------------------------------------------------------


def _date_functions() -> tuple[FindDates | None, ParseDate | None]:
    try:
        from monitor.extract import dates
    except ImportError:
        return None, None
    return getattr(dates, "find_dates", None), getattr(dates, "parse_date", None)


def _dates(
    tree: LexborHTMLParser,
    url: str,
    selectors: ArticleSelectors | None,
    language: str | None,
    timezone: str,
    meta: Meta,
) -> tuple[datetime | None, datetime | None]:
    find_dates, parse_date = _date_functions()
    languages = [language] if language else []
    if selectors and selectors.date and parse_date is not None:
        for node in _select(tree, selectors.date):
            attrs = node.attributes
            text = attrs.get("datetime") or attrs.get("content") or node.text(deep=True)
            value = parse_date(clean_text(text), languages=languages, timezone=timezone)
            if value is not None:
                _, updated = find_dates(tree, url, language=language, timezone=timezone) if (
                    find_dates
                ) else (None, None)
                return value, updated
    if find_dates is not None:
        return find_dates(tree, url, language=language, timezone=timezone)
    return _iso(meta.published or _time_datetime(tree)), _iso(meta.modified)


def _time_datetime(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("time[datetime]")
    return node.attributes.get("datetime") if node is not None else None


def _iso(text: str | None) -> datetime | None:
    """Fallback while dates.py is absent: ISO 8601 with an offset only."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else None
