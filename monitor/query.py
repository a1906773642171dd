"""The rule query language: Lucene syntax (parsed by luqum) compiled to matcher nodes.

Supported: words, ``"phrases"``, ``"phrases"~N``, ``AND`` / ``OR`` / ``NOT`` (upper case),
``+word`` / ``-word``, parentheses, implicit AND between terms, trailing ``*`` prefixes, and the
fields ``title:``, ``body:``, ``attribution:`` and ``category:`` (no field: title or body).
Boosts (``^2``) are accepted and ignored. Fuzzy terms, ranges, regexes and ``?`` or inner ``*``
wildcards are errors.

Words match by stem in the document's language (see ``monitor.stem``); a prefix matches the
start of a normalised (unstemmed) word. A phrase matches its words' stems adjacent and in order;
``"a b"~N`` matches when all its words fall in a window with at most N other words, in any order.

Each node can also name *keys* for the rule index: a set of stems and prefixes one of which every
matching document contains (``None``: the node can match without any, e.g. ``NOT x``).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import compress, count
from typing import Any

from luqum import tree
from luqum.parser import parser as _luqum

from monitor.errors import QueryError
from monitor.stem import Analyzer, chunk_spans, fold, token_spans, tokens

FIELDS = ("title", "body", "attribution", "category")
DEFAULT_FIELDS = ("title", "body")
Keys = tuple[frozenset[str], frozenset[str]]  # (stems, prefixes); None: no key needed

_POSITION = re.compile(r"position (\d+)")
_ESCAPE = re.compile(r"\\(.)")
_WORDCHAR = re.compile(r"\w")
_SURFACES_PER_LEAF = 3


# ---------------------------------------------------------------- a document, analysed lazily


class _Lazy(dict[Any, Any]):
    """A dict that computes a missing value once: lookups stay in C."""

    def __init__(self, make: Callable[[Any], Any]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, key: Any) -> Any:
        value = self[key] = self.make(key)
        return value


class DocView:
    """A document's fields, tokenised once and stemmed with one analyzer, for the nodes.

    ``stemsets[fields]``, ``sorted_words[fields]`` (fields: a tuple of field names) and
    ``stems[field]`` (the stem of each token) are computed on first use; positions and
    original-text spans only for the words asked about, since most documents match nothing.

    The rule index ``restrict()``s a view to the stems its rules use: then only the words with
    such a stem are stemmed (``stem_of``), ``stems[field]`` is None for the other tokens, and a
    question about any other stem stems the whole document first (``widen()``).
    ``prefix_hits`` and ``prefix_words`` are filled by the rule index: the indexed prefixes some
    word starts with, and those words.
    """

    def __init__(self, texts: dict[str, str], analyzer: Analyzer) -> None:
        self.texts = texts
        self.analyzer = analyzer
        self.lang = analyzer.language
        self.words: dict[str, list[str]] = {}
        for name, text in texts.items():
            toks = tokens(text)
            if toks:
                self.words[name] = toks
        self._all_words: set[str] | None = None
        self.sorted_words: dict[tuple[str, ...], list[str]] = _Lazy(self._sorted_words)
        self.prefix_hits: set[str] | None = None
        self.prefix_keys: frozenset[str] | None = None  # the prefixes prefix_hits answers for
        self.prefix_words: dict[str, list[str]] | None = None  # and their words, by prefix
        self.phrase_checks = 0
        self.stem_of: Mapping[str, str] | None = None
        self.universe: frozenset[str] | None = None
        self._spans: dict[str, _Spans] = {}
        self._lower: dict[str, str | None] = {}
        self.memo: dict[Any, Any] = {}  # leaf results, shared by rules with the same leaf
        self._clear()

    @property
    def all_words(self) -> set[str]:
        """The document's distinct tokens."""
        if self._all_words is None:
            lists = list(self.words.values())
            self._all_words = set(lists[0]).union(*lists[1:]) if lists else set()
        return self._all_words

    def _clear(self) -> None:
        self._all_stems: set[str] | None = None
        self.stemsets: dict[tuple[str, ...], set[str]] = _Lazy(self._stemset)
        self.stems: dict[str, list[str | None]] = _Lazy(self._stems)
        self.bigrams: dict[str, set[tuple[str | None, str | None]]] = _Lazy(self._bigrams)
        self._positions: dict[tuple[str, str, bool], list[int]] = {}
        self._scans: dict[str, int] = {}
        self._by_stem: dict[str, dict[str | None, list[int]]] = {}
        self._words_of: dict[str, list[str]] | None = None
        self._inverse = False

    def restrict(self, stem_of: dict[str, str], universe: frozenset[str]) -> None:
        """Only stems in ``universe`` will be asked about; ``stem_of`` maps exactly the
        document's words that have one of them."""
        self.stem_of, self.universe = stem_of, universe
        self._clear()

    def widen(self) -> None:
        """Stem every word of the document (a stem outside the universe was asked about)."""
        self.stem_of = self.analyzer.stem_map(self.all_words)
        self.universe = None
        self._clear()

    def need(self, stems: Iterable[str | None]) -> None:
        """Make sure these stems can be looked up."""
        if self.universe is None:
            if self.stem_of is None:
                self.widen()
            return
        universe = self.universe
        for s in stems:
            if s is not None and s not in universe:
                self.widen()
                return

    def _map(self) -> Mapping[str, str]:
        if self.stem_of is None:
            self.widen()
        assert self.stem_of is not None
        return self.stem_of

    @property
    def all_stems(self) -> set[str]:
        """The document's stems (within the universe when restricted)."""
        if self._all_stems is None:
            m = self._map()
            if self.universe is None:
                self._all_stems = set(map(m.__getitem__, self.all_words))
            else:
                self._all_stems = set(m.values())
        return self._all_stems

    def has_stem(self, fields: tuple[str, ...], stem: str) -> bool:
        universe = self.universe
        if universe is None or stem not in universe:
            self.need((stem,))
        return stem in self.stemsets[fields]

    def stem(self, word: str) -> str:
        return self.analyzer.stem(word)

    def present(self, fields: tuple[str, ...]) -> list[str]:
        return [f for f in fields if f in self.words]

    def covers(self, fields: tuple[str, ...]) -> bool:
        """True when ``fields`` hold every token of the document."""
        return len(self.present(fields)) == len(self.words)

    def _stemset(self, fields: tuple[str, ...]) -> set[str]:
        if self.covers(fields):
            return self.all_stems
        m = self._map()
        if self.universe is None:
            return {m[w] for f in self.present(fields) for w in self.words[f]}
        return {m[w] for f in self.present(fields) for w in self.words[f] if w in m}

    def _sorted_words(self, fields: tuple[str, ...]) -> list[str]:
        if self.covers(fields):
            return sorted(self.all_words)
        return sorted({w for f in self.present(fields) for w in self.words[f]})

    def _stems(self, field: str) -> list[str | None]:
        m = self._map()
        words = self.words.get(field, ())
        if self.universe is None:
            return list(map(m.__getitem__, words))
        return list(map(m.get, words))

    def stem_getter(self) -> Callable[[str], str | None]:
        """word -> stem for the document's words (None: not a stem in the universe)."""
        m = self._map()
        return m.__getitem__ if self.universe is None else m.get

    def _bigrams(self, field: str) -> set[tuple[str | None, str | None]]:
        if self.universe is None:
            stems = self.stems[field]
            return set(zip(stems, stems[1:], strict=False))
        # only pairs of stems in the universe can be asked about
        by_stem = self._by_stem.get(field) or self._index_stems(field)
        words = self.words.get(field, [])
        get = self.stem_getter()
        n = len(words)
        pairs = {(s, get(words[i + 1])) for s, where in by_stem.items() for i in where if i + 1 < n}
        pairs.discard((None, None))
        return pairs

    def has_prefix(self, fields: tuple[str, ...], prefix: str) -> bool:
        hits, keys = self.prefix_hits, self.prefix_keys
        if hits is not None and keys is not None and prefix in keys and self.covers(fields):
            return prefix in hits
        ws = self.sorted_words[fields]
        i = bisect_left(ws, prefix)
        return i < len(ws) and ws[i].startswith(prefix)

    def positions(
        self, field: str, key: str, prefix: bool = False, first: bool = False
    ) -> list[int]:
        """Token positions in a field of a stem (or of the words starting with a prefix);
        ``first``: the first position is enough."""
        cache_key = (field, key, prefix)
        out = self._positions.get(cache_key)
        if out is None and first and not prefix and self.universe is None \
                and field not in self._by_stem:
            try:
                return [self.stems[field].index(key)]
            except ValueError:
                return []
        if out is None:
            if prefix:
                pw, keys = self.prefix_words, self.prefix_keys
                if pw is not None and keys is not None and key in keys:
                    starting: Sequence[str] = pw.get(key, ())
                else:
                    ws = self.sorted_words[(field,)]
                    start = bisect_left(ws, key)
                    end = start
                    while end < len(ws) and ws[end].startswith(key):
                        end += 1
                    starting = ws[start:end]
                out = sorted(_all_indexes(self.words.get(field, []), starting))
            elif field in self._by_stem:
                out = self._by_stem[field].get(key, [])
            elif self.universe is not None:  # few tokens have a stem: index those
                out = self._index_stems(field).get(key, [])
            else:
                scans = self._scans[field] = self._scans.get(field, 0) + 1
                if scans <= 3:  # a few scans in C are cheaper than indexing every token
                    out = _all_indexes(self.stems[field], (key,))
                else:
                    by_stem: dict[str | None, list[int]] = {}
                    for i, st in enumerate(self.stems[field]):
                        by_stem.setdefault(st, []).append(i)
                    self._by_stem[field] = by_stem
                    out = by_stem.get(key, [])
            self._positions[cache_key] = out
        return out

    def _index_stems(self, field: str) -> dict[str | None, list[int]]:
        """Positions by stem of the (few) tokens with a stem in the universe."""
        m = self._map()
        words = self.words.get(field, [])
        by_stem: dict[str | None, list[int]] = {}
        for i in compress(count(), map(m.__contains__, words)):
            by_stem.setdefault(m[words[i]], []).append(i)
        self._by_stem[field] = by_stem
        return by_stem

    def find_surface(self, field: str, seq: list[str]) -> str | None:
        """The words as they first appear in a field's original text, found with a plain
        search; None when absent or when the text hides them (soft hyphens, NFKC forms)."""
        text = self.texts[field]
        if field not in self._lower:
            lowered = text.lower().replace("ё", "е")
            self._lower[field] = lowered if len(lowered) == len(text) else None
        low = self._lower[field]
        if low is not None:
            found = _find_seq(low, seq)
            if found is not None:
                piece = text[found[0] : found[1]]
                # one word: folding the piece to it is enough, as a token is one token (and
                # an ASCII piece folds to its lower case, which is the word found)
                if len(seq) == 1:
                    if piece.isascii() or fold(piece) == seq[0]:
                        return piece
                elif tokens(piece) == seq:
                    return piece
        return None

    def surface(self, field: str, first: int, last: int) -> str:
        """Tokens ``first..last`` of a field as they appear in the original text (an
        occurrence of the same words, in practice the first)."""
        found = self.find_surface(field, self.words[field][first : last + 1])
        if found is not None:
            return found
        text = self.texts[field]
        spans = self._spans.get(field)
        if spans is None:
            spans = self._spans[field] = _Spans(text, self.words[field])
        start, _ = spans[first]
        _, end = spans[last]
        return text[start:end]

    def words_of(self, stem: str) -> list[str]:
        """The document's distinct words with this stem."""
        self.need((stem,))
        if self._words_of is None:
            self._words_of = {}
        out = self._words_of.get(stem)
        if out is None:
            stem_of = self._map()
            if self._inverse:
                out = []
            elif self.universe is not None:  # the few words with a stem in the universe
                inverse: dict[str, list[str]] = {}
                for w, st in stem_of.items():
                    inverse.setdefault(st, []).append(w)
                for ws in inverse.values():
                    if len(ws) > 1:
                        ws.sort()
                self._words_of, self._inverse = inverse, True
                out = inverse.get(stem, [])
            elif len(self._words_of) < 4:
                # a few scans, then one inverse map for the rest
                out = self._words_of[stem] = [w for w in self.all_words if stem_of[w] == stem]
            else:
                inverse = {}
                for w in self.all_words:
                    inverse.setdefault(stem_of[w], []).append(w)
                self._words_of, self._inverse = inverse, True
                out = inverse.get(stem, [])
        return out


def _bounded(low: str, start: int, end: int) -> bool:
    return (start == 0 or not low[start - 1].isalnum()) and (
        end == len(low) or not low[end].isalnum()
    )


def _find_seq(low: str, seq: list[str]) -> tuple[int, int] | None:
    """The first place where the words follow one another (anything not alphanumeric between)
    in lower-cased text; None when they do not (soft hyphens, NFKC forms: the slow path)."""
    first = seq[0]
    i = low.find(first)
    n = len(low)
    while i >= 0:
        end = i + len(first)
        if _bounded(low, i, end):
            pos = end
            for word in seq[1:]:
                while pos < n and not low[pos].isalnum():
                    pos += 1
                if low.startswith(word, pos) and _bounded(low, pos, pos + len(word)):
                    pos += len(word)
                else:
                    break
            else:
                return i, pos
        i = low.find(first, i + 1)
    return None


def _all_indexes(items: Sequence[str | None], targets: Sequence[str]) -> list[int]:
    """Every index of each target in ``items`` (list.index runs in C)."""
    out: list[int] = []
    for t in targets:
        i = -1
        try:
            while True:
                i = items.index(t, i + 1)
                out.append(i)
        except ValueError:
            pass
    return out


class _Spans:
    """Original-text spans of a field's tokens, found only as far as asked."""

    def __init__(self, text: str, toks: list[str]) -> None:
        self.text = text
        self.toks = toks
        self.spans: list[tuple[int, int]] = []
        self.chunks = chunk_spans(text)
        self.full: list[tuple[int, int]] | None = None

    def __getitem__(self, i: int) -> tuple[int, int]:
        if self.full is not None:
            return self.full[i]
        spans = self.spans
        for m in self.chunks:
            spans.append(m.span())
            if len(spans) > i:
                break
        if i < len(spans) and tokens(self.text[slice(*spans[i])]) == [self.toks[i]]:
            return spans[i]
        # a chunk that is not exactly one token (NFKC "½", combining marks): align everything
        self.full = token_spans(self.text, self.toks)
        return self.full[i]


# ---------------------------------------------------------------- nodes


class Node:
    __slots__ = ()

    def matches(self, d: DocView) -> bool:
        raise NotImplementedError

    def keys(self, an: Analyzer) -> Keys | None:
        raise NotImplementedError

    def prepare(self, an: Analyzer) -> None:
        """Stem the node's words for a language ahead of matching (optional, for speed)."""

    def collect(self, d: DocView, out: list[str]) -> None:
        """Append the surface forms this (matching) node matched, for highlighting."""


def prefixes_of(node: Node) -> set[str]:
    """Every prefix a node tests (the rule index must look for all of them)."""
    if isinstance(node, Prefix):
        return {node.prefix}
    if isinstance(node, Phrase):
        return {w for w, p in node.items if p}
    if isinstance(node, And | Or):
        return set().union(*(prefixes_of(c) for c in node.children))
    if isinstance(node, Not):
        return prefixes_of(node.child)
    return set()


def stems_of(node: Node, language: str | None) -> set[str]:
    """Every stem a (prepared) node tests in a language: the index's universe."""
    if isinstance(node, Term):
        s = node.stems.get(language)
        return set() if s is None else {s}
    if isinstance(node, Phrase):
        return {s for s in node.stems.get(language, ()) if s is not None}
    if isinstance(node, And | Or):
        return set().union(*(stems_of(c, language) for c in node.children))
    if isinstance(node, Not):
        return stems_of(node.child, language)
    return set()


def _surfaces(d: DocView, field: str, positions: list[int], out: list[str]) -> None:
    """The surface forms of up to a few distinct words at these positions."""
    words = d.words[field]
    seen: set[str] = set()
    for i in positions:
        if words[i] not in seen:
            seen.add(words[i])
            out.append(d.surface(field, i, i))
            if len(seen) >= _SURFACES_PER_LEAF:
                break


def _cost(keys: Keys) -> float:
    """Lower is better: few keys, long keys; prefixes cost more than stems."""
    stems, prefixes = keys
    return sum(1 + 4 / (1 + len(s)) for s in stems) + sum(3 + 8 / (1 + len(p)) for p in prefixes)


class Term(Node):
    __slots__ = ("word", "fields", "stems")

    def __init__(self, word: str, fields: tuple[str, ...]) -> None:
        self.word = word
        self.fields = fields
        self.stems: dict[str | None, str] = {}  # language -> stem

    def prepare(self, an: Analyzer) -> None:
        self.stems[an.language] = an.stem(self.word)

    def matches(self, d: DocView) -> bool:
        s = self.stems.get(d.lang)
        if s is None:
            s = self.stems[d.lang] = d.stem(self.word)
        return d.has_stem(self.fields, s)

    def keys(self, an: Analyzer) -> Keys | None:
        return frozenset((an.stem(self.word),)), frozenset()

    def collect(self, d: DocView, out: list[str]) -> None:
        stem = self.stems.get(d.lang) or d.stem(self.word)
        key = (stem, self.fields)
        got = d.memo.get(key)
        if got is None:
            got = d.memo[key] = []
            self._collect(d, stem, got)
        out.extend(got)

    def _collect(self, d: DocView, stem: str, out: list[str]) -> None:
        d.need((stem,))
        fields = d.present(self.fields)
        found = 0
        for w in d.words_of(stem)[:_SURFACES_PER_LEAF]:
            for f in fields:
                surface = d.find_surface(f, [w])
                if surface is not None:
                    out.append(surface)
                    found += 1
                    break
        if not found:  # hidden by soft hyphens or NFKC forms: go by token positions
            for f in fields:
                _surfaces(d, f, d.positions(f, stem, first=True), out)

    def __repr__(self) -> str:
        return f"Term({self.word!r}, {self.fields})"


class Prefix(Node):
    __slots__ = ("prefix", "fields")

    def __init__(self, prefix: str, fields: tuple[str, ...]) -> None:
        self.prefix = prefix
        self.fields = fields

    def matches(self, d: DocView) -> bool:
        return d.has_prefix(self.fields, self.prefix)

    def keys(self, an: Analyzer) -> Keys | None:
        return frozenset(), frozenset((self.prefix,))

    def collect(self, d: DocView, out: list[str]) -> None:
        key = (self.prefix, self.fields, True)
        got = d.memo.get(key)
        if got is None:
            got = d.memo[key] = []
            for f in d.present(self.fields):
                _surfaces(d, f, d.positions(f, self.prefix, prefix=True), got)
        out.extend(got)

    def __repr__(self) -> str:
        return f"Prefix({self.prefix!r}, {self.fields})"


class Phrase(Node):
    """Words (and prefixes) in a row; with ``slop`` > 0, within a window in any order."""

    __slots__ = ("items", "slop", "fields", "stems")

    def __init__(
        self, items: Sequence[tuple[str, bool]], slop: int, fields: tuple[str, ...]
    ) -> None:
        self.items = tuple(items)  # (word, is_prefix)
        self.slop = slop
        self.fields = fields
        self.stems: dict[str | None, tuple[str | None, ...]] = {}  # None for a prefix item

    def prepare(self, an: Analyzer) -> None:
        self.stems[an.language] = tuple(None if p else an.stem(w) for w, p in self.items)

    def _stems(self, d: DocView) -> tuple[str | None, ...]:
        st = self.stems.get(d.lang)
        if st is None:
            st = self.stems[d.lang] = tuple(None if p else d.stem(w) for w, p in self.items)
        return st

    def _find(self, d: DocView, field: str, st: tuple[str | None, ...]) -> tuple[int, int] | None:
        d.need(st)
        if self.slop == 0:
            return self._exact(d, field, st)
        lists = [
            d.positions(field, w, prefix=True) if s is None else d.positions(field, s)
            for (w, _), s in zip(self.items, st, strict=True)
        ]
        if not all(lists):
            return None
        return _window(lists, self.slop)

    def _exact(self, d: DocView, field: str, st: tuple[str | None, ...]) -> tuple[int, int] | None:
        """Anchor on the longest stem's positions and compare the neighbours in place."""
        anchor = max(range(len(st)), key=lambda k: len(st[k] or ""))
        key = st[anchor]
        n = len(st)
        if key is None:  # only prefixes
            starts = d.positions(field, self.items[0][0], prefix=True)
            anchor = 0
        else:
            starts = d.positions(field, key)
        stem = d.stem_getter()
        words = d.words[field]
        for p in starts:
            first = p - anchor
            if first < 0 or first + n > len(words):
                continue
            for k in range(n):
                s = st[k]
                if s is None:
                    if not words[first + k].startswith(self.items[k][0]):
                        break
                elif stem(words[first + k]) != s:
                    break
            else:
                return first, first + n - 1
        return None

    def matches(self, d: DocView) -> bool:
        key = (self.items, self.slop, self.fields)
        got = d.memo.get(key)
        if got is None:
            got = d.memo[key] = self._matches(d)
        return bool(got)

    def _matches(self, d: DocView) -> bool:
        st = self._stems(d)
        for s in st:
            if s is not None and not d.has_stem(self.fields, s):
                return False
        for w, is_prefix in self.items:
            if is_prefix and not d.has_prefix(self.fields, w):
                return False
        plain = self.slop == 0 and None not in st
        d.phrase_checks += 1
        for f in self.fields:
            if f not in d.words:
                continue
            if plain and d.phrase_checks > 3:  # many phrases here: check stem pairs first
                bigrams = d.bigrams[f]
                if not all(pair in bigrams for pair in zip(st, st[1:], strict=False)):
                    continue
                if len(st) == 2:
                    return True
            if self._find(d, f, st) is not None:
                return True
        return False

    def keys(self, an: Analyzer) -> Keys | None:
        words = [w for w, p in self.items if not p]
        if words:
            return frozenset((an.stem(max(words, key=len)),)), frozenset()
        return frozenset(), frozenset((max((w for w, _ in self.items), key=len),))

    def collect(self, d: DocView, out: list[str]) -> None:
        key = (self.items, self.slop, self.fields, "collect")
        got = d.memo.get(key)
        if got is None:
            got = d.memo[key] = []
            st = self._stems(d)
            for f in d.present(self.fields):
                found = self._find(d, f, st)
                if found:
                    got.append(d.surface(f, *found))
        out.extend(got)

    def __repr__(self) -> str:
        return f"Phrase({self.items}, slop={self.slop}, {self.fields})"


def _window(lists: list[list[int]], slop: int) -> tuple[int, int] | None:
    """The first window holding one position per list (distinct positions) with at most
    ``slop`` other tokens inside, in any order."""
    need: dict[int, int] = {}
    key_of: list[int] = []
    seen: dict[tuple[int, ...], int] = {}
    for lst in lists:  # the same word twice in a phrase must occur twice
        k = seen.setdefault(tuple(lst), len(seen))
        key_of.append(k)
        need[k] = need.get(k, 0) + 1
    events = sorted({(p, key_of[i]) for i, lst in enumerate(lists) for p in lst})
    n = len(lists)
    have: dict[int, int] = {}
    missing = len(need)
    left = 0
    for pos, k in events:
        have[k] = have.get(k, 0) + 1
        if have[k] == need[k]:
            missing -= 1
        while missing == 0:
            lpos, lk = events[left]
            if pos - lpos + 1 - n <= slop:
                return lpos, pos
            have[lk] -= 1
            if have[lk] < need[lk]:
                missing += 1
            left += 1
    return None


class And(Node):
    __slots__ = ("children",)

    def __init__(self, children: Sequence[Node]) -> None:
        self.children = tuple(children)

    def matches(self, d: DocView) -> bool:
        for c in self.children:
            if not c.matches(d):
                return False
        return True

    def prepare(self, an: Analyzer) -> None:
        for c in self.children:
            c.prepare(an)

    def keys(self, an: Analyzer) -> Keys | None:
        best: Keys | None = None
        for c in self.children:
            k = c.keys(an)
            if k is not None and (best is None or _cost(k) < _cost(best)):
                best = k
        return best

    def collect(self, d: DocView, out: list[str]) -> None:
        for c in self.children:
            c.collect(d, out)

    def __repr__(self) -> str:
        return f"And{self.children}"


class Or(Node):
    __slots__ = ("children",)

    def __init__(self, children: Sequence[Node]) -> None:
        self.children = tuple(children)

    def matches(self, d: DocView) -> bool:
        for c in self.children:
            if c.matches(d):
                return True
        return False

    def prepare(self, an: Analyzer) -> None:
        for c in self.children:
            c.prepare(an)

    def keys(self, an: Analyzer) -> Keys | None:
        stems: set[str] = set()
        prefixes: set[str] = set()
        for c in self.children:
            k = c.keys(an)
            if k is None:
                return None
            stems |= k[0]
            prefixes |= k[1]
        return frozenset(stems), frozenset(prefixes)

    def collect(self, d: DocView, out: list[str]) -> None:
        for c in self.children:
            if c.matches(d):
                c.collect(d, out)

    def __repr__(self) -> str:
        return f"Or{self.children}"


class Not(Node):
    __slots__ = ("child",)

    def __init__(self, child: Node) -> None:
        self.child = child

    def matches(self, d: DocView) -> bool:
        return not self.child.matches(d)

    def prepare(self, an: Analyzer) -> None:
        self.child.prepare(an)

    def keys(self, an: Analyzer) -> Keys | None:
        return None

    def __repr__(self) -> str:
        return f"Not({self.child!r})"


# ---------------------------------------------------------------- parsing


def _unescape(text: str) -> str:
    return _ESCAPE.sub(r"\1", text)


def _pieces(raw: str, pos: int, *, allow_inner: bool) -> list[tuple[str, bool]]:
    """Tokens of one word of a query, the last a prefix when the word ends with ``*``."""
    star = raw.endswith("*") and not raw.endswith("\\*")
    body = raw[:-1] if star else raw
    for m in re.finditer(r"(?<!\\)[*?]", body):
        if not allow_inner:
            raise QueryError(
                f"wildcard {m.group()!r} inside {raw!r}: only a trailing * is supported",
                position=pos + m.start(),
            )
    text = _unescape(body)
    toks = tokens(text)
    if not toks:
        hint = " (use AND, OR, NOT)" if raw.strip() in {"&&", "||", "!"} else ""
        raise QueryError(f"{raw!r} has no letters or digits{hint}", position=pos)
    if star and not _WORDCHAR.match(text[-1]):
        raise QueryError(f"a * must follow a letter or digit in {raw!r}", position=pos)
    return [(t, star and i == len(toks) - 1) for i, t in enumerate(toks)]


def _leaf(items: list[tuple[str, bool]], slop: int, fields: tuple[str, ...]) -> Node:
    if len(items) == 1:
        word, is_prefix = items[0]
        return Prefix(word, fields) if is_prefix else Term(word, fields)
    return Phrase(items, slop, fields)


def _pos(node: Any, base: int = 0) -> int:
    p = getattr(node, "pos", None)
    return p if isinstance(p, int) else base


def _convert(node: Any, fields: tuple[str, ...]) -> Node:
    pos = _pos(node)
    if isinstance(node, tree.Word):
        return _leaf(_pieces(node.value, pos, allow_inner=False), 0, fields)
    if isinstance(node, tree.Phrase):
        return _phrase(node, 0, fields)
    if isinstance(node, tree.Proximity):
        term = node.term
        slop = int(float(node.degree)) if node.degree is not None else 1
        if isinstance(term, tree.Phrase):
            return _phrase(term, slop, fields)
        raise QueryError("~N (proximity) needs a \"phrase\" before it", position=pos)
    if isinstance(node, tree.Boost):
        return _convert(node.expr, fields)
    if isinstance(node, tree.SearchField):
        name = node.name.lower()
        if name not in FIELDS:
            raise QueryError(
                f"unknown field {node.name!r} (use title, body, attribution or category)",
                position=pos,
            )
        return _convert(node.expr, (name,))
    if isinstance(node, tree.Group | tree.FieldGroup):
        return _convert(node.expr, fields)
    if isinstance(node, tree.Not | tree.Prohibit):
        return Not(_convert(node.a, fields))
    if isinstance(node, tree.Plus):
        return _convert(node.a, fields)
    if isinstance(node, tree.OrOperation):
        return Or([_convert(c, fields) for c in node.children])
    if isinstance(node, tree.AndOperation | tree.UnknownOperation | tree.BoolOperation):
        return And([_convert(c, fields) for c in node.children])
    if isinstance(node, tree.Fuzzy):
        raise QueryError("fuzzy terms (word~N) are not supported", position=pos)
    if isinstance(node, tree.Range | tree.From | tree.To):
        raise QueryError("ranges are not supported", position=pos)
    if isinstance(node, tree.Regex):
        raise QueryError("regular expressions are not supported", position=pos)
    raise QueryError(f"unsupported syntax {str(node)!r}", position=pos)


def _phrase(node: Any, slop: int, fields: tuple[str, ...]) -> Node:
    pos = _pos(node)
    inner = node.value[1:-1]
    items: list[tuple[str, bool]] = []
    for m in re.finditer(r"\S+", inner):
        piece = m.group()
        if tokens(_unescape(piece.rstrip("*"))):
            items.extend(_pieces(piece, pos + 1 + m.start(), allow_inner=True))
    if not items:
        raise QueryError(f"phrase {node.value} has no words", position=pos)
    return _leaf(items, slop, fields)


def parse_query(text: str) -> Node:
    """Compile a query; raises QueryError with ``position`` (a character offset)."""
    if not text or not text.strip():
        raise QueryError("the query is empty", position=0)
    try:
        parsed = _luqum.parse(text)
    except QueryError:
        raise
    except Exception as exc:  # luqum raises ParseError subclasses, PLY may raise others
        msg = str(exc)
        m = _POSITION.search(msg)
        if m:
            position = int(m.group(1))
        elif "end" in msg:
            position = len(text)
        else:
            position = None
        reason = msg.removeprefix("Syntax error in input : ").rstrip("!")
        reason = re.sub(r"\s+", " ", re.sub(r" at (position \d+|the end)", "", reason)).strip()
        raise QueryError(reason, position=position) from exc
    return _convert(parsed, DEFAULT_FIELDS)


def parse_keyword(text: str) -> Node:
    """A keyword: a word or a phrase (plain text, no operators); ``secur*`` is a prefix."""
    items: list[tuple[str, bool]] = []
    for m in re.finditer(r"\S+", text or ""):
        piece = m.group()
        if tokens(piece.rstrip("*")):
            items.extend(_pieces(piece, m.start(), allow_inner=True))
    if not items:
        raise QueryError(f"keyword {text!r} has no letters or digits", position=0)
    return _leaf(items, 0, DEFAULT_FIELDS)


def validate_query(text: str) -> None:
    """Raise QueryError (with ``position``) when a query cannot be compiled."""
    parse_query(text)


def validate_keyword(text: str) -> None:
    """Raise QueryError when a keyword or exclude entry has nothing to match."""
    parse_keyword(text)
