"""Publication dates: parse one date string, or find (published, updated) on an article page.

``parse_date`` tries fast regex paths first (epoch seconds/millis, RFC 822, ISO 8601 and its
variants, compact 20211208, D.M.Y numbers, "2021年12月8日", day-month-year and month-day-year
with month names in en/ru/fr/de/es) and falls back to dateparser (relative dates such as
"вчера в 14:30", weekday-rich or unusual forms) with the given languages, or all six when none
are given. ``a/b/yyyy`` is month-first only for English (or no language), else day-first.
One DateDataParser is cached per (languages, timezone); with an explicit ``now`` a fresh one
is built so that relative dates count from it.

Rules shared by both functions:
- naive times are read in the source ``timezone`` (an unknown zone name reads as UTC);
  explicit offsets are kept as given, even when they look wrong;
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
_OFFSET = re.compile(r"(?:utc|gmt)?([+-])(\d{1,2}):?(\d{2})?")
_LETTER = re.compile(r"[^\W\d_]")
_COMPACT = re.compile(r"((?:19|20)\d\d)(\d\d)(\d\d)(?:T(\d\d):?(\d\d)(?::?(\d\d))?(Z)?)?")
_CTIME = re.compile(
    r"[A-Za-z]{3}\s+(?P<mon>[A-Za-z]{3})\s+(?P<d>\d{1,2})\s+(?P<H>\d{1,2}):(?P<M>\d\d):(?P<S>\d\d)"
    r"\s+(?:" + _TZ + r"\s+)?(?P<y>(?:19|20)\d\d)"
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
    m = _OFFSET.fullmatch(token)
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
    return _apply_time(_time_near(text, start, end), y, mo, d, tz)


def _apply_time(
    t: re.Match[str] | None, y: int, mo: int, d: int, tz: tzinfo
) -> tuple[datetime | None, bool]:
    """The day with the clock time of ``t`` (and its zone, if any); (value, has_time)."""
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


def _fast(
    text: str, languages: Sequence[str], tz: tzinfo
) -> tuple[datetime | None, bool, int] | None:
    """(value, has_time, start offset) from the regex paths; None when none applies."""
    s = text.strip()
    lead = len(text) - len(text.lstrip())
    m = _EPOCH.fullmatch(s)
    if m:
        secs = int(m.group(1)) if m.group(1) else int(m.group(2)) / 1000
        return datetime.fromtimestamp(secs, UTC), True, lead
    if _RFC822.match(s):
        try:
            dt = parsedate_to_datetime(s)
        except (TypeError, ValueError, IndexError):
            dt = None
        if dt is not None:
            if dt.tzinfo is None:  # -0000 or a zone name email.utils does not know (MSK)
                zone = _offset(s.rsplit(None, 1)[-1]) if not s.endswith("-0000") else None
                dt = dt.replace(tzinfo=zone or tz)
            return dt, True, lead
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
                return (*_with_time(s, m.start(), m.end(), dt.year, dt.month, dt.day, tz),
                        lead + m.start())
            return dt, True, lead + m.start()
    compact = _COMPACT.fullmatch(s)
    if compact:
        g = compact.groups()
        zone = UTC if g[6] else tz
        hh2 = int(g[3]) if g[3] else None
        return _build(int(g[0]), int(g[1]), int(g[2]), hh2, int(g[4] or 0), int(g[5] or 0),
                      zone), hh2 is not None, lead
    m = _ZH.search(s)
    if m:
        return (*_with_time(s, m.start(), m.end(), int(m.group(1)), int(m.group(2)),
                          int(m.group(3)), tz), lead + m.start())
    m = _DMY_TEXT.search(s)
    if m:
        return (*_with_time(s, m.start(), m.end(), int(m.group(3)),
                          _MONTHS[m.group(2).lower()], int(m.group(1)), tz), lead + m.start())
    m = _MDY_TEXT.search(s)
    if m:
        return (*_with_time(s, m.start(), m.end(), int(m.group(3)),
                          _MONTHS[m.group(1).lower()], int(m.group(2)), tz), lead + m.start())
    m = _NUMERIC.search(s)
    if m:
        a, b, y = int(m.group(1)), int(m.group(3)), int(m.group(4))
        month_first = m.group(2) == "/" and (languages[:1] == ("en",) or not languages)
        if month_first and a <= 12 < b:
            pass
        elif month_first and b <= 12 < a:
            month_first = False
        mo, d = (a, b) if month_first else (b, a)
        return (*_with_time(s, m.start(), m.end(), y, mo, d, tz), lead + m.start())
    m = _CTIME.fullmatch(s)
    if m and m.group("mon").lower() in _MONTHS:
        zone = _offset(m.group("tz")) or tz
        return _build(int(m.group("y")), _MONTHS[m.group("mon").lower()], int(m.group("d")),
                      int(m.group("H")), int(m.group("M")), int(m.group("S")), zone), True, lead
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
    if not s or len(s) > 100 or not _LETTER.search(s):
        return None, False
    clock = _TIME.search(s)
    if clock and not _LETTER.search(s[: clock.start()] + s[clock.end() :]):
        return None, False  # a clock time alone is no date
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
    fast = _fast(text, languages, tz)
    if fast is not None:
        dt, has_time = fast[0], fast[1]
    elif slow:
        dt, has_time = _slow(text, languages, tz_name, now)
    else:
        return None, False
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

_SKIP_TAGS = frozenset({"aside", "footer", "nav", "form", "select", "option", "header"})
# class/id words of blocks whose dates are not the page's: anywhere, and outside the article
_SKIP_ANY = re.compile(
    r"related|comment|recommend|popular|teaser|more-?news|trending|similar|"
    r"other-?news|read-?more|newsletter|promo|reply|responses|widget_recent|recent-?posts",
    re.I,
)
_SKIP_OUT = re.compile(
    r"sidebar|footer|menu|navbar|topnav|breadcrumb|archive|calendar|cookie|latest|header-top|topbar",
    re.I,
)
_REGION_CLASS = re.compile(r"\b(?:h-?entry|post|article|entry|story|news-?detail)\b", re.I)
_DATE_CLASS = (
    "[class*=date], [class*=Date], [id*=date], [class*=time], [class*=publi], [class*=posted], "
    "[class*=byline], [class*=meta], [class*=datum], [class*=dateline], [class*=info], "
    "[class*=subline], [class*=timestamp], [class*=created]"
)
_PUB_LABEL = re.compile(
    r"(?:publi|posted|veröffentlicht|erschienen|erstellt|опубликовано|дата|datum|date|fecha|"
    r"发布|发表|日期|时间)[^\d]{0,25}$",
    re.I,
)
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
_WORD = re.compile(r"\w+")
_YEARLESS = re.compile(
    r"(?<![\d.])(\d{1,2})\.?\s*(?:de\s+)?(" + "|".join(
        sorted((n for n in _MONTHS if len(n) > 4), key=len, reverse=True)
    ) + r")\b(?![.,]?\s*(?:de\s+|del\s+)?\d)",
    re.I,
)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)|(?<![\d.])\d{1,2}\.\d{1,2}\.\d\d(?![\d.])")
_DATEISH = re.compile(
    r"(?:19|20)\d\d\s*年|\d{1,2}[./-]\d{1,2}[./-](?:19|20)?\d\d|(?:19|20)\d\d[./-]\d{1,2}[./-]\d"
    r"|\d{1,2}(?:st|nd|rd|th|er|\.|º)?\s*(?:de\s+)?(?:" + _MONTH_RE + r")\b"
    r"|\b(?:" + _MONTH_RE + r")\b\.?\s+\d{1,2}(?:st|nd|rd|th)?\b",
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
        self.seen: set[int] = set()
        self.title: LexborNode | None = None
        self.region: LexborNode | None = None
        self.url_day: tuple[int, int, int] | None = None
        self.url_month: tuple[int, int] | None = None

    def add(
        self, text: str | None, kind: str, trust: int, origin: str, slow: bool = True
    ) -> _Cand | None:
        if not text:
            return None
        text = text.strip()
        if not text or len(text) > 200:
            return None
        dt, has_time = _parse(text, self.languages, self.tz_name, self.tz, self.now, slow)
        if dt is None:
            return None
        cand = _Cand(dt, has_time, kind, trust, len(self.cands), origin)
        self.cands.append(cand)
        return cand

    def top(self) -> int:
        return min((c.trust for c in self.cands if c.kind == _PUB), default=99)

    # -- sources, in order of trust ----------------------------------------------------------

    def jsonld(self) -> None:
        for node in self.tree.css('script[type="application/ld+json"]'):
            raw = node.text(deep=True) or ""
            if "date" not in raw:
                continue
            try:
                data = json.loads(raw)
            except ValueError:
                for m in _JSONLD_RE.finditer(raw):
                    self.add(m.group(2), _JSONLD_KEYS[m.group(1)], 4, "jsonld-re")
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
            trust = 24
        for key, which in _JSONLD_KEYS.items():
            value = data.get(key)
            if isinstance(value, list) and value:
                value = value[0]
            if isinstance(value, str):
                extra = 1 if which == _PUB and key != "datePublished" else 0
                self.add(value, which, trust + extra, f"jsonld:{kind}")
        for key, value in data.items():
            if key == "@graph" or (
                depth <= 2 and isinstance(value, dict | list)
                and key in ("mainEntity", "mainEntityOfPage", "hasPart", "subjectOf")
            ):
                self._walk(value, depth + 1)

    def meta(self) -> None:
        for node in self.tree.css("meta[content]"):
            attrs = node.attributes
            content = attrs.get("content")
            if not content:
                continue
            for attr in ("property", "name", "itemprop", "http-equiv"):
                key = (attrs.get(attr) or "").strip().lower()
                if not key:
                    continue
                if key in _META:
                    which, trust = _META[key]
                    trust = 2 if trust == 10 else 17
                    if attr == "http-equiv":
                        trust = 40
                    self.add(content, which, trust, f"meta:{key}")
                elif "date" in key or "publish" in key or "time" in key or "modif" in key \
                        or "upload" in key or "created" in key or "updated" in key:
                    which = _MOD if ("modif" in key or "updat" in key or "revis" in key) else _PUB
                    if "expir" not in key and "end" not in key:
                        self.add(content, which, 17, f"meta?:{key}", slow=False)
                break

    def elements(self) -> None:
        """itemprop, hAtom/h-entry, <time> and <abbr> values, skipping related lists."""
        sel = (
            "[itemprop=datePublished], [itemprop=dateModified], [itemprop=dateCreated], "
            "[property$=datePublished], [property$=dateModified], [property$=dateCreated], "
            "time, abbr.published, abbr.updated, .dt-published, .dt-updated, [pubdate]"
        )
        for node in self.tree.css(sel):
            if node.tag == "meta":
                continue
            skipped, inside = _place(node, self.region)
            if skipped:
                continue
            attrs = node.attributes
            value = attrs.get("datetime") or attrs.get("content") or attrs.get("title")
            text = node.text(deep=True) or ""
            if not value or not _DATEISH.search(value) and not _ISO.search(value):
                value = text
            prop = (attrs.get("itemprop") or attrs.get("property") or "").lower()
            cls = (attrs.get("class") or "").lower()
            # WordPress marks an unmodified post "entry-date published updated": published wins
            which = _MOD if "modified" in prop or "published" not in cls and (
                "updated" in cls or "modified" in cls or _UPD_LABEL.search(_before(node))
            ) else _PUB
            marked = bool(prop) or "published" in cls or "updated" in cls or "pubdate" in attrs
            if marked:
                trust = 6 if inside or self.region is None else 8
            else:
                trust = 10 if inside else 20
            origin = f"el:{node.tag}" + ("" if inside else ":out")
            cand = self.add(value, which, trust, origin, slow=value is not text)
            if cand is not None:
                self.seen.add(node.mem_id)
                if value is not text and not cand.has_time:
                    self._time_from(cand, text + " " + _after(node))
        # many different days outside the article: a list of other items, not this page's date
        outside = [c for c in self.cands if c.origin.endswith(":out")]
        if len({c.dt.date() for c in outside}) >= 3:
            for c in outside:
                c.trust += 12

    def _time_from(self, cand: _Cand, text: str) -> None:
        """A date-only value takes the clock time shown in or right after its element."""
        m = _TIME.search(" ".join(text.split()))
        if m and cand.dt.hour == 0 and cand.dt.minute == 0:
            dt, has_time = _apply_time(m, cand.dt.year, cand.dt.month, cand.dt.day, self.tz)
            if has_time and dt is not None and self._ok(dt, True):
                cand.dt, cand.has_time = dt, True

    def url_date(self) -> None:
        path = self.url.split("://", 1)[-1]
        path = path[path.find("/"):] if "/" in path else ""
        if "archive.org" in self.url:
            path = path.split("/http", 1)[-1]
        m = _URL_SEP.search(path) or _URL_FULL.search(path)
        if m:
            y, mo, d = (int(g) for g in m.groups())
            dt = _build(y, mo, d, None, None, None, self.tz)
            if dt is not None and self._ok(dt, False):
                self.cands.append(_Cand(dt, False, _PUB, 15, len(self.cands), "url"))
                self.url_day, self.url_month = (y, mo, d), (y, mo)
                return
        m2 = _URL_MONTH.search(path)
        if m2:
            self.url_month = (int(m2.group(1)), int(m2.group(2)))

    def _ok(self, dt: datetime, has_time: bool) -> bool:
        ref = self.now or datetime.now(UTC)
        return dt.year >= MIN_YEAR and not _too_new(dt, has_time, ref, self.tz)

    def text(self) -> None:
        """Dates in the visible text around the title, labelled ones kept apart."""
        scope = self.region if self.region is not None else self.tree.body
        if scope is None:
            return
        full = _visible_text(scope)
        start = title_at = 0
        pos_known = False
        if self.title is not None:
            head = " ".join((self.title.text(deep=True) or "").split())[:20]
            pos = full.find(head) if head else -1
            if pos >= 0:
                start, title_at, pos_known = max(0, pos - 600), pos, True
        found = self._scan(full[start : start + 3000], 14, 18, "text", 8)
        if not found and pos_known:
            self._yearless(full[max(0, title_at - 200) : title_at + 600])

    def _yearless(self, window: str) -> None:
        """A day and month without a year near the title (an agency dateline, "МОСКВА, 8
        декабря. /ТАСС/."): the latest such day not after today."""
        m = _YEARLESS.search(window)
        if m is None:
            return
        today = (self.now or datetime.now(UTC)).astimezone(self.tz).date()
        month, day = _MONTHS[m.group(2).lower()], int(m.group(1))
        for year in (today.year, today.year - 1):
            dt, has_time = _with_time(window, m.start(), m.end(), year, month, day, self.tz)
            if dt is not None and dt.date() <= today and self._ok(dt, has_time):
                self.cands.append(_Cand(dt, has_time, _PUB, 26, len(self.cands), "yearless"))
                return

    def _scan(self, window: str, labelled: int, plain: int, origin: str, limit: int) -> int:
        """Adds up to ``limit`` dates found in ``window`` (anchored on 4-digit years)."""
        count = 0
        done_to = -1
        for y in _YEAR.finditer(window):
            if y.start() < done_to:
                continue
            base = max(0, y.start() - 32, done_to)
            seg = window[base : y.end() + 45]
            fast = _fast(seg, self.languages, self.tz)
            if fast is None:
                continue
            dt, has_time, off = fast
            if dt is None:
                continue
            start = base + off
            if start > y.start() or not self._ok(dt, has_time):
                continue
            done_to = y.end()
            label = window[max(0, start - 40) : start]
            upd = _UPD_LABEL.search(label)
            trust = labelled if upd or _PUB_LABEL.search(label) else plain + min(count, 3)
            self.cands.append(
                _Cand(dt, has_time, _MOD if upd else _PUB, trust, len(self.cands), origin)
            )
            count += 1
            if count >= limit:
                break
        return count

    def date_blocks(self) -> None:
        """Short elements named like a date (class/id date, time, meta, byline, datum...)."""
        done = 0
        for node in self.tree.css(_DATE_CLASS):
            if done >= 6:
                break
            if node.tag in ("html", "body", "meta", "script", "style", "link") \
                    or node.mem_id in self.seen:
                continue
            text = node.text(deep=True, separator=" ") or ""
            if len(text) > 250 or not _DATEISH.search(text):
                continue
            skipped, inside = _place(node, self.region)
            if skipped:
                continue
            if self._scan(" ".join(text.split()), 16 if inside else 22,
                          16 if inside else 22, "block", 2):
                done += 1

    def body(self) -> None:
        """Last resort: the first dates anywhere in the body text."""
        if self.tree.body is None:
            return
        self._scan(_visible_text(self.tree.body)[:20000], 30, 30, "body", 3)

    # -- choice ------------------------------------------------------------------------------

    def best(self) -> tuple[datetime | None, datetime | None]:
        pubs = sorted((c for c in self.cands if c.kind == _PUB), key=lambda c: (c.trust, c.order))
        mods = sorted((c for c in self.cands if c.kind == _MOD), key=lambda c: (c.trust, c.order))
        if self.url_day is not None:
            fit = [c for c in pubs if (c.dt.year, c.dt.month, c.dt.day) == self.url_day]
            if fit:
                pubs = fit
        elif self.url_month is not None:
            fit = [c for c in pubs if (c.dt.year, c.dt.month) == self.url_month]
            if fit:
                pubs = fit
        if pubs and mods and pubs[0].trust >= 30 > mods[0].trust:
            pubs = []  # a stray date in the body is no better than a stated modification
        if pubs and pubs[0].trust <= 4:
            pubs = self._confirmed(pubs)
        published = self._local(self._timed(pubs[0])) if pubs else None
        updated = self._local(self._timed(mods[0])) if mods else None
        if published is not None and updated is not None and updated <= published:
            updated = None
        return published, updated

    def split(self) -> bool:
        """True when structured sources give different publication days."""
        return len({c.dt.date() for c in self.cands if c.kind == _PUB and c.trust <= 4}) > 1

    def _visible(self) -> list[_Cand]:
        return [c for c in self.cands if c.origin.startswith(("el:", "text", "block"))]

    def _confirmed(self, pubs: list[_Cand]) -> list[_Cand]:
        """When structured sources disagree on the day, the one a visible date confirms."""
        if not self.split():
            return pubs
        structured = [c for c in pubs if c.trust <= 4]
        shown = {c.dt.date() for c in self._visible() if c.kind == _PUB}
        agree = [c for c in structured if c.dt.date() in shown]
        return agree + [c for c in pubs if c not in agree] if agree else pubs

    def _local(self, dt: datetime) -> datetime:
        """The same instant in the page's own offset, when a UTC value is also shown locally."""
        if dt.utcoffset() != timedelta(0):
            return dt
        for c in self._visible():
            off = c.dt.utcoffset()
            if c.has_time and off and abs((c.dt - dt).total_seconds()) < 60:
                return dt.astimezone(timezone(off))
        return dt

    def _timed(self, cand: _Cand) -> datetime:
        if cand.has_time:
            return cand.dt
        day = cand.dt.date()
        for other in sorted(self.cands, key=lambda c: (c.trust, c.order)):
            if other.has_time and other.kind == cand.kind and other.dt.date() == day:
                return other.dt
        return cand.dt


def _visible_text(node: LexborNode) -> str:
    """The text of ``node`` without the contents of its scripts and styles."""
    full = node.text(deep=True, separator="\n") or ""
    for code in node.css("script, style, noscript, template"):
        blob = code.text(deep=True) or ""
        if len(blob) > 10:
            full = full.replace(blob, "\n", 1)
    return full


@lru_cache(maxsize=4096)
def _block_kind(names: str) -> int:
    """2: a related/comment block; 1: a menu/footer-like block; 0: neither."""
    if _SKIP_ANY.search(names):
        return 2
    return 1 if _SKIP_OUT.search(names) else 0


def _place(node: LexborNode, region: LexborNode | None) -> tuple[bool, bool]:
    """(skipped, inside the region) for a node.

    Skipped: inside a related/sidebar/comment block anywhere, or outside the article inside
    aside/footer/nav/header or a menu/footer/breadcrumb block.
    """
    rid = region.mem_id if region is not None else -1
    out_skip = False
    cur: LexborNode | None = node.parent
    depth = 0
    while cur is not None and depth < 30:
        if cur.mem_id == rid:
            return False, True
        tag = cur.tag
        if tag in ("body", "html"):
            break
        if tag in _SKIP_TAGS:
            out_skip = True
        attrs = cur.attributes
        names = (attrs.get("class") or "") + " " + (attrs.get("id") or "")
        if len(names) > 1:
            kind = _block_kind(names)
            if kind == 2:
                return True, False
            if kind == 1:
                out_skip = True
        cur = cur.parent
        depth += 1
    return out_skip, False


def _before(node: LexborNode) -> str:
    """A little text just before ``node`` (its previous siblings), for labels."""
    prev = node.prev
    parts: list[str] = []
    while prev is not None and len(parts) < 3:
        parts.append(prev.text(deep=True) or "")
        prev = prev.prev
    text = " ".join(reversed(parts))[-40:]
    if not text.strip() and node.parent is not None and node.parent.prev is not None:
        text = (node.parent.prev.text(deep=True) or "")[-40:]
    return text


def _after(node: LexborNode) -> str:
    """The text of the next two siblings (a time in its own element)."""
    nxt = node.next
    parts: list[str] = []
    while nxt is not None and len(parts) < 2:
        parts.append(nxt.text(deep=True) or "")
        nxt = nxt.next
    return " ".join(parts)[:60]


def _words(text: str) -> str:
    return " ".join(text.split()).lower()


def _overlap(text: str, ref: str) -> float:
    """The share of the words of ``text`` that occur in ``ref``."""
    words = _WORD.findall(text)[:30]
    if not words:
        return 0.0
    have = set(_WORD.findall(ref))
    return sum(w in have for w in words) / len(words)


def _title(tree: LexborHTMLParser) -> LexborNode | None:
    """The headline: an h1 that the <title>/og:title contains, else the first fair h1/h2."""
    ref = ""
    og = tree.css_first('meta[property="og:title"]')
    if og is not None:
        ref = _words(og.attributes.get("content") or "")
    head = tree.css_first("title")
    if head is not None:
        ref += " " + _words(head.text() or "")
    best: LexborNode | None = None
    score = -1
    for node in tree.css("h1")[:10]:
        text = _words(node.text(deep=True) or "")
        if not text:
            continue
        s = (2 if len(text) >= 8 and _overlap(text, ref) >= 0.6 else 0) + (len(text) >= 15)
        if s > score:
            best, score = node, s
    if score >= 2:
        return best
    for sel in (".entry-title, .post-title, .article-title, [itemprop=headline]", "h2"):
        for node in tree.css(sel)[:20]:
            text = _words(node.text(deep=True) or "")
            if len(text) >= 8 and _overlap(text, ref) >= 0.6:
                return node
    return best


def _region(tree: LexborHTMLParser, title: LexborNode | None) -> LexborNode | None:
    """The article container: the title's article/main/h-entry ancestor, else a few levels up."""
    if title is None:
        return tree.css_first("article") or tree.css_first("main") or tree.css_first(
            "[role=main]"
        )
    cur: LexborNode | None = title.parent
    fallback: LexborNode | None = None
    depth = 0
    while cur is not None and cur.tag not in ("body", "html") and depth < 12:
        attrs = cur.attributes
        if cur.tag in ("article", "main") or attrs.get("role") == "main":
            return cur
        if (
            _REGION_CLASS.search(attrs.get("class") or "")
            or "Article" in (attrs.get("itemtype") or "")
        ) and len(cur.text(deep=True) or "") > len(title.text(deep=True) or "") + 20:
            return cur
        if depth <= 2:
            fallback = cur
        cur = cur.parent
        depth += 1
    return fallback or title.parent


def find_dates(
    tree: LexborHTMLParser,
    url: str,
    *,
    language: str | None = None,
    timezone: str = "UTC",  # noqa: A002 - the contract's name
    now: datetime | None = None,
) -> tuple[datetime | None, datetime | None]:
    """(published, updated) of an article page; either may be None.

    Sources in order of trust: JSON-LD of an article type; publication meta tags; marked
    elements (itemprop, h-entry/hAtom, time[pubdate]); <time> in the article; labelled dates
    near the title ("Published …"; "Last updated …" is kept as updated); the URL; elements
    named like a date; plain dates near the title; the first dates in the body. Dates in
    related/sidebar/comment blocks, and in nav/footer/aside outside the article, are ignored.
    A date in the URL (or its year/month) picks among candidates when it agrees with one.
    Cheaper sources that already gave a trusted date stop the search.
    """
    finder = _Finder(tree, url, language, timezone, now)
    finder.jsonld()
    finder.meta()
    finder.url_date()
    finder.title = _title(tree)
    finder.region = _region(tree, finder.title)
    finder.elements()
    split = finder.split()
    if split or finder.top() > 10 or not any(c.kind == _MOD for c in finder.cands):
        finder.text()  # also for a visible "Last updated" when nothing structured said so
    if split or finder.top() > 14:
        finder.date_blocks()
    if finder.top() > 22:
        finder.body()
    return finder.best()
