"""The query language, table-driven: tests/fixtures/rules/queries.yaml (query, text, language,
expected). Each row is checked through RuleSet (index + evaluation) and, for matches, the terms
reported must be words of the text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.config import RuleConfig
from monitor.rules import Document, RuleSet

TABLE = Path(__file__).parent / "fixtures" / "rules" / "queries.yaml"


def _rows() -> list[Any]:
    out = []
    for row in yaml.safe_load(TABLE.read_text(encoding="utf-8")):
        if isinstance(row, list):
            query, body, lang, expect = row
            row = {"q": query, "title": "", "body": body, "lang": lang, "expect": expect}
        out.append(pytest.param(row, id=f"{row['q']} | {row['body'][:30]} | {row['lang']}"))
    return out


ROWS = _rows()


def test_table_is_large_enough() -> None:
    assert len(ROWS) >= 60
    langs = {p.values[0]["lang"] for p in ROWS}
    assert {"en", "ru"} <= langs


@pytest.mark.parametrize("row", ROWS)
def test_query(row: dict[str, Any]) -> None:
    rules = RuleSet.compile([RuleConfig(name="r", query=str(row["q"]))])
    doc = Document(
        source="s", title=row.get("title", ""), body=row["body"], language=row["lang"],
        attribution=row.get("attribution"), category=row.get("category"),
    )
    found = rules.match(doc)
    assert bool(found) is row["expect"], row.get("why", "")
    if found:
        text = " ".join(filter(None, [doc.title, doc.body, doc.attribution, doc.category]))
        for term in found[0].terms:
            assert term in text  # as it appears in the text, for highlighting


PLAIN = [
    p for p in ROWS
    if str(p.values[0]["q"]).isalnum()
    and not any(p.values[0].get(k) for k in ("title", "attribution", "category"))
]


@pytest.mark.parametrize("row", PLAIN)
def test_query_as_keyword_rule_agrees_for_plain_words(row: dict[str, Any]) -> None:
    """A single plain word used as ``keywords: [word]`` means the same as the query."""
    q = str(row["q"])
    rules = RuleSet.compile([RuleConfig(name="r", keywords=[q])])
    doc = Document(source="s", title="", body=row["body"], language=row["lang"])
    assert bool(rules.match(doc)) is row["expect"]
