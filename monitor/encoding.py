"""Bytes of an HTML page → text, with the right charset.

Order: the source's ``encoding`` override, a byte-order mark, the HTTP header charset, the
``<meta>`` (or XML declaration) charset in the first 4 KB, then detection (charset-normalizer).
A declared charset is only believed when the bytes agree with it: a header saying UTF-8 on bytes
that are not UTF-8 falls through to ``<meta>``, and a legacy single-byte charset declared on bytes
that are valid, non-ASCII UTF-8 gives way to UTF-8. When the header and ``<meta>`` name two
charsets that both decode the bytes (windows-1251 vs KOI8-R), detection chooses between the two.
Decoding never raises.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from monitor.models import FetchResult

PRESCAN_BYTES = 4096
DETECT_BYTES = 65536

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Labels servers send that Python spells differently (after WHATWG's Encoding Standard).
_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "x-cp1251": "cp1251",
    "win-1251": "cp1251",
    "x-mac-cyrillic": "mac-cyrillic",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-sjis": "shift_jis",
}
# Labels that are usually a web server's default rather than the author's choice.
_WEAK = {"cp1252"}
_META = re.compile(
    rb"""<meta[^>]{0,512}?charset\s*=\s*["']?\s*([A-Za-z0-9_:.+-]{1,40})""", re.IGNORECASE
)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9_.:+-]{1,40})""")
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?\s*([^\s;"']+)""", re.IGNORECASE)


def codec_name(label: str | None) -> str | None:
    """Python's codec name for a charset label, or None if Python has no such codec."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def header_charset(content_type: str | None) -> str | None:
    """The ``charset=`` parameter of a Content-Type header value."""
    if not content_type:
        return None
    m = _CHARSET_PARAM.search(content_type)
    return m.group(1) if m else None


def _bom(content: bytes) -> str | None:
    for bom, name in _BOMS:
        if content.startswith(bom):
            return name
    return None


def _declared_in_markup(content: bytes) -> str | None:
    head = content[:PRESCAN_BYTES]
    m = _XML_DECL.match(head) or _META.search(head)
    if not m:
        return None
    name = codec_name(m.group(1).decode("ascii", "replace"))
    # A page read as ASCII-compatible bytes cannot really be UTF-16 (the WHATWG rule).
    if name and name.startswith("utf-16"):
        return "utf-8"
    return name


def _is_utf8(content: bytes) -> bool:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _agrees(content: bytes, name: str) -> bool:
    """Do the bytes fit the declared codec?"""
    try:
        content.decode(name)
    except UnicodeDecodeError:
        return False
    if name in ("utf-8", "utf-8-sig"):
        return True
    # Valid non-ASCII UTF-8 is almost never legacy text by accident.
    return content.isascii() or not _is_utf8(content)


def _detect(content: bytes) -> str | None:
    if _is_utf8(content):
        return "utf-8"
    best = from_bytes(content[:DETECT_BYTES]).best()
    return codec_name(best.encoding) if best is not None else None


def choose_charset(
    content: bytes, *, header_charset: str | None = None, override: str | None = None
) -> str:
    """The Python codec name ``decode_html`` will use for these bytes."""
    forced = codec_name(override)
    if forced:
        return forced
    bom = _bom(content)
    if bom:
        return bom
    header = codec_name(header_charset)
    meta = _declared_in_markup(content)
    if header and header in _WEAK and meta and meta != header and _agrees(content, meta):
        return meta
    fitting = [name for name in dict.fromkeys((header, meta)) if name and _agrees(content, name)]
    if len(fitting) == 2:  # header and <meta> disagree and both decode: let the text decide
        best = from_bytes(content[:DETECT_BYTES], cp_isolation=fitting).best()
        chosen = codec_name(best.encoding) if best is not None else None
        return chosen if chosen in fitting else fitting[0]
    if fitting:
        return fitting[0]
    return _detect(content) or "utf-8"


def decode_html(
    content: bytes, *, header_charset: str | None = None, override: str | None = None
) -> str:
    """Decode a page: override, BOM, header, ``<meta>``, detection. Never raises."""
    name = choose_charset(content, header_charset=header_charset, override=override)
    try:
        return content.decode(name, errors="replace")
    except LookupError:  # pragma: no cover - choose_charset only returns known codecs
        return content.decode("utf-8", errors="replace")


def decode_result(result: FetchResult, override: str | None = None) -> str:
    """Decode a fetched page using its Content-Type charset."""
    return decode_html(
        result.content,
        header_charset=header_charset(result.headers.get("content-type")),
        override=override,
    )
