"""Sitemaps: ``urlset`` (with Google News tags), ``sitemapindex``, gzipped, or plain text.

An index's children are read newest first (by ``lastmod``; document order without one), at most
``source.pages`` of them, nested indexes up to ``MAX_DEPTH`` deep. Items come newest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lxml import etree

from monitor.encoding import decode_html, header_charset
from monitor.errors import BotWallError, ParseError
from monitor.models import FetchResult, Item, Listing
from monitor.sources.base import (
    FetchingKind,
    Getter,
    absolute,
    clean_text,
    fetch_more,
    parse_feed_date,
)
from monitor.sources.detect import declares_entities, describe_html, gunzip, is_gzip, root_name

if TYPE_CHECKING:
    from monitor.config import SourceConfig
    from monitor.store import SourceState

MAX_DEPTH = 3
_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "huge_tree": False,
    "load_dtd": False,
    "remove_comments": True,
    "remove_pis": True,
}
_STRICT = etree.XMLParser(recover=False, **_OPTIONS)
_LENIENT = etree.XMLParser(recover=True, **_OPTIONS)


@dataclass(frozen=True)
class Sitemap:
    """One sitemap file: its URLs, or (for an index) its children with their lastmod."""

    items: tuple[Item, ...] = ()
    children: tuple[tuple[str, datetime | None], ...] = ()


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _child_text(el: etree._Element, name: str) -> str | None:
    for child in el:
        if _local(child.tag) == name:
            return "".join(child.itertext()).strip() or None
    return None


def parse_sitemap(
    content: bytes, url: str = "", *, timezone: str = "UTC", content_type: str = ""
) -> Sitemap:
    """Parse one sitemap file. Raises ParseError (BotWallError for an HTML page)."""
    if is_gzip(content):
        content = gunzip(content)
    root = root_name(content)
    if root is None and content_type in ("text/plain", ""):
        return _plain(content, url)
    if root == "html" or (root is None and content_type == "text/html"):
        page = decode_html(content, header_charset=header_charset(content_type))
        raise BotWallError(f"got an HTML page instead of a sitemap ({describe_html(page)})",
                           url=url or None)
    if declares_entities(content):
        raise ParseError("sitemap declares XML entities; refused", url=url or None)
    try:
        tree = etree.fromstring(content, _STRICT, base_url=url or None)
    except etree.XMLSyntaxError:
        try:
            tree = etree.fromstring(content, _LENIENT, base_url=url or None)
        except etree.XMLSyntaxError as exc:
            raise ParseError(f"malformed sitemap: {exc}", url=url or None) from exc
    if tree is None:
        raise ParseError("malformed sitemap: no root element", url=url or None)
    kind = _local(tree.tag)
    if kind == "sitemapindex":
        children = []
        for el in tree:
            if _local(el.tag) == "sitemap":
                loc = absolute(url, _child_text(el, "loc"))
                if loc:
                    children.append((loc, parse_feed_date(_child_text(el, "lastmod"), timezone)))
        return Sitemap(children=tuple(children))
    if kind != "urlset":
        raise ParseError(f"not a sitemap: root element <{kind}>", url=url or None)
    items = []
    for el in tree:
        if _local(el.tag) != "url":
            continue
        loc = absolute(url, _child_text(el, "loc"))
        if not loc:
            continue
        title = published = language = None
        for child in el:
            if _local(child.tag) == "news":
                title = clean_text(_child_text(child, "title"))
                published = parse_feed_date(_child_text(child, "publication_date"), timezone)
                for pub in child:
                    if _local(pub.tag) == "publication":
                        language = _child_text(pub, "language")
                keywords = _child_text(child, "keywords")
                break
        else:
            keywords = None
        items.append(
            Item(
                url=loc,
                title=title,
                published_at=published,
                updated_at=parse_feed_date(_child_text(el, "lastmod"), timezone),
                language=language,
                categories=tuple(k.strip() for k in (keywords or "").split(",") if k.strip()),
            )
        )
    return Sitemap(items=tuple(items))


def _plain(content: bytes, url: str) -> Sitemap:
    """A text sitemap: one URL a line."""
    text = content.decode("utf-8", "replace")
    items = []
    for line in text.splitlines():
        href = absolute(url, line.strip()) if line.strip().startswith("http") else None
        if href:
            items.append(Item(url=href))
    if not items and text.strip():
        raise ParseError("not a sitemap: neither XML nor a list of URLs", url=url or None)
    return Sitemap(items=tuple(items))


_OLD = datetime.min.replace(tzinfo=UTC)


def _newest_first(item: Item) -> datetime:
    return item.published_at or item.updated_at or _OLD


class SitemapKind(FetchingKind):
    """A sitemap or sitemap index (children followed up to ``source.pages`` files)."""

    name = "sitemap"

    async def from_result(
        self, source: SourceConfig, fetcher: Getter, state: SourceState, first: FetchResult
    ) -> Listing:
        items: dict[str, Item] = {}
        pages = 0
        budget = source.pages
        seen = {first.url, source.url}

        async def read(result: FetchResult, depth: int) -> None:
            nonlocal pages, budget
            pages += 1
            parsed = _parse_result(result, source)
            for item in parsed.items:
                items.setdefault(item.url, item)
            if depth >= MAX_DEPTH:
                return
            children = list(parsed.children)
            if any(lastmod for _, lastmod in children):
                children.sort(key=lambda c: c[1] or _OLD, reverse=True)
            for child, _ in children:
                if budget <= 0:
                    return
                if child in seen:
                    continue
                seen.add(child)
                budget -= 1
                await read(await fetch_more(source, fetcher, child), depth + 1)

        await read(first, 0)
        ordered = sorted(items.values(), key=_newest_first, reverse=True)
        return Listing(items=tuple(ordered), validators=first.validators, pages=pages,
                       kind=self.name)


def _parse_result(result: FetchResult, source: SourceConfig) -> Sitemap:
    try:
        return parse_sitemap(
            result.content, result.url, timezone=source.timezone,
            content_type=result.content_type,
        )
    except ParseError as exc:
        exc.source = source.name
        exc.url = exc.url or result.url
        raise
