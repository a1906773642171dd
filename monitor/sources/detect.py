"""What a fetched body is: a feed, a sitemap or an HTML page; and whether it is a bot wall.

``sniff`` looks at the root element (after the XML prolog), then at the content type.
``botwall_reason`` recognises challenge and "access denied" pages served with status 200.
``AutoKind`` is the kind used when a source has no ``type``.
"""

from __future__ import annotations

import codecs
import re
import zlib
from typing import TYPE_CHECKING

from selectolax.lexbor import LexborHTMLParser

from monitor.errors import ParseError
from monitor.models import FetchResult, Listing
from monitor.sources.base import Getter, absolute, clean_text, fetch_first, fetch_more

if TYPE_CHECKING:
    from monitor.config import SourceConfig
    from monitor.store import SourceState

FEED_ROOTS = {"rss", "feed", "rdf", "rdf:rdf", "channel"}
SITEMAP_ROOTS = {"urlset", "sitemapindex"}
FEED_TYPES = (
    "application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json"
)
MAX_GUNZIP = 50_000_000  # the sitemap protocol's limit on an uncompressed file

_PROLOG = re.compile(
    rb"""\A(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]|\[.*?\])*>)*<([A-Za-z_][\w:.-]*)""",
    re.S,
)
_COMMENT = re.compile(rb"<!--.*?-->", re.S)
_ELEMENT = re.compile(rb"<[A-Za-z_]")
_DOCTYPE = re.compile(rb"<!DOCTYPE(?:[^\[>]*)(\[.*?\]\s*)?>", re.S | re.I)


def gunzip(content: bytes, limit: int = MAX_GUNZIP) -> bytes:
    """Decompress gzip bytes (a ``.xml.gz`` file), at most ``limit`` bytes out."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(content, limit)
    except zlib.error as exc:
        raise ParseError(f"bad gzip data: {exc}") from exc
    if d.unconsumed_tail:
        raise ParseError(f"gzip data expands past {limit} bytes")
    return out


def is_gzip(content: bytes) -> bool:
    return content[:2] == b"\x1f\x8b"


def _ascii_head(content: bytes, size: int = 65536) -> bytes:
    """The start of the document as ASCII-compatible bytes (UTF-16 and BOMs handled)."""
    head = content[:size]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", "ignore").encode("utf-8", "ignore")
    if head.startswith(codecs.BOM_UTF8):
        return head[3:]
    if head[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        enc = "utf-16-le" if head[0] == 0x3C else "utf-16-be"
        return head.decode(enc, "ignore").encode("utf-8", "ignore")
    return head


def root_name(content: bytes) -> str | None:
    """The lower-cased name of the root element, or None (not markup, or a broken prolog)."""
    m = _PROLOG.match(_ascii_head(content))
    return m.group(1).decode("ascii", "ignore").lower() if m else None


def declares_entities(content: bytes) -> bool:
    """True when the DOCTYPE's internal subset declares entities (billion laughs, XXE)."""
    head = _COMMENT.sub(b"", _ascii_head(content))
    m = _DOCTYPE.search(head)
    if m is None or m.group(1) is None:
        return False
    if _ELEMENT.search(head, 0, m.start()):
        return False  # after the root element started: text, not a DOCTYPE
    return b"<!ENTITY" in m.group(1).upper()


def looks_like_html(content: bytes, content_type: str = "") -> bool:
    """An HTML page (by its root, or by its type when it is not a feed or sitemap)."""
    root = root_name(content)
    if root == "html":
        return True
    if root in FEED_ROOTS or root in SITEMAP_ROOTS:
        return False
    head = _ascii_head(content, 2048).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return True
    html_type = content_type in ("text/html", "application/xhtml+xml")
    return html_type and content.lstrip()[:1] not in (b"{", b"[")


def sniff(content: bytes, content_type: str = "") -> str:
    """feed, sitemap or html."""
    if is_gzip(content):
        content = gunzip(content)
    root = root_name(content)
    if root in FEED_ROOTS:
        return "feed"
    if root in SITEMAP_ROOTS:
        return "sitemap"
    if root == "html" or looks_like_html(content, content_type):
        return "html"
    if content.lstrip()[:1] == b"{" and b"jsonfeed.org" in content[:2048]:
        return "feed"
    if content_type in FEED_TYPES or content_type.endswith("/xml"):
        return "feed"  # a feed parser will say what is wrong with it
    return "html"


# ---------------------------------------------------------------- bot walls

_WALL_PHRASES = re.compile(
    r"please wait|just a moment|checking your browser|verify(?:ing)? you are (?:a )?human|"
    r"are you a robot|access denied|access to this page has been denied|attention required|"
    r"request unsuccessful|enable javascript and cookies|ddos protection|ddos-guard|"
    r"security check|bot protection|captcha|"
    r"пожалуйста, подождите|подождите|проверка браузера|доступ запрещ[её]н|вы не робот|"
    r"请稍候|访问被拒绝|安全验证",
    re.I,
)
_WALL_MARKUP = re.compile(
    r"/cdn-cgi/challenge-platform|__cf_chl_|cf-browser-verification|_Incapsula_Resource|"
    r"sucuri_cloudproxy|ddos-guard\.net|/_guard/|wpguard|bot-protection|"
    r"document\.cookie\s*=[^;]{0,200};\s*(?:window\.)?location(?:\.href)?\s*(?:=|\.reload)",
    re.I,
)
_WALL_TEXT_LIMIT = 1500  # a challenge page says little...
_WALL_LINK_LIMIT = 5  # ...and links nowhere


def _visible(tree: LexborHTMLParser) -> str:
    body = tree.body
    if body is None:
        return ""
    for node in body.css("script, style, noscript, template"):
        node.decompose()
    return clean_text(body.text(separator=" ")) or ""


def botwall_reason(page: str) -> str | None:
    """A short quote of what makes ``page`` look like a challenge, or None."""
    tree = LexborHTMLParser(page)
    title_node = tree.css_first("title")
    title = clean_text(title_node.text()) if title_node is not None else None
    marker = _WALL_MARKUP.search(page)
    has_script = tree.css_first("script") is not None
    text = _visible(tree)
    quote = title or text[:80] or (marker.group(0) if marker else "")
    # Challenge pages say little and link nowhere; CDNs put challenge scripts on real pages too.
    if len(text) < _WALL_TEXT_LIMIT and len(tree.css("a[href]")) < _WALL_LINK_LIMIT:
        if marker or _WALL_PHRASES.search(title or "") or _WALL_PHRASES.search(text):
            return f"'{quote}'"
        if not text and has_script:
            return f"'{quote}'" if quote else "an empty page that only runs a script"
    return None


def describe_html(page: str) -> str:
    """How an HTML page found where a feed should be looks, for the error message."""
    reason = botwall_reason(page)
    if reason:
        return f"looks like a bot-wall/challenge: {reason}"
    tree = LexborHTMLParser(page)
    node = tree.css_first("title")
    title = clean_text(node.text()) if node is not None else None
    return f"title: '{title}'" if title else "an HTML page without a title"


def feed_links(page: str, url: str) -> list[str]:
    """Feeds an HTML page advertises (``<link rel=alternate type=application/rss+xml>``)."""
    tree = LexborHTMLParser(page)
    base = url
    base_node = tree.css_first("base[href]")
    if base_node is not None:
        base = absolute(url, base_node.attributes.get("href")) or url
    found: list[str] = []
    comments: list[str] = []
    for node in tree.css("link[rel][href]"):
        rels = (node.attributes.get("rel") or "").lower().split()
        kind = (node.attributes.get("type") or "").lower().split(";")[0].strip()
        if "alternate" not in rels or kind not in FEED_TYPES:
            continue
        href = absolute(base, node.attributes.get("href"))
        if href is None or href in found or href in comments:
            continue
        title = (node.attributes.get("title") or "").lower()
        (comments if "comment" in title or "comments" in href.lower() else found).append(href)
    return found + comments


# ---------------------------------------------------------------- the auto kind


class AutoKind:
    """Detects the kind from the first answer; an HTML page advertising a feed reads the feed."""

    name = "auto"

    async def collect(self, source: SourceConfig, fetcher: Getter, state: SourceState) -> Listing:
        first = await fetch_first(source, fetcher, state)
        if first.not_modified:
            return Listing(not_modified=True, validators=state.validators)
        return await self.from_result(source, fetcher, state, first)

    async def from_result(
        self, source: SourceConfig, fetcher: Getter, state: SourceState, first: FetchResult
    ) -> Listing:
        from monitor.encoding import decode_result
        from monitor.sources import KINDS

        kind = sniff(first.content, first.content_type)
        if kind == "html":
            page = decode_result(first, source.encoding)
            links = feed_links(page, first.url)
            if links and botwall_reason(page) is None:
                feed = await fetch_more(source, fetcher, links[0])
                listing = await KINDS["feed"].from_result(source, fetcher, state, feed)
                return Listing(
                    items=listing.items,
                    validators=first.validators,
                    pages=listing.pages + 1,
                    kind="feed",
                )
        return await KINDS[kind].from_result(source, fetcher, state, first)

