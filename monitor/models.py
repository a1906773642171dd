"""Core value types passed between the pipeline's stages. Frozen, no behaviour beyond helpers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Validators:
    """What a conditional GET sends back: the stored ETag and Last-Modified of a URL."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """One HTTP answer, already limited in size and time. ``not_modified`` is a 304."""

    url: str  # the final URL, after redirects
    status: int
    headers: Mapping[str, str]  # lower-case names
    content: bytes = b""
    not_modified: bool = False
    elapsed: float = 0.0

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def validators(self) -> Validators:
        return Validators(self.headers.get("etag"), self.headers.get("last-modified"))


@dataclass(frozen=True)
class Item:
    """One entry found by a source (feed entry, listing link, sitemap URL) before extraction.

    ``body_html`` is set when the source itself carries the full text (a full-text feed).
    """

    url: str
    guid: str | None = None
    title: str | None = None
    published_at: datetime | None = None  # aware, UTC
    updated_at: datetime | None = None
    body_html: str | None = None
    summary: str | None = None
    author: str | None = None
    categories: tuple[str, ...] = ()
    language: str | None = None


@dataclass(frozen=True)
class Listing:
    """What one run of a source found. ``validators`` are for the source's own URL."""

    items: tuple[Item, ...] = ()
    not_modified: bool = False
    validators: Validators = field(default_factory=Validators)
    pages: int = 0
    kind: str = ""  # the detected or configured kind


@dataclass(frozen=True)
class Extracted:
    """What the extractor made of one article page."""

    title: str | None = None
    body: str = ""
    published_at: datetime | None = None  # aware; keeps the page's own offset where given
    updated_at: datetime | None = None
    language: str | None = None
    author: str | None = None
    attribution: str | None = None
    credit: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Article:
    """An article ready to be stored."""

    source: str
    url: str  # canonical URL
    title: str
    body: str
    first_seen_at: datetime
    guid: str | None = None
    published_at: datetime | None = None  # UTC
    updated_at: datetime | None = None
    language: str | None = None
    author: str | None = None
    attribution: str | None = None
    credit: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()
    fingerprint: str = ""  # hash of the normalised text
    raw_hash: str | None = None  # hash of the feed entry as given (full-text feeds)
    signature: bytes | None = None  # MinHash of the body, when already computed


@dataclass(frozen=True)
class StoredArticle:
    """An article as read back from the store."""

    id: int
    source: str
    url: str
    title: str
    body: str
    first_seen_at: str
    published_at: str | None
    updated_at: str | None
    language: str | None
    guid: str | None
    duplicate_of: int | None
    author: str | None = None
    attribution: str | None = None
    credit: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()
