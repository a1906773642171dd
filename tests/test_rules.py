"""Rules: query validation, keywords/exclude, filters, the candidate index, snippets, and
``monitor rules check`` over a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor import cli
from monitor.config import RuleConfig, parse_config
from monitor.errors import ConfigError, QueryError
from monitor.models import Article
from monitor.rules import Document, Match, RuleSet, snippet, validate_keyword, validate_query
from monitor.stem import token_spans, tokens
from monitor.store import Store
from monitor.textnorm import words

LAVROV_TITLE = "Lavrov urged to take CIS security to a new level amid current challenges"
LAVROV_BODY = (
    "Work on ensuring the security of the Commonwealth of Independent States (CIS) needs to "
    "be brought to a new level against the aggravation of the situation in Afghanistan.\n\n"
    "According to the Russian Foreign Minister, \"issues of ensuring security in all dimensions "
    "and combating transnational crime and drug trafficking\" should remain the focus."
)
RU_BODY = (
    "МОСКВА, 8 декабря. /ТАСС/. Работа по обеспечению безопасности Содружества Независимых "
    "Государств должна быть выведена на но\u00adвый уровень, заявил Сергей\u00a0Лавров. "
    "Он напомнил о борьбе с незаконной торговлей наркотиками."
)


def en(body: str = LAVROV_BODY, title: str = LAVROV_TITLE, source: str = "mid") -> Document:
    return Document(source=source, title=title, body=body, language="en")


def ru(body: str = RU_BODY, title: str = "Лавров о безопасности СНГ", source: str = "tass"
       ) -> Document:
    return Document(source=source, title=title, body=body, language="ru")


def rule(name: str = "r", **kw: object) -> RuleConfig:
    return RuleConfig(name=name, **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "query,position",
    [
        ("cis AND (security", 17),  # unmatched parenthesis: at the end
        ("cis OR security)", 15),
        ("cis AND AND security", 8),
        ('"unterminated phrase', 0),
        ("foo:bar", 0),  # unknown field
        ("cis AND nato~2", 8),  # fuzzy
        ("cis [a TO b]", 4),  # range
        ("cis /se.*/", 4),  # regex
        ("secu*rity", 4),  # inner wildcard
        ("se?urity", 2),
        ("cis && nato", 4),  # && is not an operator here
        ("title:(cis OR *)", 14),
        ("", 0),
    ],
)
def test_validate_query_positions(query: str, position: int) -> None:
    with pytest.raises(QueryError) as err:
        validate_query(query)
    assert err.value.position == position, str(err.value)


@pytest.mark.parametrize(
    "query",
    ['cis AND "drug trafficking"~5', "title:(cis OR снг) -nato", "secur*", "+cis +security",
     "attribution:ТАСС", "category:sanctions", '"a b"^2', r"us\:uk", "NOT nato"],
)
def test_validate_query_accepts(query: str) -> None:
    validate_query(query)


def test_validate_keyword() -> None:
    validate_keyword("drug trafficking")
    validate_keyword("secur*")
    with pytest.raises(QueryError):
        validate_keyword("—")
    with pytest.raises(QueryError):
        validate_keyword("  ")


def test_compile_names_the_rule_and_position() -> None:
    with pytest.raises(QueryError) as err:
        RuleSet.compile([rule("ok", query="cis"), rule("broken", query="cis OR (nato")])
    assert err.value.rule == "broken"
    assert err.value.position == 12
    assert "broken" in str(err.value)


def test_config_error_names_rule_line_and_position() -> None:
    text = (
        "rules:\n"
        "  - name: fine\n"
        "    query: cis\n"
        "  - name: broken\n"
        "    query: 'cis AND (security'\n"
        "  - name: kw\n"
        "    keywords: [ok, '&&']\n"
    )
    with pytest.raises(ConfigError) as err:
        parse_config(text, "monitor.yaml")
    problems = err.value.problems
    assert any(
        p.startswith("monitor.yaml:5:") and "broken" in p and "position 17" in p for p in problems
    ), problems
    assert any(p.startswith("monitor.yaml:7:") and "keywords[1]" in p for p in problems), problems
    assert len(problems) == 2


# ---------------------------------------------------------------- keywords, exclude, filters


def test_keywords_any_of_them_words_or_phrases() -> None:
    rs = RuleSet.compile([rule(keywords=["nato", "drug trafficking"])])
    assert rs.match(en()) == [Match("r", ("drug trafficking",))]
    assert rs.match(en(body="trafficking of drugs")) == []


def test_keywords_stem_and_prefix() -> None:
    rs = RuleSet.compile([rule(keywords=["содружество", "безопас*"])])
    (m,) = rs.match(ru())
    assert set(m.terms) == {"Содружества", "безопасности"}


def test_exclude_none_of_them() -> None:
    rs = RuleSet.compile([rule(keywords=["security"], exclude=["afghanistan", "nato summit"])])
    assert rs.match(en()) == []
    assert rs.match(en(body="security and the NATO meeting")) != []
    assert rs.match(en(body="security and the NATO summit")) == []


def test_query_and_keywords_must_both_hold() -> None:
    rs = RuleSet.compile([rule(query="title:lavrov", keywords=["csto", "drug trafficking"])])
    assert len(rs.match(en())) == 1
    assert rs.match(en(title="Shoigu on the CIS")) == []
    assert rs.match(en(body="no such words")) == []


def test_sources_filter() -> None:
    rs = RuleSet.compile([rule("a", query="cis", sources=["mid"]), rule("b", query="cis")])
    assert [m.rule for m in rs.match(en(source="mid"))] == ["a", "b"]
    assert [m.rule for m in rs.match(en(source="kremlin"))] == ["b"]


def test_languages_filter() -> None:
    rs = RuleSet.compile([
        rule("ru-only", query="лавров*", languages=["ru"]),
        rule("en-only", query="lavrov", languages=["en-GB"]),
        rule("any", query="лавров* OR lavrov"),
    ])
    assert [m.rule for m in rs.match(ru())] == ["ru-only", "any"]
    assert [m.rule for m in rs.match(en())] == ["en-only", "any"]
    unknown = Document("s", "Лавров", "", None)
    assert [m.rule for m in rs.match(unknown)] == ["any"]


def test_same_rule_matches_per_document_language() -> None:
    """A rule word is stemmed in each document's language."""
    rs = RuleSet.compile([rule(keywords=["sanctions", "санкции"])])
    assert rs.match(Document("s", "", "new sanction", "en"))
    assert rs.match(Document("s", "", "о санкциях", "ru"))
    assert not rs.match(Document("s", "", "о санкциях", "en"))  # not stemmed as Russian


def test_terms_as_they_appear_in_the_text() -> None:
    rs = RuleSet.compile([rule(query='содружество AND "новый уровень" AND "сергей лавров"')])
    (m,) = rs.match(ru())
    assert m.terms == ("Содружества", "но\u00adвый уровень", "Сергей\u00a0Лавров")


def test_terms_only_from_branches_that_matched() -> None:
    rs = RuleSet.compile([rule(query="(nato AND security) OR (cis AND trafficking*)")])
    (m,) = rs.match(en())
    assert "security" not in m.terms
    assert {"CIS", "trafficking"} <= set(m.terms)


def test_negative_only_rule_has_no_terms() -> None:
    rs = RuleSet.compile([rule(query="NOT nato")])
    assert rs.match(en()) == [Match("r", ())]


def test_tokens_agree_with_textnorm_words() -> None:
    odd = ("don't ½ cup, x\u200by Ŝ ﬁne e\u0301 snake_case __init__ 'quoted' Russia’s "
           "rock'n'roll x'' ''y a\u00a0b\u2007c\u202fd (CIS)-related №5 3.14 ‘Ё-моё’ …")
    for text in (LAVROV_BODY, RU_BODY, odd):
        assert tokens(text) == words(text)
    for text in (LAVROV_BODY, RU_BODY, "½ cup of e\u0301 ﬁne"):
        toks = tokens(text)
        spans = token_spans(text, toks)
        assert len(spans) == len(toks)
        for tok, (start, end) in zip(toks, spans, strict=True):
            assert tok in tokens(text[start:end])


# ---------------------------------------------------------------- the candidate index


def _many_rules(n: int) -> list[RuleConfig]:
    return [rule(f"r{i}", query=f"zq{i}x AND (common OR usual)") for i in range(n)]


def test_only_candidate_rules_are_evaluated() -> None:
    rs = RuleSet.compile(_many_rules(2000) + [rule("neg", query="NOT zq5x")])
    doc = Document("s", "", "common words zq7x and zq1234x here", "en")
    assert set(rs.candidates(doc)) == {"r7", "r1234", "neg"}
    found = rs.match(doc)
    assert rs.evaluations == 3  # not 2001
    assert [m.rule for m in found] == ["r7", "r1234", "neg"]


def test_evaluations_grow_with_candidates_not_rules() -> None:
    doc = Document("s", "", "zq1x zq2x zq3x usual", "en")
    counts = []
    for n in (100, 5000):
        rs = RuleSet.compile(_many_rules(n))
        assert [m.rule for m in rs.match(doc)] == ["r1", "r2", "r3"]
        counts.append(rs.evaluations)
    assert counts == [3, 3]


def test_index_picks_one_required_term_and_or_needs_all() -> None:
    rs = RuleSet.compile([
        rule("and", query="lavrov AND security"),
        rule("or", query="lavrov OR shoigu"),
        rule("prefix", query="secur* -nato"),
        rule("phrase", query='"drug trafficking"'),
        rule("lang", query="lavrov", languages=["ru"]),
    ])
    assert rs.candidates(en(title="", body="Shoigu")) == ["or"]
    assert rs.candidates(en(title="", body="the insecurity")) == []
    assert rs.candidates(en(title="", body="securities")) == ["prefix"]
    assert rs.candidates(en(title="", body="drugs")) == []  # trafficking is the longer key
    assert set(rs.candidates(en(title="", body="trafficking"))) == {"phrase"}
    assert "lang" not in rs.candidates(en())


def test_prefix_used_without_being_the_key() -> None:
    rs = RuleSet.compile([rule(query='lavrov AND "cis secur*"'), rule("p2", query="zz*")])
    assert rs.match(en(body="CIS security, says Lavrov"))
    assert not rs.match(en(title="", body="CIS and security, says Lavrov"))


def test_per_language_index_and_stem_cache() -> None:
    rs = RuleSet.compile([rule(keywords=["содружество"])])
    for _ in range(3):
        assert rs.match(ru())
        assert not rs.match(en())
    assert set(rs._indexes) == {"ru", "en"}


# ---------------------------------------------------------------- snippets


def test_snippet_highlights_terms_by_stem() -> None:
    text, spans = snippet(RU_BODY, ["Содружество", "торговля наркотиками"], language="ru",
                          width=400)
    marked = [text[a:b] for a, b in spans]
    assert marked == ["Содружества", "торговлей наркотиками"]


def test_snippet_window_and_ellipses() -> None:
    body = ("Filler words. " * 40) + "The CIS security summit opened. " + ("More filler. " * 40)
    text, spans = snippet(body, ["CIS", "security"], language="en", width=80)
    assert text.startswith("…") and text.endswith("…")
    assert len(text) <= 82
    assert [text[a:b] for a, b in spans] == ["CIS", "security"]
    assert "\n" not in text and "  " not in text


def test_snippet_picks_the_densest_window() -> None:
    body = "cis once. " + "x " * 200 + "cis and security and cis again. " + "y " * 200
    text, spans = snippet(body, ["cis", "security"], language="en", width=60)
    assert len(spans) == 3


def test_snippet_without_hits_is_the_start() -> None:
    text, spans = snippet(LAVROV_BODY, ["nato"], language="en", width=50)
    assert spans == []
    assert text.startswith("Work on ensuring") and text.endswith("…")
    assert len(text) <= 51


def test_snippet_of_short_text_is_whole() -> None:
    text, spans = snippet("CIS\nsecurity", ["security"], language="en")
    assert text == "CIS security"
    assert spans == [(4, 12)]


# ---------------------------------------------------------------- monitor rules check


def _article(n: int, title: str, body: str, *, day: int, lang: str = "en",
             source: str = "mid") -> Article:
    when = datetime(2021, 12, day, 10, 0, tzinfo=UTC)
    return Article(source=source, url=f"https://mid.example/news/{n}", title=title, body=body,
                   first_seen_at=when, published_at=when, language=lang, fingerprint=f"fp{n}")


@pytest.fixture
def checked(tmp_path: Path) -> Path:
    db = tmp_path / "data" / "monitor.db"
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(
        f"storage:\n  path: {db}\n"
        "sources:\n  - name: mid\n    url: https://mid.example/rss\n"
        "rules:\n"
        "  - name: cis-security\n    query: 'cis AND secur*'\n"
        "  - name: drugs\n    keywords: [drug trafficking, наркотики]\n",
        encoding="utf-8",
    )
    store = Store.open(db)
    store.insert_article(_article(1, LAVROV_TITLE, LAVROV_BODY, day=8))
    store.insert_article(_article(2, "Shoigu meets NATO", "Nothing on the Commonwealth.", day=9))
    store.insert_article(_article(3, "CIS summit", "Security of CIS borders.", day=1))
    store.insert_article(_article(4, "Лавров о СНГ", RU_BODY, day=9, lang="ru"))
    store.close()
    return cfg


def test_rules_check_prints_matches(checked: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["rules", "check", "-c", str(checked), "cis-security"]) == 0
    out = capsys.readouterr().out
    assert LAVROV_TITLE in out and "CIS summit" in out
    assert "Shoigu" not in out
    assert "https://mid.example/news/1" in out
    assert "2021-12-08 10:00" in out
    assert "terms: CIS, security" in out
    assert "[CIS]" in out  # the snippet marks the terms
    assert out.index("CIS summit") < out.index(LAVROV_TITLE)  # most recently stored first
    assert "2 match(es) in 4 article(s)" in out and "nothing was sent" in out


def test_rules_check_since_and_limit(checked: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["rules", "check", "-c", str(checked), "cis-security",
                     "--since", "2021-12-05"]) == 0
    out = capsys.readouterr().out
    assert LAVROV_TITLE in out and "CIS summit" not in out
    assert cli.main(["rules", "check", "-c", str(checked), "drugs", "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert "1 match(es)" in out and "limit reached" in out
    assert "Лавров о СНГ" in out  # most recently stored first
    assert "terms: торговлей наркотиками" not in out and "terms: наркотиками" in out


def test_rules_check_unknown_rule(checked: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["rules", "check", "-c", str(checked), "nope"]) == 2
    err = capsys.readouterr().err
    assert "no rule named 'nope'" in err and "cis-security" in err


def test_rules_check_sends_and_records_nothing(checked: Path) -> None:
    assert cli.main(["rules", "check", "-c", str(checked), "drugs"]) == 0
    store = Store.open(checked.parent / "data" / "monitor.db")
    try:
        assert store.alerts() == []
        assert not store.has_match("drugs", 1)
    finally:
        store.close()


def test_stem_cache_rollover_keeps_the_documents_words(monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.stem import Analyzer

    an = Analyzer("en")
    monkeypatch.setattr(Analyzer, "CACHE", 5)
    first = an.stem_map({"securities", "ministers", "drugs"})
    assert first["securities"] == "secur"
    mapping = an.stem_map({"securities", "ministers", "trafficking", "sanctions", "levels"})
    assert {mapping[w] for w in ("securities", "ministers", "trafficking", "sanctions",
                                 "levels")} == {"secur", "minist", "traffick", "sanction", "level"}
    assert len(an._cache) <= 5


# ---------------------------------------------------------------- fast paths agree with slow ones


@pytest.mark.parametrize(
    "text",
    [
        "it’s don't rock'n'roll a’'b x''y 'quoted' ‘single’ “double” «ёлки»",
        "— - – ... … u.s. 16-inch e-tron 2–3 1⁄2 ½ (CIS)-related [1] snake_case __x__",
        "Wi-Fi, NASA’s; you’re: they’ve! I’m? 3.14 №5 a\u00adb c\u200bd",
    ],
)
def test_tokens_of_punctuated_chunks_agree_with_the_regex(text: str) -> None:
    assert tokens(text) == words(text)


def test_index_remembers_words_and_forgets_them_past_its_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from monitor import rules as rules_mod

    monkeypatch.setattr(rules_mod._Index, "SEEN", 5)
    rs = RuleSet.compile([rule("a", query="security AND cis"), rule("p", query="traffick*")])
    for _ in range(3):  # learnt, then forgotten and learnt again: the same answers
        assert [m.rule for m in rs.match(en())] == ["a", "p"]
        assert rs.match(en(title="", body="Securities of many other states")) == []
        assert [m.rule for m in rs.match(en(title="", body="Traffickers and CIS security"))] \
            == ["a", "p"]
    assert len(rs._indexes["en"]._known) <= 5 + len(tokens(LAVROV_BODY + LAVROV_TITLE))


def test_view_restricted_to_rule_stems_widens_when_asked_about_another() -> None:
    rs = RuleSet.compile([rule(query="security")])
    d = rs.view(en())
    rs.candidates(d)  # the index restricts the view to the rules' stems
    assert d.universe is not None and "secur" in d.universe
    assert d.has_stem(("title", "body"), "secur")
    assert d.has_stem(("title", "body"), "afghanistan")  # not a rule's stem: widens
    assert d.universe is None
    assert not d.has_stem(("title",), "afghanistan")
    assert d.words_of("secur") == ["security"]


def test_no_rules_match_nothing_without_analysing_the_text(monkeypatch):
    rules = RuleSet.compile([])

    def boom(doc):  # noqa: ANN001, ANN202
        raise AssertionError("an empty rule set must not tokenise the document")

    monkeypatch.setattr(rules, "view", boom)
    assert rules.match(Document("s", "CIS security", "text", "en")) == []
