"""Watch rules: compiled once, matched against every new article, with a rule index.

A rule is a ``query`` (see ``monitor.query`` for the language), and/or ``keywords`` (any of them
matches; each a word or a phrase) and ``exclude`` (none of them may match); with both a query and
keywords, both must hold. ``sources`` and ``languages`` restrict the articles a rule sees.

Many rules stay fast the way Lucene's Monitor does it: for each document language, every rule
names a set of keys (stems or prefixes) one of which a matching article must contain; an article's
own stems select the *candidate* rules from that index and only those are evaluated. Rules that can
match without any key (only ``NOT`` clauses) are always candidates. So the cost of an article grows
with its candidates, not with the number of rules.

An article is not stemmed word by word: the index remembers every word it has seen with what that
word means to it (a stem some rule tests, indexed prefixes, candidate rules), stems new words in
one batch, and hands the view only the stems of its rules (see ``DocView.restrict``).
"""

from __future__ import annotations

import itertools
import re
import threading
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import cast

import ahocorasick

from monitor.config import RuleConfig
from monitor.errors import QueryError
from monitor.query import (
    And,
    DocView,
    Node,
    Not,
    Or,
    parse_keyword,
    parse_query,
    prefixes_of,
    stems_of,
    validate_keyword,
    validate_query,
)
from monitor.stem import Analyzer, analyzer, language_key, token_spans, tokens

__all__ = [
    "Document",
    "Match",
    "RuleSet",
    "snippet",
    "validate_keyword",
    "validate_query",
]

_MAX_TERMS = 20
_BREAKS = re.compile(r"\s*[\r\n\t]\s*")


@dataclass(frozen=True)
class Document:
    """What a rule sees of an article."""

    source: str
    title: str
    body: str
    language: str | None
    attribution: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class Match:
    """A rule that matched, and the words/phrases it matched as they appear in the text."""

    rule: str
    terms: tuple[str, ...]


@dataclass(frozen=True)
class CompiledRule:
    name: str
    node: Node
    sources: frozenset[str] | None
    languages: frozenset[str | None] | None


def compile_rule(rule: RuleConfig) -> CompiledRule:
    """One rule's matcher; QueryError names the rule and the position in the query."""
    parts: list[Node] = []
    field = "query"
    try:
        if rule.query:
            parts.append(parse_query(rule.query))
        field = "keywords"
        if rule.keywords:
            parts.append(Or([parse_keyword(k) for k in rule.keywords]))
        field = "exclude"
        if rule.exclude:
            parts.append(Not(Or([parse_keyword(k) for k in rule.exclude])))
    except QueryError as exc:
        where = f" at position {exc.position}" if exc.position is not None else ""
        raise QueryError(
            f"rule {rule.name!r}: {field}{where}: {exc}", rule=rule.name, position=exc.position
        ) from exc
    if not parts:
        raise QueryError(f"rule {rule.name!r} has no query and no keywords", rule=rule.name)
    return CompiledRule(
        name=rule.name,
        node=parts[0] if len(parts) == 1 else And(parts),
        sources=frozenset(rule.sources) if rule.sources is not None else None,
        languages=(
            frozenset(language_key(x) for x in rule.languages)
            if rule.languages is not None
            else None
        ),
    )


# what a word means to an index: ((word, stem) when the stem is in the universe, else None;
# the indexed prefixes it starts with; the rules it makes candidates; the word)
_Hit = tuple[tuple[str, str] | None, tuple[str, ...], tuple[int, ...], str]
_MISS = cast(_Hit, ())  # falsy: a word with nothing for the index
_PAIR, _PREFIXES, _IDS = itemgetter(0), itemgetter(1), itemgetter(2)


class _Index:
    """The rules of one document language, by the keys a matching document must contain
    (stems and prefixes), and the stems any of them tests (the *universe*).

    A document's words are looked up in what the index learnt of words seen before; new words
    are stemmed in one batch and run through an Aho-Corasick automaton of the prefixes. So a
    document costs set operations on its distinct words, and stemming only for new ones."""

    SEEN = 250_000  # words remembered; forgotten all at once past this

    def __init__(self, rules: Sequence[CompiledRule], an: Analyzer) -> None:
        self.analyzer = an
        self.stems: dict[str, list[int]] = {}
        prefixes: dict[str, list[int]] = {}
        universe: set[str] = set()
        always: list[int] = []
        for i, rule in enumerate(rules):
            if rule.languages is not None and an.language not in rule.languages:
                continue  # never a candidate in this language
            rule.node.prepare(an)
            universe |= stems_of(rule.node, an.language)
            for p in prefixes_of(rule.node):  # has_prefix() answers from the automaton's hits
                prefixes.setdefault(p, [])
            keys = rule.node.keys(an)
            if keys is None:
                always.append(i)
                continue
            for s in keys[0]:
                self.stems.setdefault(s, []).append(i)
            for p in keys[1]:
                prefixes.setdefault(p, []).append(i)
        self.always = frozenset(always)
        self.universe = frozenset(universe | set(self.stems))
        self.prefix_ids = {p: tuple(ids) for p, ids in prefixes.items()}
        self.prefix_keys = frozenset(prefixes)
        self.prefixes: ahocorasick.Automaton | None = None
        if prefixes:
            self.prefixes = ahocorasick.Automaton()
            for p in prefixes:
                self.prefixes.add_word(" " + p, p)  # the space: at a word start
            self.prefixes.make_automaton()
        # every word seen: (word, its stem if in the universe, prefixes, candidate rules), or
        # _MISS when it has neither a stem in the universe nor an indexed prefix
        self._known: dict[str, _Hit] = {}
        self._lock = threading.Lock()

    def _learn(self, known: dict[str, _Hit], new: list[str]) -> None:
        stems = self.analyzer.stem_words(new)
        found: dict[int, set[str]] = {}
        if self.prefixes is not None:
            starts = list(itertools.accumulate((len(w) + 1 for w in new), initial=0))
            for end, p in self.prefixes.iter(" " + " ".join(new)):
                k = bisect_right(starts, end - len(p)) - 1  # the word the prefix starts
                found.setdefault(k, set()).add(p)
        universe, by_stem, prefix_ids = self.universe, self.stems, self.prefix_ids
        learnt: dict[str, _Hit] = dict.fromkeys(new, _MISS)
        for k, (w, s) in enumerate(zip(new, stems, strict=True)):
            ps = found.get(k)
            if s in universe or ps:
                ids = list(by_stem.get(s, ()))
                for p in ps or ():
                    ids += prefix_ids[p]
                pair = (w, s) if s in universe else None
                learnt[w] = (pair, tuple(sorted(ps or ())), tuple(ids), w)
        with self._lock:
            known.update(learnt)
            if len(known) > self.SEEN and known is self._known:
                self._known = {}

    def candidates(self, d: DocView) -> set[int]:
        found = set(self.always)
        known = self._known
        # all tokens, not distinct words: a set would cost more than the repeated look-ups
        words = list(itertools.chain.from_iterable(d.words.values()))
        got = list(map(known.get, words))
        if None in got:
            new = {w for w, g in zip(words, got, strict=True) if g is None}
            self._learn(known, list(new))
            got = list(map(known.get, words))
        hits = list(filter(None, got))
        if hits:
            found.update(*map(_IDS, hits))
        stem_of = dict(filter(None, map(_PAIR, hits)))
        by_prefix: dict[str, dict[str, None]] = {}
        for _, ps, _, w in filter(_PREFIXES, hits):
            for p in ps:
                by_prefix.setdefault(p, {})[w] = None
        d.restrict(stem_of, self.universe)
        d.prefix_hits, d.prefix_keys = set(by_prefix), self.prefix_keys
        d.prefix_words = {p: list(ws) for p, ws in by_prefix.items()}
        return found


class RuleSet:
    """Compiled rules. ``evaluations`` counts rules fully evaluated (for tests and metrics)."""

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self.rules = tuple(rules)
        self.evaluations = 0
        self._indexes: dict[str | None, _Index] = {}
        self._lock = threading.Lock()

    @classmethod
    def compile(cls, rules: Sequence[RuleConfig]) -> RuleSet:
        return cls([compile_rule(r) for r in rules])

    def __len__(self) -> int:
        return len(self.rules)

    def _index(self, an: Analyzer) -> _Index:
        index = self._indexes.get(an.language)
        if index is None:
            with self._lock:
                index = self._indexes.get(an.language)
                if index is None:
                    index = self._indexes[an.language] = _Index(self.rules, an)
        return index

    def view(self, doc: Document) -> DocView:
        texts = {"title": doc.title or "", "body": doc.body or ""}
        if doc.attribution:
            texts["attribution"] = doc.attribution
        if doc.category:
            texts["category"] = doc.category
        return DocView(texts, analyzer(doc.language))

    def candidates(self, doc: Document | DocView) -> list[str]:
        """Names of the rules the index selects for a document (before evaluation)."""
        d = doc if isinstance(doc, DocView) else self.view(doc)
        return [self.rules[i].name for i in sorted(self._index(d.analyzer).candidates(d))]

    def match(self, doc: Document) -> list[Match]:
        """The rules that match a document, in the order they were given."""
        if not self.rules:
            return []  # nothing to analyse the text for
        d = self.view(doc)
        found = self._index(d.analyzer).candidates(d)
        if not found:
            return []
        out: list[Match] = []
        for i in sorted(found):
            rule = self.rules[i]
            if rule.sources is not None and doc.source not in rule.sources:
                continue
            self.evaluations += 1
            if rule.node.matches(d):
                terms: list[str] = []
                rule.node.collect(d, terms)
                out.append(Match(rule.name, _distinct(terms)))
        return out


def _distinct(terms: list[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    out: list[str] = []
    for t in terms:
        if "\n" in t or "\r" in t or "\t" in t:
            t = _BREAKS.sub(" ", t)  # a phrase over a line break reads as one line
        if t and t not in seen:
            seen.add(t)
            out.append(t)
    return tuple(out[:_MAX_TERMS])


# ---------------------------------------------------------------- snippets

_ELLIPSIS = "…"


def highlights(text: str, terms: Sequence[str], *, language: str | None) -> list[tuple[int, int]]:
    """Spans of ``text`` where any term occurs (by stem, words in order), merged, sorted."""
    an = analyzer(language)
    toks = tokens(text)
    if not toks or not terms:
        return []
    spans = token_spans(text, toks)
    stem_of = an.stem_map(set(toks))
    stems = [stem_of[t] for t in toks]
    by_first: dict[str, set[tuple[str, ...]]] = {}
    for term in terms:
        seq = tuple(an.stem(t) for t in tokens(term.rstrip("*")))
        if seq:
            by_first.setdefault(seq[0], set()).add(seq)
    hits: list[tuple[int, int]] = []
    for i, s in enumerate(stems):
        for seq in by_first.get(s, ()):
            if tuple(stems[i : i + len(seq)]) == seq:
                hits.append((spans[i][0], spans[i + len(seq) - 1][1]))
    hits.sort()
    merged: list[tuple[int, int]] = []
    for start, end in hits:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def snippet(
    text: str, terms: Sequence[str], *, language: str | None, width: int = 240
) -> tuple[str, list[tuple[int, int]]]:
    """About ``width`` characters of ``text`` around the densest group of terms, whitespace
    collapsed, cut at word boundaries (``…`` where cut), and the terms' spans within it."""
    hits = highlights(text, terms, language=language)
    n = len(text)
    if hits:
        best, best_count = 0, 0
        for i, (start, _) in enumerate(hits):
            count = sum(1 for s, e in hits[i:] if e <= start + width)
            if count > best_count:
                best, best_count = i, count
        group_start = hits[best][0]
        group_end = max([hits[best][1]] + [e for _, e in hits[best:] if e <= group_start + width])
        slack = max(width - (group_end - group_start), 0)
        start = max(0, group_start - slack // 2)
    else:
        group_start = group_end = 0
        start = 0
    end = min(n, start + width)
    if end - start < width:
        start = max(0, end - width)
    if start > 0 and not text[start - 1].isspace():
        m = re.compile(r"\s").search(text, start, group_start if hits else end)
        if m:
            start = m.end()
    if end < n and not text[end].isspace():
        cut = max(text.rfind(" ", start, end), text.rfind("\n", start, end))
        if cut > max(start, group_end):
            end = cut
    body, pos = _collapse(text[start:end])
    lead = _ELLIPSIS if start > 0 else ""
    tail = _ELLIPSIS if end < n else ""
    spans = []
    for s, e in hits:
        s, e = max(s, start), min(e, end)
        if s < e:
            ns, ne = pos[s - start], min(pos[e - start], len(body))
            if ns < ne:
                spans.append((ns + len(lead), ne + len(lead)))
    return lead + body + tail, spans


def _collapse(piece: str) -> tuple[str, list[int]]:
    """Whitespace runs made one space, ends stripped; and old index -> new index."""
    chars: list[str] = []
    pos: list[int] = []
    space = True
    for ch in piece:
        pos.append(len(chars))
        if ch.isspace():
            if not space:
                chars.append(" ")
            space = True
        else:
            chars.append(ch)
            space = False
    pos.append(len(chars))
    body = "".join(chars).rstrip()
    return body, [min(p, len(body)) for p in pos]
