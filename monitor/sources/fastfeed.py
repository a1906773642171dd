"""The strict fast path for feeds: lxml over bytes, entities off, no network.

``parse_fast(content, url)`` reads RSS 0.9x/2.0, RSS 1.0/0.90 (RDF), Atom 1.0 and JSON Feed, and
raises ``Refused`` for anything else (malformed XML, unknown roots, Atom 0.3): the caller then
falls back to feedparser. Entity declarations are refused by the caller before either parser runs.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from html.entities import name2codepoint
from typing import Any

from lxml import etree

from monitor.models import Item
from monitor.sources.base import ParsedFeed, absolute, clean_text, parse_feed_date


class Refused(Exception):
    """The fast path does not handle this document; use the fallback parser."""


ATOM = "http://www.w3.org/2005/Atom"
RSS1 = "http://purl.org/rss/1.0/"
RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
YANDEX = "http://news.yandex.ru"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "huge_tree": False,
    "load_dtd": False,
    "recover": False,
    "remove_comments": True,
    "remove_pis": True,
}
_PARSER = etree.XMLParser(**_PARSER_OPTIONS)
_XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}
_ENTITY_REF = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")
_BARE_AMP = re.compile(rb"&(?!(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});)")
_DOCTYPE_HEAD = re.compile(rb"<!DOCTYPE", re.I)
_HTML_TYPES = ("text/html", "application/xhtml+xml", "")


def _html_entity(m: re.Match[bytes]) -> bytes:
    name = m.group(1).decode("ascii")
    if name in _XML_ENTITIES or name not in name2codepoint:
        return m.group(0)
    return b"&#%d;" % name2codepoint[name]


_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_UTF16_DECL = re.compile(rb"^\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"']utf-16", re.I)


def _repair(content: bytes, message: str, encoding: str | None) -> tuple[bytes, str | None] | None:
    """One repair for a common flaw lxml rejects, or None when there is none to try."""
    ascii_compatible = b"\x00" not in content[:200]
    if ascii_compatible and encoding is None and _UTF16_DECL.match(content):
        return content, "utf-8"  # declares UTF-16 but is written in 8 bits
    if "Entity" in message and b"&" in content:
        # HTML named entities (&nbsp; &eacute;) and bare ampersands are the commonest flaws.
        fixed = _BARE_AMP.sub(b"&amp;", _ENTITY_REF.sub(_html_entity, content))
        if fixed != content:
            return fixed, encoding
    if "Char" in message and ascii_compatible and _CONTROL.search(content):
        return _CONTROL.sub(b"", content), encoding
    return None


def _parse_xml(content: bytes, url: str, encoding: str | None) -> etree._Element:
    if _DOCTYPE_HEAD.search(content, 0, 1024) and b"&" in content:
        # With an external DTD (RSS 0.91) lxml keeps unknown entities as references: expand the
        # HTML ones first. (Entity declarations were refused before.)
        content = _ENTITY_REF.sub(_html_entity, content)
    for _ in range(4):
        parser = _PARSER if encoding is None else etree.XMLParser(
            encoding=encoding, **_PARSER_OPTIONS
        )
        try:
            return etree.fromstring(content, parser, base_url=url or None)
        except etree.XMLSyntaxError as exc:
            repaired = _repair(content, str(exc), encoding)
            if repaired is None:
                raise Refused(f"XML: {exc}") from exc
            content, encoding = repaired
    raise Refused("XML: too many flaws")


def parse_fast(
    content: bytes, url: str = "", *, timezone: str = "UTC", encoding: str | None = None
) -> ParsedFeed:
    """Parse a feed strictly or raise ``Refused``. ``encoding`` overrides a missing declaration."""
    if content.lstrip()[:1] == b"{":
        return parse_json_feed(content, url, timezone=timezone)
    root = _parse_xml(content, url, encoding)
    tag = root.tag
    if not isinstance(tag, str):
        raise Refused("no root element")
    if tag == "rss":
        channel = root.find("channel")
        if channel is None:
            raise Refused("rss without channel")
        return _rss(channel, channel, "", url, timezone, "rss")
    if tag == f"{{{RDF}}}RDF":
        for ns in (RSS1, RSS090):
            channel = root.find(f"{{{ns}}}channel")
            if channel is not None or root.find(f"{{{ns}}}item") is not None:
                return _rss(root, channel, ns, url, timezone, "rdf")
        raise Refused("RDF without an RSS channel")
    if tag == f"{{{ATOM}}}feed":
        return _atom(root, url, timezone)
    raise Refused(f"unknown root element {tag!r}")


# ---------------------------------------------------------------- helpers


def _text(el: etree._Element | None) -> str:
    if el is None:
        return ""
    if len(el):
        return "".join(el.itertext())
    return el.text or ""


def _base(el: etree._Element, url: str) -> str:
    try:
        return el.base or url
    except (ValueError, UnicodeDecodeError):
        return url


def _language(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    lang = el.get(XML_LANG)
    return lang.strip() or None if lang else None


def _guid(value: str | None, base: str) -> str | None:
    """A GUID, with a relative URL resolved (as feedparser does) so it stays one identity."""
    if not value:
        return None
    if value[0] in "/." and not value.startswith("//"):
        return absolute(base, value, fragment=True) or value
    return value


def _unique(items: list[Item]) -> tuple[Item, ...]:
    """Drop GUIDs shared by several entries (not an identity); drop repeated entries."""
    counts: dict[str, int] = {}
    for it in items:
        if it.guid:
            counts[it.guid] = counts.get(it.guid, 0) + 1
    out: list[Item] = []
    seen: set[tuple[str | None, str]] = set()
    for it in items:
        if it.guid and counts[it.guid] > 1:
            key: tuple[str | None, str] = (None, it.url)
            it = replace(it, guid=None)
        else:
            key = (it.guid, it.url)
        if key in seen:
            continue
        seen.add(key)
        out.append(it)
    return tuple(out)


def text_to_html(text: str) -> str:
    """Plain text as HTML paragraphs (blank lines separate paragraphs)."""
    paras = [p.strip() for p in re.split(r"\n\s*\n|\r\n\s*\r\n", text) if p.strip()]
    return "".join(f"<p>{html.escape(p)}</p>" for p in paras)


# ---------------------------------------------------------------- RSS (0.9x, 1.0, 2.0)


def _rss(
    root: etree._Element,
    channel: etree._Element | None,
    ns: str,
    url: str,
    timezone: str,
    fmt: str,
) -> ParsedFeed:
    q = f"{{{ns}}}" if ns else ""
    feed_lang = _language(root) or _language(channel)
    title = link = None
    if channel is not None:
        title = clean_text(_text(channel.find(f"{q}title")))
        link = absolute(_base(channel, url), _text(channel.find(f"{q}link")))
        lang_el = channel.find(f"{q}language")
        if lang_el is None:
            lang_el = channel.find(f"{{{DC}}}language")
        if lang_el is not None and (lang_el.text or "").strip():
            feed_lang = (lang_el.text or "").strip()
    holder = root if fmt == "rdf" else channel
    assert holder is not None
    items = [
        it
        for el in holder.iterchildren(f"{q}item")
        if (it := _rss_item(el, q, url, timezone, feed_lang)) is not None
    ]
    return ParsedFeed(fmt, _unique(items), title=title, link=link)


def _rss_item(
    el: etree._Element, q: str, url: str, timezone: str, feed_lang: str | None
) -> Item | None:
    title = link = guid = pub = upd = author = summary = body = None
    guid_link = False
    cats: list[str] = []
    alt: str | None = None
    own = q[1:-1]
    for child in el:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if tag[0] == "{":
            ns, _, local = tag[1:].partition("}")
        else:
            ns, local = "", tag
        if ns == own:
            if local == "title" and title is None:
                title = _text(child)
            elif local == "link" and link is None:
                link = _text(child).strip()
            elif local == "guid" and guid is None:
                guid = _text(child).strip()
                guid_link = (child.get("isPermaLink") or "true").strip().lower() == "true"
            elif local == "pubDate" and pub is None:
                pub = _text(child)
            elif local == "description" and summary is None:
                summary = _text(child)
            elif local == "author" and author is None:
                author = _text(child)
            elif local == "category":
                cats.append(_text(child))
        elif ns == DC:
            if local == "date" and pub is None:
                pub = _text(child)
            elif local == "creator" and author is None:
                author = _text(child)
            elif local == "title" and title is None:
                title = _text(child)
            elif local == "subject":
                cats.append(_text(child))
            elif local == "identifier" and guid is None:
                guid = _text(child).strip()
        elif ns == CONTENT and local == "encoded" and body is None:
            body = _text(child)
        elif ns == DCTERMS:
            if local == "modified" and upd is None:
                upd = _text(child)
            elif local in ("issued", "created") and pub is None:
                pub = _text(child)
        elif ns == ATOM:
            if local == "link" and alt is None and child.get("rel", "alternate") == "alternate":
                alt = child.get("href")
            elif local == "updated" and upd is None:
                upd = _text(child)
            elif local == "published" and pub is None:
                pub = _text(child)
        elif ns.startswith(YANDEX) and local == "full-text" and body is None:
            body = text_to_html(_text(child))
    base = _base(el, url)
    href = link or alt
    if not href and guid and guid_link:
        href = guid
    about = el.get(f"{{{RDF}}}about") if q else None
    if not href:
        href = about
    guid = guid or (about.strip() if about else None)
    item_url = absolute(base, href, fragment=True)
    if item_url is None:
        return None
    return Item(
        url=item_url,
        guid=_guid(guid, base),
        title=clean_text(title),
        published_at=parse_feed_date(pub, timezone),
        updated_at=parse_feed_date(upd, timezone),
        body_html=body.strip() or None if body else None,
        summary=summary.strip() or None if summary else None,
        author=clean_text(author),
        categories=tuple(c for c in (clean_text(x) for x in cats) if c),
        language=_language(el) or feed_lang,
    )


# ---------------------------------------------------------------- Atom 1.0

A = f"{{{ATOM}}}"


def _atom_text(el: etree._Element | None) -> tuple[str, bool]:
    """An Atom text construct as (value, is_html)."""
    if el is None:
        return "", False
    kind = (el.get("type") or "text").lower()
    if kind == "xhtml":
        div = el.find("{http://www.w3.org/1999/xhtml}div")
        node = div if div is not None else el
        inner = (node.text or "") if node.text else ""
        inner = html.escape(inner) + "".join(
            etree.tostring(c, encoding="unicode", method="html", with_tail=True)
            for c in node
        )
        return re.sub(r'\s?xmlns(:\w+)?="[^"]*"', "", inner), True
    if kind in ("html", "text/html"):
        return _text(el), True
    return _text(el), False


def _atom_link(el: etree._Element, base: str) -> str | None:
    """The alternate HTML link: rel=alternate (the default) preferring an HTML type."""
    first_alt = first_any = None
    for link in el.iterchildren(f"{A}link"):
        href = link.get("href")
        if not href:
            continue
        rel = (link.get("rel") or "alternate").strip()
        if rel == "alternate":
            if (link.get("type") or "").lower() in _HTML_TYPES:
                return absolute(_base(link, base), href, fragment=True)
            first_alt = first_alt or absolute(_base(link, base), href, fragment=True)
        elif first_any is None and rel not in ("self", "edit", "replies", "enclosure"):
            first_any = absolute(_base(link, base), href, fragment=True)
    return first_alt or first_any


def _atom(root: etree._Element, url: str, timezone: str) -> ParsedFeed:
    feed_lang = _language(root)
    title = clean_text(_atom_text(root.find(f"{A}title"))[0])
    base = _base(root, url)
    link = _atom_link(root, url)
    next_url = None
    for el in root.iterchildren(f"{A}link"):
        if (el.get("rel") or "").strip() == "next" and el.get("href"):
            next_url = absolute(base, el.get("href"))
            break
    items = [
        it
        for el in root.iterchildren(f"{A}entry")
        if (it := _atom_entry(el, url, timezone, feed_lang)) is not None
    ]
    return ParsedFeed("atom", _unique(items), title=title, link=link, next_url=next_url)


def _atom_entry(
    el: etree._Element, url: str, timezone: str, feed_lang: str | None
) -> Item | None:
    title = guid = pub = upd = author = summary = body = None
    cats: list[str] = []
    for child in el:
        tag = child.tag
        if not isinstance(tag, str) or not tag.startswith(A):
            if tag == f"{{{DC}}}creator" and author is None:
                author = _text(child)
            continue
        local = tag[len(A):]
        if local == "title" and title is None:
            title = _atom_text(child)[0]
        elif local == "id" and guid is None:
            guid = _text(child).strip()
        elif local == "published" and pub is None:
            pub = _text(child)
        elif local == "updated" and upd is None:
            upd = _text(child)
        elif local == "author" and author is None:
            author = _text(child.find(f"{A}name")) or _text(child.find(f"{A}email"))
        elif local == "category":
            cats.append(child.get("label") or child.get("term") or "")
        elif local == "summary" and summary is None:
            value, is_html = _atom_text(child)
            summary = value if is_html else text_to_html(value)
        elif local == "content" and body is None and not child.get("src"):
            kind = (child.get("type") or "text").lower()
            if kind in ("text", "html", "xhtml", "text/html", "text/plain"):
                value, is_html = _atom_text(child)
                body = value if is_html else text_to_html(value)
    href = _atom_link(el, url)
    if href is None and guid and guid.startswith(("http://", "https://")):
        href = guid
    if href is None:
        return None
    return Item(
        url=href,
        guid=_guid(guid, _base(el, url)),
        title=clean_text(title),
        published_at=parse_feed_date(pub, timezone),
        updated_at=parse_feed_date(upd, timezone),
        body_html=body.strip() or None if body else None,
        summary=summary.strip() or None if summary else None,
        author=clean_text(author),
        categories=tuple(c for c in (clean_text(x) for x in cats) if c),
        language=_language(el) or feed_lang,
    )


# ---------------------------------------------------------------- JSON Feed 1.0/1.1


def _str(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def parse_json_feed(content: bytes, url: str = "", *, timezone: str = "UTC") -> ParsedFeed:
    """A JSON Feed (https://jsonfeed.org); raises ``Refused`` for other JSON."""
    try:
        doc = json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(f"JSON: {exc}") from exc
    if not isinstance(doc, dict) or "jsonfeed.org" not in str(doc.get("version", "")):
        raise Refused("JSON that is not a JSON Feed")
    items: list[Item] = []
    for entry in doc.get("items") or []:
        if not isinstance(entry, dict):
            continue
        href = absolute(url, _str(entry.get("url")) or _str(entry.get("external_url")),
                        fragment=True)
        guid = _str(entry.get("id")) if not isinstance(entry.get("id"), int) else str(entry["id"])
        if href is None and guid and guid.startswith(("http://", "https://")):
            href = guid
        if href is None:
            continue
        body = _str(entry.get("content_html"))
        if body is None and _str(entry.get("content_text")):
            body = text_to_html(entry["content_text"])
        authors = entry.get("authors") or ([entry["author"]] if entry.get("author") else [])
        author = next(
            (_str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name")), None
        )
        tags: list[Any] = entry["tags"] if isinstance(entry.get("tags"), list) else []
        items.append(
            Item(
                url=href,
                guid=guid,
                title=clean_text(_str(entry.get("title"))),
                published_at=parse_feed_date(_str(entry.get("date_published")), timezone),
                updated_at=parse_feed_date(_str(entry.get("date_modified")), timezone),
                body_html=body,
                summary=_str(entry.get("summary")),
                author=clean_text(author),
                categories=tuple(t for t in (clean_text(_str(x)) for x in tags) if t),
                language=_str(entry.get("language")) or _str(doc.get("language")),
            )
        )
    return ParsedFeed(
        "json",
        _unique(items),
        title=clean_text(_str(doc.get("title"))),
        link=absolute(url, _str(doc.get("home_page_url"))),
        next_url=absolute(url, _str(doc.get("next_url"))),
    )
