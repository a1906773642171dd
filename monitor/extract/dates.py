"""Publication dates: parse one date string, or find (published, updated) on an article page.

``parse_date`` tries fast paths first (epoch, ISO 8601, RFC 822, numeric D.M.Y, "2021年12月8日",
day-month-year with month names in en/ru/fr/de/es) and falls back to dateparser only for the rest.

Rules shared by both functions:
- naive times are read in the source ``timezone``; explicit offsets are kept as given;
- nothing before ``MIN_YEAR`` and nothing in the future: a value with a time may be at most
  ``SKEW`` (2 hours: clocks and wrong offsets) after ``now``; a date-only value may be at most
  one calendar day after today's date in the source timezone (time zones ahead of ours).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from selectolax.lexbor import LexborHTMLParser, LexborNode

__all__ = ["MIN_YEAR", "SKEW", "find_dates", "parse_date"]

MIN_YEAR = 1990
SKEW = timedelta(hours=2)
_DATE_ONLY_SKEW = timedelta(days=1)
_LANGS = ("en", "ru", "fr", "de", "es", "zh")

_MONTHS: dict[str, int] = {}
for _num, _names in enumerate(
    (
        "january jan januar jänner janvier janv enero ene января январь янв",
        "february feb februar février fevrier févr fevr fév fev febrero февраля февраль фев",
        "march mar märz maerz mär mars marzo марта март",
        "april apr avril avr abril abr апреля апрель апр",
        "may mai mayo мая май",
        "june jun juni juin junio июня июнь июн",
        "july jul juli juillet juil julio июля июль июл",
        "august aug août aout agosto ago августа август авг",
        "september sep sept septembre septiembre setiembre set сентября сентябрь сен сент",
        "october oct oktober okt octobre octubre октября октябрь окт",
        "november nov novembre noviembre ноября ноябрь ноя",
        "december dec dezember dez décembre decembre déc diciembre dic декабря декабрь дек",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _num
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))

_TZ_ABBR = {
    "z": 0, "utc": 0, "gmt": 0, "msk": 180, "мск": 180, "cet": 60, "cest": 120, "eet": 120,
    "eest": 180, "bst": 60, "est": -300, "edt": -240, "pst": -480, "pdt": -420, "jst": 540,
}
_TZ = r"(?P<tz>(?:UTC|GMT)\s?[+-]\d{1,2}(?::?\d{2})?|Z|UTC|GMT|MSK|МСК|CEST|CET|EEST|EET|BST|EST|EDT|PST|PDT|JST|[+-]\d{2}(?::?\d{2})?)"  # noqa: E501

_EPOCH = re.compile(r"(\d{9,10})(?:\.\d+)?|(\d{12,13})")
_ISO = re.compile(
    r"(?<![\d.])(?P<y>(?:19|20)\d\d)(?P<s>[-/.])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})(?![\d])"
    r"(?:(?:T|\s+|,\s*)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?"
    r"\s*" + _TZ + r"?(?![\w])"
    r")?",
)
_RFC822 = re.compile(r"\s*(?:[A-Za-z]{3},?\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}")
_NUMERIC = re.compile(r"(?<![\d.:/])(\d{1,2})([./-])(\d{1,2})\2((?:19|20)\d\d|\d\d)(?![\d/])")
_ZH = re.compile(r"((?:19|20)\d\d)\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_DMY_TEXT = re.compile(
    r"(?<!\d)(\d{1,2})(?:st|nd|rd|th|er|\.|º)?\s*(?:de\s+|-)?(" + _MONTH_RE + r")\b\.?,?"
    r"\s*(?:de\s+|del\s+|-)?((?:19|20)\d\d)(?!\d)",
    re.IGNORECASE,
)
_MDY_TEXT = re.compile(
    r"\b(" + _MONTH_RE + r")\b\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+((?:19|20)\d\d)(?!\d)",
    re.IGNORECASE,
)
_TIME = re.compile(
    r"(?<![\d.:])(?P<H>\d{1,2})(?:[:h]|\s?时\s?|\s?點\s?)(?P<M>\d{2})(?::(?P<S>\d{2}))?(?![\d])"
    r"(?:\s*(?P<ampm>[ap]\.?\s?m\.?)(?![a-z]))?"
    r"(?:\s*\(?" + _TZ + r"\)?(?![\w]))?",
    re.IGNORECASE,
)
_BRACKETS = str.maketrans({c: " " for c in "（）()[]【】«»\"'"})


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _offset(tz: str | None) -> tzinfo | None:
    """A tzinfo for a matched zone token, or None when there is none."""
    if not tz:
        return None
    token = tz.strip().replace(" ", "").lower()
    if token in _TZ_ABBR:
        return timezone(timedelta(minutes=_TZ_ABBR[token]))
    m = re.fullmatch(r"(?:utc|gmt)?([+-])(\d{1,2}):?(\d{2})?", token)
    if not m:
        return None
    minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
    if minutes > 14 * 60:
        return None
    sign = -1 if m.group(1) == "-" else 1
    return timezone(timedelta(minutes=sign * minutes))


def _build(
    y: int, mo: int, d: int, hh: int | None, mm: int | None, ss: int | None, tz: tzinfo
) -> datetime | None:
    if y < 100:
        y += 2000 if y < 70 else 1900
    try:
        return datetime(y, mo, d, hh or 0, mm or 0, ss or 0, tzinfo=tz)
    except ValueError:
        return None


def _time_near(text: str, start: int, end: int) -> re.Match[str] | None:
    """A clock time right after the date (within a few words), else right before it."""
    after = _TIME.search(text, end, min(len(text), end + 30))
    if after:
        return after
    before = None
    for m in _TIME.finditer(text, max(0, start - 25), start):
        before = m
    return before


def _with_time(
    text: str, start: int, end: int, y: int, mo: int, d: int, tz: tzinfo
) -> tuple[datetime | None, bool]:
    t = _time_near(text, start, end)
    if t is None:
        return _build(y, mo, d, None, None, None, tz), False
    hh, mm = int(t.group("H")), int(t.group("M"))
    ampm = (t.group("ampm") or "").replace(".", "").replace(" ", "").lower()
    if ampm == "pm" and hh < 12:
        hh += 12
    elif ampm == "am" and hh == 12:
        hh = 0
    if hh > 23 or mm > 59:
        return _build(y, mo, d, None, None, None, tz), False
    zone = _offset(t.group("tz")) or tz
    return _build(y, mo, d, hh, mm, int(t.group("S") or 0), zone), True


def _fast(text: str, languages: Sequence[str], tz: tzinfo) -> tuple[datetime | None, bool] | None:
    """(value, has_time) from the regex paths; None when no fast path applies."""
    s = text.strip()
    m = _EPOCH.fullmatch(s)
    if m:
        secs = int(m.group(1)) if m.group(1) else int(m.group(2)) / 1000
        return datetime.fromtimestamp(secs, UTC), True
    if _RFC822.match(s):
        try:
            dt = parsedate_to_datetime(s)
        except (TypeError, ValueError, IndexError):
            dt = None
        if dt is not None:
            return (dt if dt.tzinfo else dt.replace(tzinfo=tz)), True
    s = s.translate(_BRACKETS)
    m = _ISO.search(s)
    if m:
        hh = m.group("H")
        zone = _offset(m.group("tz")) or tz
        dt = _build(
            int(m.group("y")), int(m.group("m")), int(m.group("d")),
            int(hh) if hh else None, int(m.group("M") or 0), int(m.group("S") or 0), zone,
        )
        if dt is not None:
            if hh is None:
                return _with_time(s, m.start(), m.end(), dt.year, dt.month, dt.day, tz)
            return dt, True
    compact = re.fullmatch(r"((?:19|20)\d\d)(\d\d)(\d\d)(?:T(\d\d)(\d\d)(\d\d)?(Z)?)?", s)
    if compact:
        g = compact.groups()
        zone = UTC if g[6] else tz
        hh2 = int(g[3]) if g[3] else None
        return _build(int(g[0]), int(g[1]), int(g[2]), hh2, int(g[4] or 0), int(g[5] or 0),
                      zone), hh2 is not None
    m = _ZH.search(s)
    if m:
        return _with_time(s, m.start(), m.end(), int(m.group(1)), int(m.group(2)),
                          int(m.group(3)), tz)
    m = _DMY_TEXT.search(s)
    if m:
        return _with_time(s, m.start(), m.end(), int(m.group(3)),
                          _MONTHS[m.group(2).lower()], int(m.group(1)), tz)
    m = _MDY_TEXT.search(s)
    if m:
        return _with_time(s, m.start(), m.end(), int(m.group(3)),
                          _MONTHS[m.group(1).lower()], int(m.group(2)), tz)
    m = _NUMERIC.search(s)
    if m:
        a, b, y = int(m.group(1)), int(m.group(3)), int(m.group(4))
        month_first = m.group(2) == "/" and (languages[:1] == ("en",) or not languages)
        if month_first and a <= 12 < b:
            pass
        elif month_first and b <= 12 < a:
            month_first = False
        mo, d = (a, b) if month_first else (b, a)
        return _with_time(s, m.start(), m.end(), y, mo, d, tz)
    return None


@lru_cache(maxsize=64)
def _parser(languages: tuple[str, ...], tz: str) -> Any:
    return _make_parser(languages, tz, None)


def _make_parser(languages: tuple[str, ...], tz: str, base: datetime | None) -> Any:
    from dateparser.date import DateDataParser

    order = {"en": "MDY", "zh": "YMD"}.get(languages[0], "DMY")
    settings: dict[str, Any] = {
        "PREFER_DAY_OF_MONTH": "first",
        "PREFER_DATES_FROM": "past",
        "DATE_ORDER": order,
        "RETURN_AS_TIMEZONE_AWARE": True,
        "TIMEZONE": tz,
    }
    if base is not None:
        settings["RELATIVE_BASE"] = base
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return DateDataParser(languages=list(languages), settings=settings)


def _slow(
    text: str, languages: Sequence[str], tz_name: str, now: datetime | None
) -> tuple[datetime | None, bool]:
    s = " ".join(text.split())
    if not s or len(s) > 100 or not re.search(r"[^\W\d_]", s):
        return None, False
    langs = tuple(lang for lang in (x.split("-")[0].lower() for x in languages) if lang in _LANGS)
    langs = tuple(dict.fromkeys(langs)) or _LANGS
    if now is None:
        parser = _parser(langs, tz_name)
    else:
        base = now.astimezone(_zone(tz_name)).replace(tzinfo=None)
        parser = _make_parser(langs, tz_name, base)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            data = parser.get_date_data(s)
        except (ValueError, TypeError, OverflowError):
            return None, False
    dt = data.date_obj if data else None
    if dt is None or "day" not in data.parts or "month" not in data.parts:
        return None, False
    off = dt.utcoffset()
    aware = dt.replace(tzinfo=timezone(off)) if off is not None else dt.replace(tzinfo=UTC)
    return aware, "time" in data.parts


def _too_new(dt: datetime, has_time: bool, now: datetime, tz: tzinfo) -> bool:
    if has_time:
        return dt > now + SKEW
    local_today = now.astimezone(tz).date()
    return dt.date() > local_today + _DATE_ONLY_SKEW


def _parse(
    text: str,
    languages: Sequence[str],
    tz_name: str,
    tz: tzinfo,
    now: datetime | None,
    slow: bool = True,
) -> tuple[datetime | None, bool]:
    """(value, has_time) with the year and future checks applied."""
    got = _fast(text, languages, tz)
    if got is None:
        if not slow:
            return None, False
        got = _slow(text, languages, tz_name, now)
    dt, has_time = got
    if dt is None or dt.year < MIN_YEAR:
        return None, False
    ref = now if now is not None else datetime.now(UTC)
    if ref.tzinfo is None:
        ref = ref.replace(tzinfo=UTC)
    if _too_new(dt, has_time, ref, tz):
        return None, False
    return dt, has_time


def parse_date(
    text: str,
    *,
    languages: Sequence[str] = (),
    timezone: str = "UTC",  # noqa: A002 - the contract's name
    now: datetime | None = None,
) -> datetime | None:
    """An aware datetime for ``text`` (keeping its own offset), or None.

    Naive values are read in ``timezone``; values before MIN_YEAR or in the future (see the
    module docstring) give None.
    """
    if not text or not isinstance(text, str):
        return None
    return _parse(text, languages, timezone, _zone(timezone), now)[0]


# ---------------------------------------------------------------------------------------------
# find_dates: the page's own (published, updated)

_PUB, _MOD = "pub", "mod"

# meta name/property/itemprop (lower-case) -> (kind, trust); lower trust is better
_META: dict[str, tuple[str, int]] = {}
for _names, _kind, _trust in (
    (
        "article:published_time og:published_time og:article:published_time article:published "
        "published_time publishdate publish_date publish-date publication_date date_published "
        "datepublished sailthru.date parsely-pub-date article.published article_date_original "
        "original-publish-date cxenseparse:recs:publishtime rnews:datepublished dc.date.issued "
        "dcterms.issued prism.publicationdate citation_publication_date citation_date "
        "citation_online_date pubdate bt:pubdate article.created datecreated dc.date.created "
        "dcterms.created created_time release_date",
        _PUB,
        10,
    ),
    ("date dc.date dcterms.date displaydate dc:date og:pubdate timestamp", _PUB, 30),
    (
        "article:modified_time og:updated_time og:modified_time modified_time datemodified "
        "dcterms.modified dc.date.modified article.updated last-modified lastmod updated_time "
        "revised eomportal-lastupdate",
        _MOD,
        10,
    ),
):
    for _name in _names.split():
        _META[_name] = (_kind, _trust)

_ARTICLE_TYPES = re.compile(r"article|posting|report|blog|story|newsarticle|liveblog", re.I)
_JSONLD_KEYS = {"datePublished": _PUB, "dateCreated": _PUB, "uploadDate": _PUB,
                "dateModified": _MOD}
_JSONLD_RE = re.compile(r'"(datePublished|dateCreated|uploadDate|dateModified)"\s*:\s*"([^"]+)"')

_SKIP_TAGS = frozenset({"aside", "footer", "nav", "form", "select", "option"})
_SKIP_CLASS = re.compile(
    r"related|sidebar|widget|comment|footer|recommend|popular|teaser|more-?news|latest|trending|"
    r"similar|also|other-?news|read-?more|breadcrumb|menu|navbar|rail|newsletter|promo|"
    r"reply|responses",
    re.I,
)
_MAIN_CLASS = re.compile(r"article|post|entry|content|story|news|main|text|body|hentry", re.I)
_UPD_LABEL = re.compile(
    r"(?:updated|modified|revised|aktualisiert|ge[äa]ndert|обновлен|изменен|mis à jour|"
    r"modifi[ée]|actualizad|modificad|更新|修改)[^\d]{0,25}$",
    re.I,
)
_URL_FULL = re.compile(
    r"(?<!\d)((?:19|20)\d\d)[/_-]?(0[1-9]|1[0-2])[/_-]?(0[1-9]|[12]\d|3[01])(?!\d)"
)
_URL_SEP = re.compile(r"/((?:19|20)\d\d)/(0?[1-9]|1[0-2])/(0?[1-9]|[12]\d|3[01])(?:/|$|[^\d])")
_URL_MONTH = re.compile(r"/((?:19|20)\d\d)[/_-](0[1-9]|1[0-2])(?:/|[_-][a-z]|$)")
_DATEISH = re.compile(
    r"(?:19|20)\d\d\s*年|\d{1,2}[./-]\d{1,2}[./-](?:19|20)?\d\d|(?:19|20)\d\d[./-]\d{1,2}[./-]\d"
    r"|\d{1,2}(?:st|nd|rd|th|er|\.|º)?\s*(?:de\s+)?(?:" + _MONTH_RE + r")\b"
    r"|\b(?:" + _MONTH_RE + r")\b\.?\s+\d{1,2}\b",
    re.I,
)


class _Cand:
    __slots__ = ("dt", "has_time", "kind", "trust", "order", "origin")

    def __init__(
        self, dt: datetime, has_time: bool, kind: str, trust: int, order: int, origin: str
    ) -> None:
        self.dt, self.has_time, self.kind = dt, has_time, kind
        self.trust, self.order, self.origin = trust, order, origin

    def __repr__(self) -> str:
        return f"<{self.kind} {self.trust} {self.origin} {self.dt.isoformat()} t={self.has_time}>"


class _Finder:
    """Collects dated candidates from one page; ``best()`` picks (published, updated)."""

    def __init__(
        self, tree: LexborHTMLParser, url: str, language: str | None, tz: str,
        now: datetime | None,
    ) -> None:
        self.tree, self.url, self.tz_name, self.now = tree, url, tz, now
        self.tz = _zone(tz)
        lang = language
        if not lang:
            html = tree.css_first("html")
            lang = (html.attributes.get("lang") or "") if html is not None else ""
        lang = (lang or "").split("-")[0].split("_")[0].lower()
        self.languages: tuple[str, ...] = (lang,) if lang in _LANGS else ()
        self.cands: list[_Cand] = []
        self.order = 0

    def add(self, text: str | None, kind: str, trust: int, origin: str, slow: bool = True) -> bool:
        if not text:
            return False
        text = text.strip()
        if not text or len(text) > 200:
            return False
        dt, has_time = _parse(text, self.languages, self.tz_name, self.tz, self.now, slow)
        if dt is None:
            return False
        self.order += 1
        self.cands.append(_Cand(dt, has_time, kind, trust, self.order, origin))
        return True

    # -- sources ---------------------------------------------------------------------------

    def jsonld(self) -> None:
        for node in self.tree.css('script[type="application/ld+json"]'):
            raw = node.text(deep=True) or ""
            if "date" not in raw:
                continue
            try:
                data = json.loads(raw)
            except ValueError:
                for m in _JSONLD_RE.finditer(raw):
                    self.add(m.group(2), _JSONLD_KEYS[m.group(1)], 5, "jsonld-re")
                continue
            self._walk(data, 0)

    def _walk(self, data: object, depth: int) -> None:
        if depth > 6:
            return
        if isinstance(data, list):
            for item in data[:50]:
                self._walk(item, depth + 1)
            return
        if not isinstance(data, dict):
            return
        kind = data.get("@type", "")
        kind = " ".join(kind) if isinstance(kind, list) else str(kind)
        if _ARTICLE_TYPES.search(kind):
            trust = 0
        elif "webpage" in kind.lower() or not kind:
            trust = 4
        else:
            trust = 12
        for key, which in _JSONLD_KEYS.items():
            value = data.get(key)
            if isinstance(value, str):
                self.add(value, which, trust + (1 if key != "datePublished" and which == _PUB
                                                else 0), f"jsonld:{kind}")
        for key, value in data.items():
            if key in ("@graph", "mainEntity", "mainEntityOfPage") or (
                isinstance(value, dict) and key not in ("publisher", "author", "image")
            ):
                if key != "@graph" and depth > 2:
                    continue
                self._walk(value, depth + 1)

    def meta(self) -> None:
        for node in self.tree.css("meta"):
            attrs = node.attributes
            content = attrs.get("content")
            if not content:
                continue
            for attr in ("property", "name", "itemprop", "http-equiv"):
                key = (attrs.get(attr) or "").strip().lower()
                if key and key in _META:
                    which, trust = _META[key]
                    if attr == "http-equiv":
                        trust = 40
                    self.add(content, which, trust, f"meta:{key}")
                    break

    def elements(self, region: LexborNode | None) -> None:
        """itemprop, hAtom/h-entry, <time> and <abbr> values, skipping related lists."""
        sel = (
            "[itemprop=datePublished], [itemprop=dateModified], [itemprop=dateCreated], "
            "time, abbr.published, abbr.updated, .dt-published, .dt-updated, [pubdate]"
        )
        for node in self.tree.css(sel):
            if node.tag == "meta" or _skipped(node):
                continue
            attrs = node.attributes
            value = attrs.get("datetime") or attrs.get("content") or attrs.get("title")
            text = node.text(deep=True) or ""
            if value is None or not _DATEISH.search(value) and not _ISO.search(value):
                value = text
            prop = (attrs.get("itemprop") or "").lower()
            cls = (attrs.get("class") or "").lower()
            which = _MOD if ("modified" in prop or "updated" in cls or "modified" in cls
                             or _UPD_LABEL.search(_before(node))) else _PUB
            marked = bool(prop) or "published" in cls or "updated" in cls or "pubdate" in attrs
            inside = region is not None and _within(node, region)
            trust = 6 if marked else 14
            if not inside:
                trust += 4
            if self.add(value, which, trust, f"el:{node.tag}") and value is not text:
                cand = self.cands[-1]
                if not cand.has_time:
                    self._time_from_text(cand, text)

    def _time_from_text(self, cand: _Cand, text: str) -> None:
        m = _TIME.search(text)
        if m and cand.dt.hour == 0 and cand.dt.minute == 0:
            combined = _with_time(text, 0, 0, cand.dt.year, cand.dt.month, cand.dt.day, self.tz)
            if combined[1] and combined[0] is not None:
                cand.dt, cand.has_time = combined[0], True

    def url_date(self) -> tuple[int, int] | None:
        """Adds a full URL date; returns (year, month) of a partial one."""
        path = self.url.split("://", 1)[-1]
        path = path[path.find("/"):] if "/" in path else ""
        m = _URL_SEP.search(path) or _URL_FULL.search(path)
        if m:
            y, mo, d = (int(g) for g in m.groups())
            dt = _build(y, mo, d, None, None, None, self.tz)
            if dt is not None and self._ok(dt, False):
                self.order += 1
                self.cands.append(_Cand(dt, False, _PUB, 16, self.order, "url"))
                return y, mo
        m2 = _URL_MONTH.search(path)
        return (int(m2.group(1)), int(m2.group(2))) if m2 else None

    def _ok(self, dt: datetime, has_time: bool) -> bool:
        ref = self.now or datetime.now(UTC)
        return dt.year >= MIN_YEAR and not _too_new(dt, has_time, ref, self.tz)

    def text(self, region: LexborNode | None, title: LexborNode | None) -> None:
        """Dates in the visible text around the title, labelled ones kept apart."""
        scope = region if region is not None else self.tree.body
        if scope is None:
            return
        full = scope.text(deep=True, separator="\n") or ""
        start = 0
        if title is not None:
            head = " ".join((title.text(deep=True) or "").split())[:40]
            pos = full.find(head[:20]) if head else -1
            if pos < 0 and head:
                flat = full
                pos = flat.find(head.split(" ")[0]) if head.split(" ")[0] else -1
            if pos >= 0:
                start = max(0, pos - 600)
        window = full[start : start + 3000]
        count = 0
        for m in _DATEISH.finditer(window):
            seg = window[max(0, m.start() - 5) : m.start() + 60]
            dt, has_time = _parse(seg, self.languages, self.tz_name, self.tz, self.now, False)
            if dt is None:
                continue
            label = window[max(0, m.start() - 40) : m.start()]
            which = _MOD if _UPD_LABEL.search(label) else _PUB
            self.order += 1
            self.cands.append(_Cand(dt, has_time, which, 18 + min(count, 5), self.order, "text"))
            count += 1
            if count >= 12:
                break

    # -- choice ----------------------------------------------------------------------------

    def best(self, month: tuple[int, int] | None) -> tuple[datetime | None, datetime | None]:
        pubs = sorted((c for c in self.cands if c.kind == _PUB), key=lambda c: (c.trust, c.order))
        mods = sorted((c for c in self.cands if c.kind == _MOD), key=lambda c: (c.trust, c.order))
        if month is not None:
            fit = [c for c in pubs if (c.dt.year, c.dt.month) == month]
            if fit:
                pubs = fit
        published = self._timed(pubs[0]) if pubs else None
        updated = self._timed(mods[0]) if mods else None
        if published is not None and updated is not None and updated <= published:
            updated = None
        return published, updated

    def _timed(self, cand: _Cand) -> datetime:
        if cand.has_time:
            return cand.dt
        day = cand.dt.date()
        for other in sorted(self.cands, key=lambda c: (c.trust, c.order)):
            if other.has_time and other.kind == cand.kind and other.dt.date() == day:
                return other.dt
        return cand.dt


def _skipped(node: LexborNode) -> bool:
    """True inside aside/footer/nav or a related/sidebar/comment block."""
    cur: LexborNode | None = node.parent
    depth = 0
    while cur is not None and depth < 25 and cur.tag not in ("body", "html"):
        if cur.tag in _SKIP_TAGS:
            return True
        attrs = cur.attributes
        names = (attrs.get("class") or "") + " " + (attrs.get("id") or "")
        if names.strip() and _SKIP_CLASS.search(names):
            return True
        cur = cur.parent
        depth += 1
    return False


def _within(node: LexborNode, region: LexborNode) -> bool:
    cur: LexborNode | None = node
    while cur is not None:
        if cur.mem_id == region.mem_id:
            return True
        cur = cur.parent
    return False


def _before(node: LexborNode) -> str:
    """A little text just before ``node`` (its previous siblings), for labels."""
    prev = node.prev
    parts: list[str] = []
    while prev is not None and len(parts) < 3:
        parts.append(prev.text(deep=True) or "")
        prev = prev.prev
    return " ".join(reversed(parts))[-40:]


def _title(tree: LexborHTMLParser) -> LexborNode | None:
    heads = tree.css("h1")
    for node in heads:
        if not _skipped(node) and len((node.text(deep=True) or "").strip()) >= 10:
            return node
    if heads:
        return heads[0]
    for sel in (".entry-title", "[itemprop=headline]", "h2"):
        found = tree.css_first(sel)
        if found is not None:
            return found
    return None


def _region(tree: LexborHTMLParser, title: LexborNode | None) -> LexborNode | None:
    """The article container: the title's article/main ancestor, else a few levels up."""
    if title is None:
        return tree.css_first("article") or tree.css_first("main") or tree.css_first(
            "[role=main]"
        )
    cur: LexborNode | None = title.parent
    fallback: LexborNode | None = None
    depth = 0
    while cur is not None and cur.tag not in ("body", "html"):
        if cur.tag in ("article", "main") or cur.attributes.get("role") == "main":
            return cur
        if depth == 2:
            fallback = cur
        cur = cur.parent
        depth += 1
    return fallback or (title.parent if title.parent is not None else None)


def find_dates(
    tree: LexborHTMLParser,
    url: str,
    *,
    language: str | None = None,
    timezone: str = "UTC",  # noqa: A002 - the contract's name
    now: datetime | None = None,
) -> tuple[datetime | None, datetime | None]:
    """(published, updated) of an article page; either may be None.

    Trust order: JSON-LD of an article type, publication meta tags, marked elements
    (itemprop, h-entry/hAtom, time[pubdate]), other JSON-LD, <time> near the title, the URL,
    dates in the visible text near the title ("Published …"; "Last updated …" is kept as
    updated). Dates in aside/footer/nav and related/sidebar/comment blocks are ignored.
    """
    finder = _Finder(tree, url, language, timezone, now)
    finder.jsonld()
    finder.meta()
    title = _title(tree)
    region = _region(tree, title)
    finder.elements(region)
    month = finder.url_date()
    finder.text(region, title)
    return finder.best(month)
