"""Source kinds: feed, html listing, sitemap, detection; parsers and collect() end to end.

End-to-end tests serve tests/fixtures/sites/<site>/ on 127.0.0.1 (tests/sites.py) and go through
the real Fetcher (robots.txt on: the fixture server answers a permissive one).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sites import SiteServers
from sites import serve_site as serve_site  # noqa: F401 - the fixture

from monitor.config import FetchConfig, SourceConfig
from monitor.errors import BotWallError, HTTPStatusError, ParseError
from monitor.fetch import Fetcher
from monitor.models import Listing, Validators
from monitor.sources import KINDS, collect, parse_feed, parse_listing, parse_sitemap
from monitor.sources.base import parse_feed_date, to_utc
from monitor.sources.detect import botwall_reason, declares_entities, sniff
from monitor.store import SourceState

SITES = Path(__file__).parent / "fixtures" / "sites"
BASE = "http://site.example"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fixture(path: str) -> bytes:
    return (SITES / path).read_bytes().replace(b"@BASE@", BASE.encode())


def run_collect(url: str, *, state: SourceState | None = None, **options: Any) -> Listing:
    source = SourceConfig(name="src", url=url, **options)

    async def go() -> Listing:
        config = FetchConfig(retries=0, timeout=10)
        async with Fetcher(config, allowed_hosts=["127.0.0.1"]) as fetcher:
            return await collect(source, fetcher, state or SourceState("src"))

    return asyncio.run(go())


def paths(servers: SiteServers, base: str) -> list[str]:
    return [r.path for r in servers.requests(base) if r.path != "/robots.txt"]


# ---------------------------------------------------------------- the registry


def test_kinds_registry_covers_every_configurable_type() -> None:
    assert set(KINDS) == {"feed", "html", "sitemap", "auto"}
    for name, kind in KINDS.items():
        assert kind.name == name


# ---------------------------------------------------------------- feeds: parsing


def test_paged_atom_full_text_with_a_stale_moscow_offset() -> None:
    parsed = parse_feed(
        fixture("kremlin/feed-1.atom"), f"{BASE}/events/president/news/feed",
        timezone="Europe/Moscow",
    )
    assert parsed.format == "atom" and parsed.parser == "fast"
    assert parsed.next_url == f"{BASE}/events/president/news/feed/page/2"
    first, second = parsed.items
    assert first.url == f"{BASE}/events/president/news/67331"  # xml:base + relative href
    assert first.guid == f"{BASE}/events/president/news/67331"
    assert first.title == "Заседание Совета по развитию гражданского общества и правам человека"
    assert first.body_html is not None and "<b>В.Путин:</b>" in first.body_html
    assert first.summary is None  # an empty summary is no summary
    assert first.categories == ("Государственная власть",)
    assert first.language == "ru"
    # +04:00 written for Moscow time after 2014: read as Moscow time (UTC+3).
    assert second.published_at == utc(2021, 12, 8, 11, 35)
    assert second.updated_at == utc(2021, 12, 9, 7, 0)


def test_offsets_are_kept_when_right_or_the_zone_is_utc() -> None:
    moscow_2012 = datetime.fromisoformat("2012-12-08T14:35:00+04:00")  # +04:00 was right then
    assert to_utc(moscow_2012, "Europe/Moscow") == utc(2012, 12, 8, 10, 35)
    stale = datetime.fromisoformat("2021-12-08T14:35:00+04:00")
    assert to_utc(stale, "UTC") == utc(2021, 12, 8, 10, 35)
    assert to_utc(stale, "Europe/Moscow") == utc(2021, 12, 8, 11, 35)
    assert to_utc(datetime(2021, 12, 8, 14, 35), "Europe/Moscow") == utc(2021, 12, 8, 11, 35)


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("Wed, 08 Dec 2021 14:35:00 +0300", "UTC", utc(2021, 12, 8, 11, 35)),
        ("Wed, 08 Dec 2021 14:35:00 GMT", "Europe/Moscow", utc(2021, 12, 8, 14, 35)),
        ("Wed, 08 Dec 2021 14:35:00", "Europe/Moscow", utc(2021, 12, 8, 11, 35)),  # naive
        ("2021-12-08T14:35:00Z", "Europe/Moscow", utc(2021, 12, 8, 14, 35)),
        ("2021-12-08 14:35:00", "Europe/Paris", utc(2021, 12, 8, 13, 35)),
        ("2021-07-01T09:00:00", "Europe/London", utc(2021, 7, 1, 8, 0)),
        ("08.12.2021 09:15", "Europe/Moscow", utc(2021, 12, 8, 6, 15)),  # tolerant fallback
        ("Mon, 01 Jan 0001 00:00:00 +0000", "UTC", None),  # Go's zero time: no date
        ("0001-01-01T00:00:00Z", "UTC", None),
        ("not a date", "UTC", None),
        ("", "UTC", None),
    ],
)
def test_feed_dates(text: str, zone: str, expected: datetime | None) -> None:
    assert parse_feed_date(text, zone) == expected


def test_ministry_rss_without_full_text() -> None:
    parsed = parse_feed(
        fixture("mid/ru/rss.xml"), f"{BASE}/ru/rss.php", timezone="Europe/Moscow",
        content_type="application/rss+xml; charset=utf-8",
    )
    assert parsed.format == "rss" and parsed.parser == "fast"
    a, b, c = parsed.items
    assert a.url == f"{BASE}/ru/foreign_policy/news/1790001/"
    assert a.guid == "1790001"  # isPermaLink="false" is still the identity
    assert a.body_html is None and a.summary and a.summary.startswith("8 декабря")
    assert a.categories == ("Новости", "Турция")
    assert a.published_at == utc(2021, 12, 8, 11, 35)
    assert b.url == f"{BASE}/ru/press_service/briefings/1790002/"  # relative link resolved
    assert b.published_at == utc(2021, 12, 8, 9, 0)  # no zone: Moscow time
    assert c.published_at == utc(2021, 12, 8, 6, 15)  # "08.12.2021 09:15"
    assert all(i.language == "ru" for i in parsed.items)


def test_atom_search_feed_with_updated_only() -> None:
    parsed = parse_feed(fixture("govportal/search.atom"), f"{BASE}/search/news.atom",
                        timezone="Europe/London")
    a, b, c = parsed.items
    assert a.published_at is None  # never invented from `updated`
    assert a.updated_at == utc(2021, 12, 8, 16, 20, 5)
    assert a.summary == "<p>Ambassador Neil Bush says Russia&#x27;s build-up of forces on " \
        "Ukraine&#x27;s border is deeply concerning.</p>"
    assert b.title == "Clocks go forward: British Summer Time begins"  # type="html" title
    assert b.updated_at == utc(2021, 3, 28, 0, 30)
    assert c.updated_at == utc(2021, 7, 1, 8, 0)  # naive, London summer time
    assert a.language == "en-GB"


def test_rss_1_0_rdf_in_windows_1251() -> None:
    parsed = parse_feed(fixture("feeds/rdf.rdf"), f"{BASE}/rss/")
    assert parsed.format == "rdf" and parsed.parser == "fast"
    first, second = parsed.items
    assert first.title == "Агентство сообщает об итогах года"
    assert first.url == f"{BASE}/news/2021/12/08/1/"
    assert first.guid == f"{BASE}/news/2021/12/08/1/"  # rdf:about
    assert first.author == "Пресс-служба" and first.categories == ("Экономика",)
    assert first.published_at == utc(2021, 12, 8, 11, 35)
    assert second.published_at == utc(2021, 12, 7)
    assert first.language == "ru"


def test_rss_091_with_external_dtd_and_html_entities() -> None:
    parsed = parse_feed(fixture("feeds/rss091.xml"), f"{BASE}/fr/rss")
    (item,) = parsed.items
    assert parsed.parser == "fast"
    assert item.title == "Déclaration du porte-parole émise le 8 décembre"
    assert item.summary == "Texte de la déclaration."


def test_bare_ampersands_are_repaired_on_the_fast_path() -> None:
    parsed = parse_feed(fixture("feeds/ampersand.rss"), f"{BASE}/rss")
    (item,) = parsed.items
    assert parsed.parser == "fast"
    assert item.url == f"{BASE}/news/forum?id=1&lang=en"
    assert item.title == "Trade & investment forum opens"


def test_feedparser_takes_what_the_fast_path_refuses() -> None:
    parsed = parse_feed(fixture("feeds/sloppy.rss"), f"{BASE}/rss")  # an unclosed <br>
    assert parsed.parser == "feedparser"
    assert [i.url for i in parsed.items] == [f"{BASE}/news/forum", f"{BASE}/news/second"]
    assert parsed.items[0].published_at == utc(2021, 12, 8, 14, 35)
    assert parsed.items[1].title == "Second release"


def test_json_feed() -> None:
    parsed = parse_feed(fixture("feeds/feed.json"), f"{BASE}/feed.json")
    (item,) = parsed.items
    assert parsed.format == "json"
    assert item.guid == "a-1" and item.url == f"{BASE}/news/a-1"
    assert item.body_html == "<p>First paragraph.</p><p>Second paragraph.</p>"
    assert item.published_at == utc(2021, 12, 8, 11, 35)
    assert item.author == "Press office" and item.categories == ("diplomacy",)


def test_entity_declarations_are_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_parser(*args: object, **kwargs: object) -> None:
        raise AssertionError("a parser ran on a document declaring entities")

    monkeypatch.setattr("monitor.sources.feed.parse_fast", no_parser)
    monkeypatch.setattr("monitor.sources.feed.parse_with_feedparser", no_parser)
    with pytest.raises(ParseError, match="feed declares XML entities; refused"):
        parse_feed(fixture("feeds/laughs.xml"), f"{BASE}/rss")


@pytest.mark.parametrize(
    ("head", "declares"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "b">]><r/>', True),
        (b'<!DOCTYPE r [\n <!ELEMENT r ANY>\n <!entity x SYSTEM "file:///etc/passwd">]><r/>', True),
        (b'<!DOCTYPE rss PUBLIC "-//Netscape//DTD RSS 0.91//EN" "http://x/rss.dtd"><rss/>', False),
        (b"<rss><![CDATA[ <!DOCTYPE x [<!ENTITY a 'b'>]> ]]></rss>", False),
        ("<?xml version='1.0' encoding='utf-16'?><!DOCTYPE r [<!ENTITY a 'b'>]><r/>".encode(
            "utf-16"), True),
    ],
)
def test_declares_entities(head: bytes, declares: bool) -> None:
    assert declares_entities(head) is declares


def test_malformed_xml_that_feedparser_cannot_read() -> None:
    with pytest.raises(ParseError, match="malformed feed"):
        parse_feed(fixture("feeds/broken.xml"), f"{BASE}/rss")
    with pytest.raises(ParseError, match="malformed feed"):
        parse_feed(b"this is not a feed at all", f"{BASE}/rss", content_type="text/plain")


def test_html_instead_of_a_feed_is_a_bot_wall_error() -> None:
    with pytest.raises(BotWallError) as err:
        parse_feed(fixture("wpblog/feed/index.html"), f"{BASE}/feed/",
                   content_type="text/html; charset=UTF-8")
    assert str(err.value).startswith(
        "got an HTML page instead of a feed (looks like a bot-wall/challenge: 'Just a moment...')"
    )
    with pytest.raises(BotWallError, match="instead of a feed"):  # no content type given
        parse_feed(fixture("mid/en/rss-script.html"), f"{BASE}/en/rss.php")
    # An ordinary page: named by its title, with the feed it advertises.
    with pytest.raises(BotWallError) as err:
        parse_feed(fixture("govportal/index.html"), f"{BASE}/", content_type="text/html")
    assert "title: 'Welcome to GOV.EXAMPLE'" in str(err.value)
    assert f"advertises a feed at {BASE}/search/news-and-communications.atom" in str(err.value)


def test_a_feed_served_as_text_html_is_still_a_feed() -> None:
    parsed = parse_feed(fixture("mid/ru/rss.xml"), f"{BASE}/ru/rss.php", content_type="text/html")
    assert len(parsed.items) == 3


def test_entries_sharing_a_guid_lose_it() -> None:
    xml = (
        b'<rss version="2.0"><channel><title>t</title>'
        b"<item><title>A</title><link>http://a.example/1</link><guid>same</guid></item>"
        b"<item><title>B</title><link>http://a.example/2</link><guid>same</guid></item>"
        b"<item><title>C</title><link>http://a.example/3</link><guid>own</guid></item>"
        b"</channel></rss>"
    )
    items = parse_feed(xml, "http://a.example/rss").items
    assert [(i.url, i.guid) for i in items] == [
        ("http://a.example/1", None), ("http://a.example/2", None), ("http://a.example/3", "own"),
    ]


# ---------------------------------------------------------------- feeds: end to end


def test_collect_paged_atom_follows_next_up_to_pages(serve_site: SiteServers) -> None:
    base = serve_site(SITES / "kremlin")
    url = f"{base}/events/president/news/feed"
    listing = run_collect(url, type="feed", pages=2, timezone="Europe/Moscow")
    assert listing.kind == "feed" and listing.pages == 2
    assert [i.url.rsplit("/", 1)[1] for i in listing.items] == ["67331", "67330", "67325"]
    # The entry re-emitted on page 1 with a newer `updated` and longer text wins.
    again = listing.items[1]
    assert again.updated_at == utc(2021, 12, 9, 7, 0)
    assert again.body_html is not None and "двусторонних" in again.body_html
    assert listing.validators.etag
    assert paths(serve_site, base) == [
        "/events/president/news/feed", "/events/president/news/feed/page/2",
    ]
    one = run_collect(url, type="feed", pages=1)
    assert one.pages == 1 and len(one.items) == 2


def test_collect_conditional_get_gives_not_modified(serve_site: SiteServers) -> None:
    base = serve_site(SITES / "mid")
    url = f"{base}/ru/rss.php"
    first = run_collect(url, type="feed", timezone="Europe/Moscow")
    assert len(first.items) == 3 and first.validators.etag and first.validators.last_modified
    state = SourceState("src", validators=first.validators, last_count=3)
    second = run_collect(url, type="feed", state=state)
    assert second.not_modified and second.items == ()
    sent = [r for r in serve_site.requests(base) if r.path == "/ru/rss.php"][-1]
    assert sent.headers["if-none-match"] == first.validators.etag
    # A changed ETag means a full answer again.
    stale = SourceState("src", validators=Validators(etag='"old"'))
    assert not run_collect(url, type="feed", state=stale).not_modified


def test_collect_feed_url_answering_a_js_check(serve_site: SiteServers) -> None:
    base = serve_site(SITES / "wpblog")
    with pytest.raises(BotWallError) as err:
        run_collect(f"{base}/feed/", type="feed")
    assert err.value.source == "src" and err.value.url == f"{base}/feed/"
    assert "looks like a bot-wall/challenge: 'Just a moment...'" in str(err.value)


def test_collect_feed_url_answering_403(serve_site: SiteServers) -> None:
    base = serve_site(SITES / "wpblog")
    with pytest.raises(HTTPStatusError) as err:
        run_collect(f"{base}/blocked/feed/", type="feed")
    assert err.value.status == 403 and err.value.source == "src"


def test_collect_entity_bomb_and_broken_feed(serve_site: SiteServers) -> None:
    base = serve_site(SITES / "feeds")
    with pytest.raises(ParseError, match="feed declares XML entities; refused") as err:
        run_collect(f"{base}/laughs.xml", type="feed")
    assert err.value.source == "src"
    with pytest.raises(ParseError, match="malformed feed"):
        run_collect(f"{base}/broken.xml", type="feed")


# ---------------------------------------------------------------- html listings


def test_listing_pages_by_query_parameter(serve_site: SiteServers) -> None:
    base = serve_site(SITES / "mid")
    url = f"{base}/ru/press_service/news/"
    listing = run_collect(url, type="html", next="a.modern-page-next", pages=2)
    assert listing.kind == "html" and listing.pages == 2
    ids = [i.url.rstrip("/").rsplit("/", 1)[1] for i in listing.items]
    assert ids == [str(n) for n in range(1790010, 1790002, -1)]
    assert all(i.url.startswith(f"{base}/ru/foreign_policy/news/") for i in listing.items)
    assert listing.items[0].title == (
        "Сообщение для СМИ о встрече заместителя Министра номер 1790010"
    )
    assert paths(serve_site, base) == [
        "/ru/press_service/news/", "/ru/press_service/news/?PAGEN_1=2",
    ]
    # Without a `next` selector, "След." is found; `pages` still bounds the walk.
    everything = run_collect(url, type="html", pages=5)
    assert everything.pages == 3 and len(everything.items) == 12


def test_listing_with_an_explicit_selector_keeps_what_it_picks() -> None:
    page = fixture("mid/ru/press_service/news/index.html").decode()
    items, _ = parse_listing(page, f"{BASE}/ru/press_service/news/", links="nav a")
    urls = [i.url for i in items]
    assert "https://twitter.example/MID_RF" in urls  # off-site, but asked for
    default, _ = parse_listing(page, f"{BASE}/ru/press_service/news/")
    assert not any("twitter" in i.url or "?tag=" in i.url for i in default)


def test_listing_chinese_static_index_pages(serve_site: SiteServers) -> None:
    base = serve_site(SITES / "fmprc")
    listing = run_collect(f"{base}/web/wjdt/fyrbt/", type="html", pages=2)
    urls = [i.url for i in listing.items]
    assert urls[:3] == [
        f"{base}/web/wjdt/fyrbt/202112/t20211208_{n}.html" for n in (10800081, 10800082, 10800083)
    ]
    assert len(urls) == 6 and urls[3].endswith("/202112/t20211207_10800071.html")
    assert listing.items[0].title == "2021年12月8日外交部发言人汪文斌主持例行记者会（第1部分）"
    assert paths(serve_site, base)[-1] == "/web/wjdt/fyrbt/index_1.html"


@pytest.mark.parametrize("path", ["/news/", "/news/wrong-header/"])
def test_listing_windows_1251_with_base_href(serve_site: SiteServers, path: str) -> None:
    base = serve_site(SITES / "legacy_ru")
    listing = run_collect(f"{base}{path}", type="html")
    assert [i.url for i in listing.items] == [
        f"{base}/news/detail.php?ID={n}" for n in (45123, 45120, 45118)
    ]
    assert listing.items[0].title == "Об итогах уборочной кампании 2021 года в республике"
    assert listing.items[2].title == "Министр принял участие в ярмарке «Урожай-2021»"


def test_listing_encoding_override(serve_site: SiteServers) -> None:
    base = serve_site(SITES / "legacy_ru")
    listing = run_collect(f"{base}/news/wrong-header/", type="html", encoding="koi8-r")
    assert listing.items[0].title != "Об итогах уборочной кампании 2021 года в республике"


def test_listing_challenge_page_is_a_bot_wall_error(serve_site: SiteServers) -> None:
    base = serve_site(SITES / "mid")
    with pytest.raises(BotWallError) as err:
        run_collect(f"{base}/ru/press_service/wait/", type="html")
    assert "'Пожалуйста, подождите...'" in str(err.value)


def test_empty_listing_is_an_error_only_after_links_were_seen(serve_site: SiteServers) -> None:
    base = serve_site(SITES / "mid")
    url = f"{base}/ru/press_service/empty/"
    assert run_collect(url, type="html").items == ()
    with pytest.raises(ParseError, match=r"no article links found \(12 before\)"):
        run_collect(url, type="html", state=SourceState("src", last_count=12))


@pytest.mark.parametrize(
    "fixture_path",
    [
        "mid/ru/press_service/news/index.html",
        "fmprc/web/wjdt/fyrbt/index.html",
        "legacy_ru/news/index.html",
        "govportal/government/news/uk-statement-on-ukraine.html",
        "mid/ru/empty-listing.html",
    ],
)
def test_real_pages_are_not_bot_walls(fixture_path: str) -> None:
    page = fixture(fixture_path).decode("utf-8", "replace")
    assert botwall_reason(page) is None


@pytest.mark.parametrize(
    "fixture_path",
    ["mid/ru/please-wait.html", "mid/en/rss-script.html", "wpblog/feed/index.html",
     "wpblog/blocked/denied.html"],
)
def test_challenge_pages_are_bot_walls(fixture_path: str) -> None:
    assert botwall_reason(fixture(fixture_path).decode()) is not None


# ---------------------------------------------------------------- sitemaps


def test_news_sitemap(serve_site: SiteServers) -> None:
    base = serve_site(SITES / "sitemaps")
    listing = run_collect(f"{base}/sitemap-news.xml", type="sitemap")
    assert listing.kind == "sitemap"
    first, second = listing.items
    assert first.url == f"{base}/en/newsroom/news/2021/12/08/minister-meets-counterpart"
    assert first.title == "Minister meets counterpart & discusses trade"
    assert first.published_at == utc(2021, 12, 8, 13, 35)
    assert first.updated_at == utc(2021, 12, 8, 14, 2, 11)
    assert first.language == "en" and first.categories == ("trade", "bilateral relations")
    assert second.published_at == utc(2021, 12, 7) and second.language == "fr"


def test_sitemap_index_reads_newest_children_first(serve_site: SiteServers) -> None:
    base = serve_site(SITES / "sitemaps")
    listing = run_collect(f"{base}/sitemap.xml", type="sitemap", pages=2)
    assert listing.pages == 3  # the index and two children
    assert [i.url for i in listing.items] == [
        "http://ministry.example/2021/12/08/press-release-on-talks/",  # from the .xml.gz
        "http://ministry.example/2021/12/01/december-briefing/",
        f"{base}/2021/11/30/november-statement/",
        f"{base}/2021/11/12/visit/",
    ]
    assert paths(serve_site, base)[1:] == [
        "/sitemaps/posts-2021-12.xml.gz", "/sitemaps/posts-2021-11.xml",
    ]
    everything = run_collect(f"{base}/sitemap.xml", type="sitemap", pages=10)
    assert len(everything.items) == 6  # pages.xml read once, though the nested index names it


def test_sitemap_parser_plain_text_and_html() -> None:
    plain = parse_sitemap(b"http://a.example/1\nhttp://a.example/2\n", "http://a.example/s.txt",
                          content_type="text/plain")
    assert [i.url for i in plain.items] == ["http://a.example/1", "http://a.example/2"]
    with pytest.raises(BotWallError, match="instead of a sitemap"):
        parse_sitemap(fixture("mid/ru/please-wait.html"), "http://a.example/sitemap.xml")
    with pytest.raises(ParseError, match="declares XML entities"):
        parse_sitemap(fixture("feeds/laughs.xml").replace(b"<rss", b"<urlset"), "http://a/s")


# ---------------------------------------------------------------- detection


@pytest.mark.parametrize(
    ("fixture_path", "content_type", "kind"),
    [
        ("kremlin/feed-1.atom", "application/atom+xml", "feed"),
        ("feeds/rdf.rdf", "application/xml", "feed"),
        ("mid/ru/rss.xml", "text/html", "feed"),
        ("feeds/feed.json", "application/json", "feed"),
        ("sitemaps/sitemap.xml", "application/xml", "sitemap"),
        ("sitemaps/sitemaps/posts-2021-12.xml.gz", "application/gzip", "sitemap"),
        ("legacy_ru/news/index.html", "text/html", "html"),
        ("wpblog/blocked/denied.html", "", "html"),
    ],
)
def test_sniff(fixture_path: str, content_type: str, kind: str) -> None:
    assert sniff(fixture(fixture_path), content_type) == kind


def test_detect_feed_advertised_by_a_page(serve_site: SiteServers) -> None:
    base = serve_site(SITES / "govportal")
    listing = run_collect(f"{base}/")
    assert listing.kind == "feed" and listing.pages == 2
    assert listing.items[0].url == f"{base}/government/news/uk-statement-on-ukraine"
    assert paths(serve_site, base) == ["/", "/search/news-and-communications.atom"]
    assert listing.validators.etag  # the page's own validators, for the next conditional GET


def test_detect_feed_sitemap_and_listing(serve_site: SiteServers) -> None:
    feeds = serve_site(SITES / "feeds")
    assert run_collect(f"{feeds}/rdf.rdf").kind == "feed"
    sitemaps = serve_site(SITES / "sitemaps")
    assert run_collect(f"{sitemaps}/sitemap-news.xml").kind == "sitemap"
    legacy = serve_site(SITES / "legacy_ru")
    listing = run_collect(f"{legacy}/news/")
    assert listing.kind == "html" and len(listing.items) == 3


def test_detect_page_advertising_a_walled_feed(serve_site: SiteServers) -> None:
    base = serve_site(SITES / "wpblog")
    with pytest.raises(BotWallError, match="instead of a feed"):
        run_collect(f"{base}/")


def test_detect_not_modified(serve_site: SiteServers) -> None:
    base = serve_site(SITES / "govportal")
    first = run_collect(f"{base}/")
    again = run_collect(f"{base}/", state=SourceState("src", validators=first.validators))
    assert again.not_modified


@pytest.mark.parametrize(
    "body", [b"<rss><channel><item><title>broken", b"", b"\x00\x01\x02garbage", b"{}"]
)
def test_unreadable_feeds_are_parse_errors(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_feed(body, f"{BASE}/rss", content_type="application/rss+xml")


def test_an_empty_but_valid_feed_is_no_news() -> None:
    empty = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    assert parse_feed(empty, f"{BASE}/rss").items == ()


def test_a_cdn_script_on_a_real_listing_is_not_a_bot_wall() -> None:
    page = fixture("mid/ru/press_service/news/index.html").decode().replace(
        "</body>", '<script src="/cdn-cgi/challenge-platform/scripts/jsd/main.js"></script></body>'
    )
    assert botwall_reason(page) is None
    assert botwall_reason('<html><head><title>Loading</title><script src="/cdn-cgi/'
                          'challenge-platform/h/b/orchestrate/jsch/v1"></script></head>'
                          "<body></body></html>") == "'Loading'"


def test_header_charset_applies_when_the_xml_declares_none() -> None:
    xml = (
        '<rss version="2.0"><channel><title>Лента</title><item><title>Новости министерства'
        "</title><link>http://a.example/1</link></item></channel></rss>"
    ).encode("cp1251")
    parsed = parse_feed(xml, "http://a.example/rss",
                        content_type="application/rss+xml; charset=windows-1251")
    assert parsed.parser == "fast" and parsed.items[0].title == "Новости министерства"
    declared = b'<?xml version="1.0" encoding="windows-1251"?>' + xml
    again = parse_feed(declared, "http://a.example/rss", content_type="text/xml; charset=utf-8")
    assert again.items[0].title == "Новости министерства"  # the declaration wins


def test_a_page_that_only_runs_a_script_is_a_bot_wall() -> None:
    page = "<html><body><script>window.location.replace('/?k=1');</script></body></html>"
    assert botwall_reason(page) == "an empty page that only runs a script"
