"""RSS 0.9x/1.0/2.0 and Atom feeds, parsed from bytes already fetched (never from a URL).

``parse_feed`` refuses entity declarations and HTML pages first, then tries the strict lxml fast
path (``fastfeed``) and falls back to feedparser for whatever that refuses. ``FeedKind`` follows
Atom ``rel="next"`` pages up to ``source.pages``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import feedparser

from monitor.encoding import codec_name, decode_html, header_charset
from monitor.errors import BotWallError, ParseError
from monitor.models import FetchResult, Item, Listing
from monitor.sources.base import (
    FetchingKind,
    Getter,
    ParsedFeed,
    absolute,
    clean_text,
    follow_pages,
    parse_feed_date,
    struct_to_utc,
)
from monitor.sources.detect import (
    declares_entities,
    describe_html,
    feed_links,
    gunzip,
    is_gzip,
    looks_like_html,
)
from monitor.sources.fastfeed import Refused, parse_fast

if TYPE_CHECKING:
    from monitor.config import SourceConfig
    from monitor.store import SourceState

_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]{0,200}?encoding\s*=", re.S)
_HTML_CONTENT = ("text/html", "application/xhtml+xml", "html", "xhtml")


def _fast_encoding(content: bytes, content_type: str, override: str | None) -> str | None:
    """The encoding lxml must be told: the override, or a header charset the XML does not
    declare itself (no BOM, no encoding in the declaration)."""
    if override:
        return codec_name(override)
    charset = codec_name(header_charset(content_type))
    if not charset or charset in ("utf-8", "ascii"):
        return None
    if content[:2] in (b"\xff\xfe", b"\xfe\xff") or content[:3] == b"\xef\xbb\xbf":
        return None
    if _XML_ENCODING.match(content):
        return None
    return charset


def parse_feed(
    content: bytes,
    url: str = "",
    *,
    timezone: str = "UTC",
    content_type: str = "",
    encoding: str | None = None,
) -> ParsedFeed:
    """Items of a feed. ``content_type`` is the whole header value (its charset is used).

    Raises ParseError for entity declarations and unreadable XML, BotWallError for HTML pages.
    """
    if is_gzip(content):
        content = gunzip(content)
    if declares_entities(content):
        raise ParseError("feed declares XML entities; refused", url=url or None)
    mime = content_type.split(";")[0].strip().lower()
    if looks_like_html(content, mime):
        page = decode_html(content, header_charset=header_charset(content_type), override=encoding)
        hint = ""
        links = feed_links(page, url) if url else []
        if links:
            hint = f"; the page advertises a feed at {links[0]}"
        raise BotWallError(
            f"got an HTML page instead of a feed ({describe_html(page)}){hint}", url=url or None
        )
    try:
        return parse_fast(
            content, url, timezone=timezone,
            encoding=_fast_encoding(content, content_type, encoding),
        )
    except Refused:
        pass
    return parse_with_feedparser(content, url, timezone=timezone, content_type=content_type)


def parse_with_feedparser(
    content: bytes, url: str = "", *, timezone: str = "UTC", content_type: str = ""
) -> ParsedFeed:
    """The lenient fallback. Raises ParseError when feedparser finds no feed at all."""
    headers = {"content-location": url} if url else {}
    if content_type:
        headers["content-type"] = content_type
    # A stream, never bytes or str: feedparser would treat those as a file name or a URL.
    d = feedparser.parse(io.BytesIO(content), response_headers=headers)
    fmt = str(d.get("version") or "rss")
    fmt = "atom" if fmt.startswith("atom") else "rdf" if fmt in ("rss090", "rss10") else "rss"
    feed_lang = d.feed.get("language") or None
    items = [it for e in d.entries if (it := _entry(e, url, timezone, feed_lang)) is not None]
    if not items and (d.get("bozo") or not d.get("version")):
        # A broken feed with no usable entries must not pass for a feed with no news.
        problem = d.get("bozo_exception") or "no RSS or Atom root element"
        raise ParseError(f"malformed feed: {problem}", url=url or None)
    next_url = None
    for link in d.feed.get("links", []):
        if link.get("rel") == "next" and link.get("href"):
            next_url = absolute(url, link["href"])
            break
    return ParsedFeed(
        fmt,
        tuple(items),
        title=clean_text(d.feed.get("title")),
        link=absolute(url, d.feed.get("link")),
        next_url=next_url,
        parser="feedparser",
    )


def _entry(e: Any, url: str, timezone: str, feed_lang: str | None) -> Item | None:
    guid = (e.get("id") or "").strip() or None
    href = absolute(url, e.get("link"), fragment=True)
    if href is None and guid and guid.startswith(("http://", "https://")):
        href = guid
    if href is None:
        return None
    body = None
    for c in e.get("content", []):
        if c.get("value") and (c.get("type") or "text/html").lower() in (
            "text/html", "application/xhtml+xml", "text/plain"
        ):
            body = c["value"]
            break
    published = parse_feed_date(e.get("published"), timezone) or struct_to_utc(
        e.get("published_parsed")
    )
    # dict.get: FeedParserDict.get("updated") falls back to `published`, with a warning.
    updated = parse_feed_date(dict.get(e, "updated"), timezone) or struct_to_utc(
        dict.get(e, "updated_parsed")
    )
    tags = tuple(
        c for c in (clean_text(t.get("label") or t.get("term")) for t in e.get("tags", [])) if c
    )
    return Item(
        url=href,
        guid=guid,
        title=clean_text(e.get("title")),
        published_at=published,
        updated_at=updated,
        body_html=body,
        summary=e.get("summary") or None,
        author=clean_text(e.get("author")),
        categories=tags,
        language=(e.get("title_detail") or {}).get("language") or feed_lang,
    )


def _key(item: Item) -> str:
    return item.guid or item.url


class FeedKind(FetchingKind):
    """An RSS or Atom feed; Atom ``rel="next"`` pages are followed up to ``source.pages``."""

    name = "feed"

    async def from_result(
        self, source: SourceConfig, fetcher: Getter, state: SourceState, first: FetchResult
    ) -> Listing:
        def parse(result: FetchResult) -> tuple[Sequence[Item], str | None]:
            parsed = _parse_result(result, source)
            return parsed.items, parsed.next_url

        items, pages = await follow_pages(source, fetcher, first, parse, _key)
        return Listing(
            items=tuple(items.values()), validators=first.validators, pages=pages, kind=self.name
        )


def _parse_result(result: FetchResult, source: SourceConfig) -> ParsedFeed:
    try:
        return parse_feed(
            result.content,
            result.url,
            timezone=source.timezone,
            content_type=result.headers.get("content-type", ""),
            encoding=source.encoding,
        )
    except ParseError as exc:
        exc.source = source.name
        exc.url = exc.url or result.url
        raise
