from __future__ import annotations

from pathlib import Path

import pytest

from monitor.encoding import (
    choose_charset,
    codec_name,
    decode_html,
    decode_result,
    header_charset,
)
from monitor.models import FetchResult

PAGES = Path(__file__).parent / "fixtures" / "fetch"
HEADLINE = "О встрече Министра с делегацией Республики Беларусь"


def page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


@pytest.mark.parametrize(
    ("name", "header", "expected"),
    [
        # charset only in <meta http-equiv>, no header charset
        ("cp1251_meta.html", None, "cp1251"),
        # the header contradicts the bytes: utf-8 declared, windows-1251 served
        ("cp1251_meta.html", "utf-8", "cp1251"),
        # a server default (iso-8859-1) gives way to the page's own <meta>
        ("cp1251_meta.html", "ISO-8859-1", "cp1251"),
        # a byte-order mark beats a header naming a legacy charset
        ("utf8_bom.html", "windows-1251", "utf-8-sig"),
        # valid non-ASCII UTF-8 declared as windows-1251 in the header
        ("utf8_meta.html", "windows-1251", "utf-8"),
        ("utf8_meta.html", None, "utf-8"),
        ("koi8r_meta.html", None, "koi8-r"),
        # header and <meta> name two Cyrillic charsets that both decode: the text decides
        ("koi8r_meta.html", "windows-1251", "koi8-r"),
        ("cp1251_meta.html", "koi8-r", "cp1251"),
        # the header is right and the page says nothing
        ("cp1251_nocharset.html", "windows-1251", "cp1251"),
        ("cp1251_nocharset.html", "x-cp1251", "cp1251"),
    ],
)
def test_charset_order(name: str, header: str | None, expected: str) -> None:
    content = page(name)
    assert choose_charset(content, header_charset=header) == expected
    text = decode_html(content, header_charset=header)
    assert HEADLINE in text
    assert "МОСКВА, 8 декабря. /ТАСС/." in text
    assert "\ufffd" not in text


def test_detection_without_any_charset() -> None:
    content = page("cp1251_nocharset.html")
    assert b"charset" not in content
    text = decode_html(content)
    assert HEADLINE in text
    assert "провёл переговоры" in text


def test_override_wins_over_everything() -> None:
    # the page says windows-1251 in <meta>, but the source's `encoding` key says koi8-r
    content = page("cp1251_meta.html")
    assert choose_charset(content, header_charset="utf-8", override="koi8-r") == "koi8-r"
    wrong = decode_html(content, header_charset="utf-8", override="koi8-r")
    assert HEADLINE not in wrong
    # an unknown override is ignored rather than fatal
    assert HEADLINE in decode_html(content, override="no-such-charset")


def test_utf16_bom() -> None:
    text = "<html><body><p>Привет, мир</p></body></html>"
    assert "Привет, мир" in decode_html(text.encode("utf-16"))


def test_meta_claiming_utf16_on_ascii_bytes_means_utf8() -> None:
    content = '<meta charset="utf-16"><p>Данные</p>'.encode()
    assert choose_charset(content) == "utf-8"
    assert "Данные" in decode_html(content)


def test_meta_charset_forms() -> None:
    html5 = b'<html><head><meta charset=windows-1251></head>' + "Тест".encode("cp1251")
    assert decode_html(html5).endswith("Тест")
    quoted = b"<meta content='text/html; charset=\"koi8-r\"' http-equiv='Content-Type'>"
    assert choose_charset(quoted + "Тест".encode("koi8-r")) == "koi8-r"
    xml = b'<?xml version="1.0" encoding="windows-1251"?><rss>' + "Тест".encode("cp1251")
    assert choose_charset(xml) == "cp1251"


def test_meta_beyond_prescan_is_ignored() -> None:
    filler = b"<!-- " + b"x" * 5000 + b" -->"
    content = b"<html><head>" + filler + b'<meta charset="koi8-r"></head>' + b"plain ascii"
    assert choose_charset(content) != "koi8-r"


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe\x00",  # a truncated UTF-16 BOM page
        b"\x80\x81\x82\x83\x98\xff" * 50,
        b"",
        bytes(range(256)) * 4,
        b'<meta charset="utf-8">\xc3\x28 broken',
    ],
)
def test_never_raises_on_bad_bytes(content: bytes) -> None:
    for header in (None, "utf-8", "windows-1251", "bogus"):
        assert isinstance(decode_html(content, header_charset=header), str)


def test_bad_bytes_in_declared_utf8_are_replaced_not_raised() -> None:
    # one stray byte in an otherwise UTF-8 page: keep UTF-8, replace the byte
    content = ("<p>" + "Новости министерства. " * 20 + "</p>").encode() + b"\xff"
    text = decode_html(content, header_charset="utf-8")
    assert "Новости министерства." in text
    assert text.endswith("\ufffd")


def test_header_charset_parsing() -> None:
    assert header_charset("text/html; charset=windows-1251") == "windows-1251"
    assert header_charset('text/html;charset="UTF-8"') == "UTF-8"
    assert header_charset("text/html") is None
    assert header_charset(None) is None
    assert codec_name("Windows-1251") == "cp1251"
    assert codec_name("latin1") == "cp1252"
    assert codec_name("nonsense") is None


def test_decode_result_uses_content_type() -> None:
    result = FetchResult(
        url="http://example.test/",
        status=200,
        headers={"content-type": "text/html; charset=windows-1251"},
        content=page("cp1251_nocharset.html"),
    )
    assert HEADLINE in decode_result(result)
    assert HEADLINE not in decode_result(result, override="koi8-r")
