"""Article extraction: golden fixture pages, field splitting, text cleanup, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor.cli import main
from monitor.commands.extract import as_record
from monitor.config import ArticleSelectors
from monitor.extract import detect_language, extract_article, html_to_text
from monitor.extract.article import is_date_line, strip_site_suffix
from monitor.extract.fields import split_fields

FIXTURES = Path(__file__).parent / "fixtures" / "extract"
PAGES = sorted(p.stem for p in FIXTURES.glob("*.html"))


def _run(name: str) -> tuple[dict, dict]:
    case = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    selectors = ArticleSelectors(**case["selectors"]) if case.get("selectors") else None
    html = (FIXTURES / f"{name}.html").read_text(encoding="utf-8")
    result = extract_article(
        html,
        case["url"],
        selectors=selectors,
        language=case.get("language"),
        timezone=case.get("timezone", "UTC"),
    )
    return as_record({}, result), case["expected"]


def test_enough_fixture_pages() -> None:
    assert len(PAGES) >= 12
    for name in PAGES:
        assert (FIXTURES / f"{name}.json").exists(), name


@pytest.mark.parametrize("name", PAGES)
def test_golden(name: str) -> None:
    got, expected = _run(name)
    for key, value in expected.items():
        assert got[key] == value, f"{name}: {key}"


# --- what the golden pages are there to show, spelled out -------------------------------------


def test_first_h1_that_is_a_country_name_is_not_the_title() -> None:
    got, _ = _run("ru_mid_dateline")
    assert got["title"] == "Лавров призвал вывести безопасность СНГ на новый уровень"
    assert "Россия" != got["title"]


def test_dateline_attribution_and_credit_kept_out_of_body() -> None:
    got, _ = _run("ru_mid_dateline")
    assert got["attribution"] == "МОСКВА, 8 декабря. /ТАСС/.; По материалам ТАСС"
    assert got["credit"] == "Фото: МИД России"
    assert got["body"].startswith("Работу по обеспечению безопасности")  # soft hyphen gone
    for text in ("ТАСС", "Фото", "\u00ad", "\u00a0", "Другие новости", "07.12.2021"):
        assert text not in got["body"]


def test_press_release_tail_category_credit_attribution() -> None:
    got, _ = _run("en_mfa_press")
    assert got["category"] == 'GSV "Russia - Islamic World"'
    assert got["credit"] == "Photo: Russian Foreign Ministry"
    assert got["attribution"] == "Based on materials from TASS"
    assert got["body"].endswith('are in our field of vision."')
    for text in ("Latest news", "Share", "cookies", "All rights reserved", "Print version"):
        assert text not in got["body"]


def test_related_lists_full_of_dates_do_not_leak() -> None:
    got, _ = _run("en_related_dates")
    assert got["published_at"] == "2021-12-08T10:00:00-05:00"
    for text in ("Recent releases", "December 10", "More news", "Dec 9", "December 8, 2021"):
        assert text not in got["body"]


def test_selectors_with_drop() -> None:
    got, _ = _run("selector_page")
    assert got["title"] == "Trade turnover with ASEAN countries grew by 18 percent"
    assert "See also" not in got["body"] and "Document No." not in got["body"]
    assert "Subscribe" not in got["body"]
    assert got["published_at"] == "2021-12-08T11:05:00+07:00"


def test_selector_matching_nothing_gives_empty_body() -> None:
    html = (FIXTURES / "selector_page.html").read_text(encoding="utf-8")
    result = extract_article(
        html, "https://e.example/x", selectors=ArticleSelectors(body=".no-such-class")
    )
    assert result.body == ""


def test_invalid_selector_is_not_an_exception() -> None:
    html = (FIXTURES / "selector_page.html").read_text(encoding="utf-8")
    result = extract_article(
        html, "https://e.example/x", selectors=ArticleSelectors(body="div[[[", drop=["::bad"])
    )
    assert result.body == ""


def test_json_ld_article_body_and_metadata() -> None:
    got, _ = _run("jsonld_portal")
    assert got["author"] == "Foreign, Commonwealth & Development Office"
    assert got["category"] == "Press release"
    assert got["tags"] == ["sanctions", "human rights"]
    assert got["published_at"] == "2021-06-30T23:30:00+01:00"  # the page's own offset
    assert "Cookies on GOV.UK" not in got["body"] and "Share this page" not in got["body"]


def test_source_language_wins_over_detection() -> None:
    html = (FIXTURES / "no_title.html").read_text(encoding="utf-8")
    assert extract_article(html, "https://e.example/").language == "es"
    assert extract_article(html, "https://e.example/", language="ca").language == "ca"


# --- garbage in ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   ",
        "not html at all",
        "<html><body></body></html>",
        "\x00\x01\x02<<<>>>&&&;;;",
        "<div>" * 5000 + "deep text" + "</div>" * 10,
        "<p>" + "word " * 20000,
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": [1, {}]}</script>',
        '<script type="application/ld+json">{broken json</script><h1>Kept</h1>',
        "<table><tr><td><table><tr><td>" * 200,
    ],
)
def test_garbage_never_raises(html: str) -> None:
    result = extract_article(html, "not a url")
    assert isinstance(result.body, str)
    assert result.title is None or isinstance(result.title, str)


def test_broken_json_ld_still_uses_the_page() -> None:
    html = (
        '<script type="application/ld+json">{broken json</script>'
        "<article><h1>Kept headline</h1><p>"
        + "A sentence of the body text. " * 10
        + "</p></article>"
    )
    result = extract_article(html, "https://e.example/a")
    assert result.title == "Kept headline"
    assert result.body.startswith("A sentence of the body text.")


# --- pieces --------------------------------------------------------------------------------


def test_html_to_text_paragraphs_and_normalisation() -> None:
    fragment = (
        "<p>First\u00a0para&shy;graph   with\n spaces.</p><script>alert(1)</script>"
        "<ul><li>one</li><li>two</li></ul><blockquote>Quoted words.</blockquote>"
        "<div>Line one<br>Line two</div><style>p{}</style>"
    )
    assert html_to_text(fragment) == (
        "First paragraph with spaces.\n\none\n\ntwo\n\nQuoted words.\n\nLine one\n\nLine two"
    )
    assert html_to_text("") == ""
    assert html_to_text("<p> </p>") == ""


def test_detect_language() -> None:
    assert detect_language("Министр иностранных дел России заявил сегодня журналистам") == "ru"
    assert detect_language("The minister said on Wednesday that talks would continue") == "en"
    german = "Der Minister sagte am Mittwoch, die Gespräche würden fortgesetzt"
    assert detect_language(german) == "de"
    assert detect_language("") is None
    assert detect_language("12.12.2021 — 14:35") is None


SEED_TAIL = [
    "Lavrov also touched upon the prospects for further development of cooperation.",
    'GSV "Russia - Islamic World"',
    "Photo: Russian Foreign Ministry",
    "Based on materials from TASS",
]


def test_split_fields_seed_tail() -> None:
    found = split_fields(SEED_TAIL)
    assert found.body == SEED_TAIL[:1]
    assert found.category == 'GSV "Russia - Islamic World"'
    assert found.credit == "Photo: Russian Foreign Ministry"
    assert found.attribution == "Based on materials from TASS"


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("По материалам ТАСС", "attribution"),
        ("Источник: пресс-служба губернатора", "attribution"),
        ("Source: Reuters", "attribution"),
        ("Source : AFP", "attribution"),
        ("Quelle: dpa", "attribution"),
        ("来源：新华社", "attribution"),
        ("（来源：新华社）", "attribution"),
        ("（图片来源：外交部网站）", "credit"),
        ("Фото: пресс-служба МИД", "credit"),
        ("Фото — Андрей Иванов", "credit"),
        ("Photo credit: Ministry of Trade", "credit"),
        ("Crédit photo : MEAE", "credit"),
        ("Foto: photothek", "credit"),
        ("© Reuters", "credit"),
        ("Photographs of the event were shown to the press on Tuesday.", None),
        ("Sources close to the ministry said the talks would go on.", None),
    ],
)
def test_field_lines(line: str, kind: str | None) -> None:
    found = split_fields(["A first paragraph that is body text, long enough to count.", line])
    got = "attribution" if found.attribution else "credit" if found.credit else None
    assert got == kind
    assert (line in found.body) == (kind is None)


@pytest.mark.parametrize(
    ("paragraph", "dateline", "rest"),
    [
        ("MOSCOW, December 8. /TASS/. The minister said.", "MOSCOW, December 8. /TASS/.", "The"),
        ("МОСКВА, 8 декабря. /ТАСС/. Министр заявил.", "МОСКВА, 8 декабря. /ТАСС/.", "Министр"),
        ("LONDON, Dec 8 (Reuters) - Prices rose.", "LONDON, Dec 8 (Reuters)", "Prices"),
        ("新华社北京12月8日电 国务委员兼外长王毅表示。", "新华社北京12月8日电", "国务委员"),
    ],
)
def test_datelines(paragraph: str, dateline: str, rest: str) -> None:
    found = split_fields([paragraph, "Second paragraph of the body."])
    assert found.attribution == dateline
    assert found.body[0].startswith(rest)


def test_no_dateline_in_ordinary_sentences() -> None:
    text = "NATO, the alliance, met on Monday and agreed on a plan."
    assert split_fields([text]).attribution is None


def test_strip_site_suffix() -> None:
    assert strip_site_suffix("Headline here | Ministry") == "Headline here"
    headline = "Minister meets a delegation from Indonesia"
    assert strip_site_suffix(f"{headline} - Ministry of Foreign Affairs") == headline
    assert strip_site_suffix("Talks held — MFA", "MFA") == "Talks held"
    assert strip_site_suffix("王毅会见俄罗斯大使_外交部_中华人民共和国") == "王毅会见俄罗斯大使"
    assert strip_site_suffix("Site :: News :: The real headline of the day") == (
        "The real headline of the day"
    )
    assert strip_site_suffix("Plain headline") == "Plain headline"


@pytest.mark.parametrize(
    ("line", "is_date"),
    [
        ("08 December 2021", True),
        ("8 декабря 2021 г., 14:35", True),
        ("Publié le 8 décembre 2021", True),
        ("2021年12月8日", True),
        ("Updated: Dec 9, 2021 at 10:15 am EST", True),
        ("8 December: talks in Geneva", False),
        ("Tuesday", False),
    ],
)
def test_date_lines(line: str, is_date: bool) -> None:
    assert is_date_line(line) is is_date


# --- the command ---------------------------------------------------------------------------


def test_cli_jsonl_files(capsys: pytest.CaptureFixture[str]) -> None:
    page = str(FIXTURES / "ru_mid_dateline.html")
    code = main(["extract", page, "--url", "https://mid.example/ru/news/1/", "--jsonl"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    record = json.loads(out[0])
    assert record["file"] == page
    assert record["title"] == "Лавров призвал вывести безопасность СНГ на новый уровень"
    assert record["attribution"].startswith("МОСКВА, 8 декабря.")


def test_cli_failure_exit_code_others_printed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    page = str(FIXTURES / "wp_release.html")
    missing = str(tmp_path / "missing.html")
    code = main(["extract", missing, page])
    captured = capsys.readouterr()
    assert code == 1
    assert "Minister opens regional trade office in Nairobi" in captured.out
    assert "missing.html" in captured.err


def test_cli_empty_page_fails(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["extract", str(FIXTURES / "empty.html"), "--jsonl"])
    captured = capsys.readouterr()
    assert code == 1
    assert "no title and no body" in captured.err
    assert json.loads(captured.out)["body"] == ""


def test_cli_fetches_url(httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]) -> None:
    html = (FIXTURES / "fr_diplomatie.html").read_bytes()
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    httpserver.expect_request("/fr/sahel").respond_with_data(
        html, content_type="text/html; charset=utf-8"
    )
    url = httpserver.url_for("/fr/sahel")
    code = main(["extract", url, "--jsonl"])
    out = capsys.readouterr().out
    assert code == 0
    record = json.loads(out)
    assert record["url"] == url
    assert record["title"] == "Déclaration de la porte-parole sur la situation au Sahel"
    assert record["language"] == "fr"


# --- main-content detection fallbacks ------------------------------------------------------

PROSE = (
    "The ministry said on Monday that the talks, which lasted three days, had ended with an "
    "agreement on trade, transport and energy, and that a joint commission would meet again. "
)


def test_content_inside_a_widget_wrapper_is_found() -> None:
    html = (
        "<body><div class='builder-widget-container'><h1>Talks ended</h1>"
        + f"<p>{PROSE}</p>" * 4
        + "</div><div class='footer-widget'><p>"
        + "Disclaimer: the contents of this site are for information only, not advice. " * 3
        + "</p></div></body>"
    )
    result = extract_article(html, "https://e.example/a")
    assert result.body.count("The ministry said on Monday") == 4
    assert "Disclaimer" not in result.body


def test_text_only_in_noscript_is_used() -> None:
    html = f"<body><div id='app'></div><noscript><div><h1>T</h1><p>{PROSE}</p></div></noscript>"
    assert extract_article(html, "https://e.example/a").body == PROSE.strip()


def test_captions_leave_body_but_give_credit() -> None:
    html = (
        "<article><h1>Talks ended</h1>"
        f"<p>{PROSE}</p><figure><img src='a.jpg'><figcaption>Delegations at the table. "
        "Credit: Ministry press service</figcaption></figure>"
        f"<p>{PROSE}</p></article>"
    )
    result = extract_article(html, "https://e.example/a")
    assert "Delegations" not in result.body
    assert result.credit == "Credit: Ministry press service"


def test_table_rows_are_lines() -> None:
    html = "<table><tr><td>1</td><td>Kyle Busch</td><td>5040</td></tr></table>"
    assert html_to_text(html) == "1 Kyle Busch 5040"


def test_feed_content_wrapped_in_article_is_all_body() -> None:
    # the pipeline wraps a full-text feed entry as <html><body><article>...</article></body></html>
    content = (
        "<p>Short lead.</p><ul><li>Point one</li><li>Point two</li></ul>"
        f"<div class='text'><p>{PROSE}</p><p>{PROSE}</p></div><p>Source: Interfax</p>"
    )
    result = extract_article(
        f"<html><body><article>{content}</article></body></html>", "https://e.example/a"
    )
    assert result.body.split("\n\n")[:3] == ["Short lead.", "Point one", "Point two"]
    assert result.body.count("The ministry said") == 2
    assert result.attribution == "Source: Interfax"


def test_header_h1_far_from_content_is_not_the_title() -> None:
    html = (
        "<html><head><title>Talks on trade ended in Geneva - Ministry</title></head><body>"
        "<div class='top'><h1>Russia</h1></div>"
        "<div class='menu'><a href='/1'>News</a> <a href='/2'>Documents</a></div>"
        "<div class='col'><ul><li><a href='/a'>Briefing</a></li><li><a href='/b'>Visits</a></li>"
        "<li><a href='/c'>Statements</a></li><li><a href='/d'>Interviews</a></li></ul></div>"
        "<div class='news'><h2>Talks on trade ended in Geneva</h2>"
        f"<div class='txt'><p>{PROSE}</p><p>{PROSE}</p></div></div></body></html>"
    )
    assert extract_article(html, "https://e.example/a").title == "Talks on trade ended in Geneva"


def test_embedded_post_in_a_social_wrapper_stays() -> None:
    html = (
        f"<article><h1>T</h1><p>{PROSE}</p>"
        "<div class='social-media-embed'><blockquote class='twitter-tweet'>"
        "<p>We will meet again next week in Geneva, the minister wrote.</p></blockquote></div>"
        f"<p>{PROSE}</p><div class='social-share'><a href='#'>Share on X</a></div></article>"
    )
    body = extract_article(html, "https://e.example/a").body
    assert "We will meet again next week in Geneva" in body
    assert "Share on X" not in body


def test_sentence_full_of_links_is_prose_but_link_list_is_not() -> None:
    linked = (
        "<p>The <a href='/1'>Swedish investigation</a> had been <a href='/2'>shelved in 2017</a> "
        "but was <a href='/3'>re-opened earlier this year after his eviction</a>.</p>"
    )
    html = (
        f"<article><h1>T</h1><p>{PROSE}</p>{linked}<p>{PROSE}</p>"
        "<ul><li><a href='/x'>Another story about the talks</a></li>"
        "<li><a href='/y'>Yet another story about something else</a></li></ul></article>"
    )
    body = extract_article(html, "https://e.example/a").body
    assert "The Swedish investigation had been shelved in 2017" in body
    assert "Another story" not in body


@pytest.mark.parametrize(
    ("lines", "author"),
    [
        (["By Anna Petrova", PROSE], "Anna Petrova"),
        ([PROSE, "Автор: Иван Петров"], "Иван Петров"),
        ([PROSE, "作者：李明"], "李明"),
        (["By the end of the week the talks had ended without a deal.", PROSE], None),
    ],
)
def test_author_lines(lines: list[str], author: str | None) -> None:
    found = split_fields(lines)
    assert found.author == author
    assert len(found.body) == (2 if author is None else 1)
