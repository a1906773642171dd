from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from monitor.extract.dates import find_dates, parse_date

FIXTURES = Path(__file__).parent / "fixtures" / "dates"
NOW = datetime(2022, 1, 10, 12, 0, tzinfo=UTC)

# (text, languages, timezone, expected ISO with offset or None)
PARSE_ROWS: list[tuple[str, tuple[str, ...], str, str | None]] = [
    # RFC 822
    ("Wed, 08 Dec 2021 14:30:00 GMT", (), "UTC", "2021-12-08T14:30:00+00:00"),
    ("Wed, 08 Dec 2021 14:30:00 +0300", (), "UTC", "2021-12-08T14:30:00+03:00"),
    ("08 Dec 2021 14:30:00 -0500", (), "Europe/Moscow", "2021-12-08T14:30:00-05:00"),
    ("Wed, 08 Dec 2021 14:30:00 -0000", (), "Europe/Moscow", "2021-12-08T14:30:00+03:00"),
    ("Wed, 08 Dec 2021 14:30 MSK", (), "UTC", "2021-12-08T14:30:00+03:00"),
    # ISO 8601 and variants
    ("2021-12-08T14:30:00Z", (), "Europe/Moscow", "2021-12-08T14:30:00+00:00"),
    ("2021-12-08T14:30:00+03:00", (), "UTC", "2021-12-08T14:30:00+03:00"),
    ("2021-12-08T14:30:00+0300", (), "UTC", "2021-12-08T14:30:00+03:00"),
    ("2021-12-08T14:30:00.123456-08:00", (), "UTC", "2021-12-08T14:30:00-08:00"),
    ("2021-12-08 14:30", (), "Europe/Moscow", "2021-12-08T14:30:00+03:00"),
    ("2021-12-08T14:30:00", (), "Europe/Berlin", "2021-12-08T14:30:00+01:00"),
    ("2021-07-08T23:30:00", (), "Europe/London", "2021-07-08T23:30:00+01:00"),
    ("2021-12-08", (), "UTC", "2021-12-08T00:00:00+00:00"),
    ("2021/12/08", (), "UTC", "2021-12-08T00:00:00+00:00"),
    ("20211208", (), "UTC", "2021-12-08T00:00:00+00:00"),
    ("（2021-12-08）", ("zh",), "Asia/Shanghai", "2021-12-08T00:00:00+08:00"),
    # epoch
    ("1638973800", (), "Europe/Moscow", "2021-12-08T14:30:00+00:00"),
    ("1638973800000", (), "UTC", "2021-12-08T14:30:00+00:00"),
    # English
    ("08 December 2021", ("en",), "UTC", "2021-12-08T00:00:00+00:00"),
    ("December 8, 2021", ("en",), "UTC", "2021-12-08T00:00:00+00:00"),
    ("Dec. 8th, 2021 2:30 pm", ("en",), "America/New_York", "2021-12-08T14:30:00-05:00"),
    ("Published 8 December 2021", ("en",), "Europe/London", "2021-12-08T00:00:00+00:00"),
    ("12/08/2021", ("en",), "UTC", "2021-12-08T00:00:00+00:00"),
    ("08/12/2021", ("fr",), "UTC", "2021-12-08T00:00:00+00:00"),
    ("25/12/2021", ("en",), "UTC", "2021-12-25T00:00:00+00:00"),
    # Russian
    ("8 декабря 2021 г., 14:30", ("ru",), "Europe/Moscow", "2021-12-08T14:30:00+03:00"),
    ("08.12.2021", ("ru",), "Europe/Moscow", "2021-12-08T00:00:00+03:00"),
    ("08.12.2021 14:35", ("ru",), "Europe/Moscow", "2021-12-08T14:35:00+03:00"),
    ("14:35 08.12.2021", ("ru",), "Europe/Moscow", "2021-12-08T14:35:00+03:00"),
    ("8 дек. 2021", ("ru",), "UTC", "2021-12-08T00:00:00+00:00"),
    ("8 декабря 2021 года, 09:05 МСК", ("ru",), "UTC", "2021-12-08T09:05:00+03:00"),
    # Chinese
    ("2021年12月8日", ("zh",), "Asia/Shanghai", "2021-12-08T00:00:00+08:00"),
    ("2021年12月8日 14:30", ("zh",), "Asia/Shanghai", "2021-12-08T14:30:00+08:00"),
    ("发布时间：2021年12月08日", ("zh",), "Asia/Shanghai", "2021-12-08T00:00:00+08:00"),
    # German
    ("8. Dezember 2021", ("de",), "Europe/Berlin", "2021-12-08T00:00:00+01:00"),
    ("Mittwoch, 8. Dezember 2021, 14:30 Uhr", ("de",), "Europe/Berlin",
     "2021-12-08T14:30:00+01:00"),
    ("8. März 2021", ("de",), "Europe/Berlin", "2021-03-08T00:00:00+01:00"),
    # French
    ("8 décembre 2021", ("fr",), "Europe/Paris", "2021-12-08T00:00:00+01:00"),
    ("1er juillet 2021 à 14h30", ("fr",), "Europe/Paris", "2021-07-01T14:30:00+02:00"),
    ("le 8 févr. 2021", ("fr",), "UTC", "2021-02-08T00:00:00+00:00"),
    # Spanish
    ("8 de diciembre de 2021", ("es",), "Europe/Madrid", "2021-12-08T00:00:00+01:00"),
    ("8 de agosto del 2021, 10:00", ("es",), "UTC", "2021-08-08T10:00:00+00:00"),
    # dateparser fallback (no fast path)
    ("Wednesday the 8th of December 2021", ("en",), "UTC", "2021-12-08T00:00:00+00:00"),
    ("8 декабря", ("ru",), "UTC", "2021-12-08T00:00:00+00:00"),
    # relative dates, against now (12:00 UTC = 15:00 in Moscow)
    ("Сегодня, 14:30", ("ru",), "Europe/Moscow", "2022-01-10T14:30:00+03:00"),
    ("вчера в 14:30", ("ru",), "Europe/Moscow", "2022-01-09T14:30:00+03:00"),
    ("2 hours ago", ("en",), "Europe/Moscow", "2022-01-10T13:00:00+03:00"),
    ("14:30", ("ru",), "Europe/Moscow", None),
    ("07:02pm EDT", ("en",), "UTC", None),
    # future rejection and skew
    ("2022-01-10T13:30:00Z", (), "UTC", "2022-01-10T13:30:00+00:00"),
    ("2022-01-10T14:30:00Z", (), "UTC", None),
    ("2022-01-11", (), "UTC", "2022-01-11T00:00:00+00:00"),
    ("2022-01-12", (), "UTC", None),
    ("2023-01-01T00:00:00+00:00", (), "UTC", None),
    ("1 January 2030", ("en",), "UTC", None),
    # garbage
    ("", (), "UTC", None),
    ("hello world", ("en",), "UTC", None),
    ("5", (), "UTC", None),
    ("0001-01-01T00:00:00", (), "UTC", None),
    ("1970-01-01", (), "UTC", None),
    ("2021-13-45", (), "UTC", None),
    ("© 2021 Ministry of Things", ("en",), "UTC", None),
    ("Page 12 of 40", ("en",), "UTC", None),
]


@pytest.mark.parametrize(("text", "languages", "tz", "expected"), PARSE_ROWS)
def test_parse_date(text: str, languages: tuple[str, ...], tz: str, expected: str | None) -> None:
    got = parse_date(text, languages=languages, timezone=tz, now=NOW)
    if expected is None:
        assert got is None
    else:
        assert got is not None
        assert got.isoformat() == expected


def test_parse_date_keeps_offset_and_instant() -> None:
    got = parse_date("2021-12-08T14:30:00+03:00", timezone="America/New_York", now=NOW)
    assert got is not None
    assert got.utcoffset() == timedelta(hours=3)
    assert got.astimezone(UTC) == datetime(2021, 12, 8, 11, 30, tzinfo=UTC)


def test_parse_date_summer_time_near_midnight() -> None:
    got = parse_date("2021-06-30 23:45", timezone="Europe/London", now=NOW)
    assert got is not None
    assert got.astimezone(UTC) == datetime(2021, 6, 30, 22, 45, tzinfo=UTC)


def test_parse_date_relative_uses_now() -> None:
    got = parse_date("yesterday", languages=("en",), now=NOW)
    assert got is not None
    assert got.date() == (NOW - timedelta(days=1)).date()


GOLDEN = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_find_dates_golden(name: str) -> None:
    case = GOLDEN[name]
    tree = LexborHTMLParser((FIXTURES / name).read_text(encoding="utf-8"))
    published, updated = find_dates(tree, case["url"], timezone=case["timezone"], now=NOW)
    got = {
        "published": published.isoformat() if published else None,
        "updated": updated.isoformat() if updated else None,
    }
    assert got == {"published": case["published"], "updated": case["updated"]}


def test_find_dates_url_pattern_only() -> None:
    tree = LexborHTMLParser("<html><body><h1>Statement on trade</h1><p>Text.</p></body></html>")
    published, updated = find_dates(
        tree, "https://news.example/2021/12/08/statement-on-trade/", timezone="UTC", now=NOW
    )
    assert published == datetime(2021, 12, 8, tzinfo=UTC)
    assert updated is None


def test_find_dates_never_in_future() -> None:
    html = (
        '<html><head><meta property="article:published_time" content="2022-03-01T10:00:00Z">'
        "</head><body><h1>Upcoming conference</h1></body></html>"
    )
    assert find_dates(LexborHTMLParser(html), "https://x.example/a", now=NOW) == (None, None)


@pytest.mark.parametrize("html", ["", "<html>", "\x00\ufffd<<>>", "<p>" * 500, "<body>2021</body>"])
def test_find_dates_garbage(html: str) -> None:
    assert find_dates(LexborHTMLParser(html), "https://x.example/", now=NOW) == (None, None)


def test_find_dates_broken_jsonld_falls_back_to_pattern() -> None:
    html = (
        '<html><head><script type="application/ld+json">{"@type": "NewsArticle", '
        '"datePublished": "2021-12-08T10:00:00Z", "dateModified": "2021-12-08T12:00:00Z",}'
        "</script></head><body><h1>Broken JSON-LD page title</h1></body></html>"
    )
    published, updated = find_dates(LexborHTMLParser(html), "https://x.example/a", now=NOW)
    assert published == datetime(2021, 12, 8, 10, tzinfo=UTC)
    assert updated == datetime(2021, 12, 8, 12, tzinfo=UTC)


def test_find_dates_meta_published_with_visible_last_updated() -> None:
    html = (
        '<html lang="en"><head><meta property="article:published_time" '
        'content="2021-12-08T09:00:00+00:00"></head><body><main><h1>Guidance on winter fuel</h1>'
        "<p>Last updated 9 December 2021</p><p>Text.</p></main></body></html>"
    )
    published, updated = find_dates(
        LexborHTMLParser(html), "https://x.example/g", timezone="Europe/London", now=NOW
    )
    assert published == datetime(2021, 12, 8, 9, tzinfo=UTC)
    assert updated is not None and updated.date().isoformat() == "2021-12-09"


def test_find_dates_modified_before_published_is_dropped() -> None:
    html = (
        '<html><head><meta property="article:published_time" content="2021-12-08T09:00:00Z">'
        '<meta property="article:modified_time" content="2021-12-01T09:00:00Z"></head>'
        "<body><h1>Some statement title</h1></body></html>"
    )
    published, updated = find_dates(LexborHTMLParser(html), "https://x.example/s", now=NOW)
    assert published == datetime(2021, 12, 8, 9, tzinfo=UTC)
    assert updated is None


def test_find_dates_utc_value_shown_in_local_offset() -> None:
    html = (
        '<html><head><meta property="article:published_time" content="2021-12-09T03:30:00Z">'
        '</head><body><article><h1>Late night council vote</h1><time datetime="2021-12-08T22:30'
        ':00-05:00">December 8, 2021 10:30 PM</time></article></body></html>'
    )
    published, _ = find_dates(LexborHTMLParser(html), "https://x.example/v", now=NOW)
    assert published is not None
    assert published.isoformat() == "2021-12-08T22:30:00-05:00"


def test_find_dates_visible_date_settles_structured_disagreement() -> None:
    html = (
        '<html lang="de"><head><script type="application/ld+json">{"@type": "NewsArticle", '
        '"datePublished": "2021-12-03T10:00:00+01:00"}</script>'
        '<meta property="article:published_time" content="2021-12-08T14:30:00+01:00"></head>'
        '<body><article><h1>Neue Regeln für den Winterdienst</h1><p class="meta">'
        '<time class="entry-date published updated" datetime="2021-12-08T14:30:00+01:00">'
        "8. Dezember 2021, 14:30 Uhr</time></p><p>Text.</p></article></body></html>"
    )
    published, updated = find_dates(LexborHTMLParser(html), "https://x.example/w", now=NOW)
    assert published is not None
    assert published.isoformat() == "2021-12-08T14:30:00+01:00"
    assert updated is None


def test_find_dates_yearless_dateline_near_title() -> None:
    html = (
        '<html lang="ru"><body><div class="news"><h1>Губернатор провёл совещание</h1>'
        "<p>МОСКВА, 8 декабря. /ТАСС/. Губернатор области провёл совещание.</p></div>"
        '<div class="footer">© 2001–2021</div></body></html>'
    )
    published, _ = find_dates(
        LexborHTMLParser(html), "http://x.example/a", timezone="Europe/Moscow", now=NOW
    )
    assert published is not None
    assert published.isoformat() == "2021-12-08T00:00:00+03:00"
