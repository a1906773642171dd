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

import re
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["MIN_YEAR", "SKEW", "parse_date"]

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
    tz = _zone(timezone)
    got = _fast(text, languages, tz)
    dt, has_time = got if got is not None else _slow(text, languages, timezone, now)
    if dt is None or dt.year < MIN_YEAR:
        return None
    ref = now if now is not None else datetime.now(UTC)
    if ref.tzinfo is None:
        ref = ref.replace(tzinfo=UTC)
    if _too_new(dt, has_time, ref, tz):
        return None
    return dt

