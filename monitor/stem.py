"""Text analysis for rules: tokens, their places in the original text, and stems.

Tokens are ``monitor.textnorm`` words (NFKC, case folded, ``ё`` read as ``е``, soft hyphens and
zero-width characters dropped, NBSP a space), except that each Han or kana character is a token of
its own, as Lucene's StandardTokenizer does, so Chinese and Japanese match by character sequence.

Stems come from PyStemmer (Snowball) in the document's language. A language without a stemmer
(or no language at all) is not stemmed: its words match after normalisation only.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import compress, count, repeat
from operator import not_

import Stemmer

from monitor.textnorm import normalize

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Wider on purpose: compatibility forms (halfwidth kana, enclosed ideographs) become CJK after NFKC.
_HAS_CJK = re.compile(f"[{_CJK}\u3200-\u33ff\uff66-\uff9f\U00020000-\U0002fa1f]")
_TOKEN_CJK = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+(?:['’][^\W{_CJK}]+)*")
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_WORD = re.compile(r"\w+(?:['’]\w+)*")  # as monitor.textnorm.words
_WCHAR = rf"[^\W{_CJK}]"
_MARKS = "\u0300-\u036f"  # combining accents: NFKC may fold them into the letter before
_CHUNK_CJK = re.compile(
    rf"[{_CJK}]|{_WCHAR}(?:{_WCHAR}|[{_INVISIBLE}{_MARKS}])*"
    rf"(?:['’]{_WCHAR}(?:{_WCHAR}|[{_INVISIBLE}{_MARKS}])*)*"
)
# Punctuation that often sits around a word, none of it a word character (checked below).
_EDGE = "".join(chr(c) for c in range(33, 127) if not chr(c).isalnum() and chr(c) != "_")
_EDGE += "\u00ab\u00bb\u2018\u2019\u201a\u201c\u201d\u201e\u2013\u2014\u2026\u2039\u203a"
assert not re.search(r"\w", _EDGE)
_CHUNK = re.compile(rf"\w[\w{_INVISIBLE}{_MARKS}]*(?:['’]\w[\w{_INVISIBLE}{_MARKS}]*)*")

# ISO 639-1 codes of the Snowball stemmers PyStemmer ships.
_CODES = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "cs": "czech",
    "da": "danish", "nl": "dutch", "en": "english", "eo": "esperanto", "et": "estonian",
    "fi": "finnish", "fr": "french", "de": "german", "el": "greek", "hi": "hindi",
    "hu": "hungarian", "id": "indonesian", "ga": "irish", "it": "italian", "lt": "lithuanian",
    "ne": "nepali", "no": "norwegian", "nb": "norwegian", "nn": "norwegian", "fa": "persian",
    "pl": "polish", "pt": "portuguese", "ro": "romanian", "ru": "russian", "sr": "serbian",
    "st": "sesotho", "es": "spanish", "sv": "swedish", "ta": "tamil", "tr": "turkish",
    "yi": "yiddish",
}
_NAMES = {name: code for code, name in _CODES.items()}


_BELOW_U3000 = bytes(range(0xE3))  # UTF-8 lead bytes of U+3000 and up are 0xE3 or more


def _plain(text: str) -> bool:
    """True when the text has no Han or kana (nor forms NFKC makes such): all of those are
    U+3000 or above, which a cheap byte filter rules out for most texts."""
    if text.isascii():
        return True
    if not text.encode("utf-8", "surrogatepass").translate(None, _BELOW_U3000):
        return True
    return _HAS_CJK.search(text) is None


def fold(text: str) -> str:
    """``textnorm.normalize`` without collapsing spaces, which tokens do not need (faster)."""
    text = unicodedata.normalize("NFKC", text)
    for ch in _INVISIBLE:  # str.translate with a dict is slow on non-ASCII text
        if ch in text:
            text = text.replace(ch, "")
    return text.casefold().replace("ё", "е")


def tokens(text: str | None) -> list[str]:
    """The normalised tokens of a text, in order: ``textnorm.words(text)`` but with Han and
    kana characters one token each."""
    if not text:
        return []
    if _plain(text):
        # Same as _WORD.findall(fold(text)), faster: words never span whitespace, a chunk that
        # is all letters and digits (str.isalnum is re's \w minus "_") is one word, and so is
        # one with only punctuation around such a word. Only the rest goes through the regex.
        out = fold(text).split()
        odd = list(compress(count(), map(not_, map(str.isalnum, out))))
        if not odd:
            return out
        findall = _WORD.findall
        several: dict[int, list[str]] = {}  # chunks of no word or of several words
        for i, word in zip(odd, map(str.strip, map(out.__getitem__, odd), repeat(_EDGE)),
                           strict=True):
            if word.isalnum():
                out[i] = word
            elif not word:
                several[i] = []
            elif "'" in word or "’" in word:  # "don't": one word unless an apostrophe is doubled
                plain = word.replace("’", "'")
                if "''" not in plain and plain.replace("'", "").isalnum():
                    out[i] = word
                else:
                    several[i] = findall(out[i])
            else:
                several[i] = findall(out[i])
        for i in sorted(several, reverse=True):
            out[i : i + 1] = several[i]
        return out
    return _TOKEN_CJK.findall(normalize(text))


def chunk_spans(text: str) -> Iterator[re.Match[str]]:
    """Word chunks of the original text, one per token in the usual case (see token_spans)."""
    if _plain(text):
        return _CHUNK.finditer(text)
    return _CHUNK_CJK.finditer(text)


def token_spans(text: str, toks: list[str] | None = None) -> list[tuple[int, int]]:
    """(start, end) in ``text`` of each token of ``tokens(text)``, in the same order."""
    if toks is None:
        toks = tokens(text)
    spans = [m.span() for m in chunk_spans(text)]
    if len(spans) == len(toks):
        return spans
    # Some chunk normalised to more or fewer than one token (NFKC "½" -> "1⁄2", combining marks):
    # tokenise chunk by chunk and give every token of a chunk the chunk's span.
    out: list[tuple[int, int]] = []
    for m in chunk_spans(text):
        out.extend([m.span()] * len(tokens(m.group())))
    if len(out) != len(toks):  # cannot align: point every token at the whole text
        return [(0, len(text))] * len(toks)
    return out


def language_key(language: str | None) -> str | None:
    """``"en-US"``, ``"EN"``, ``"english"`` -> ``"en"``; None when empty."""
    if not language:
        return None
    lang = language.strip().lower().replace("_", "-")
    if lang in _NAMES:
        return _NAMES[lang]
    return lang.split("-", 1)[0] or None


class Analyzer:
    """Stems words of one language, with a cache; thread-safe."""

    CACHE = 200_000  # words; the cache is emptied when it grows past this

    def __init__(self, language: str | None) -> None:
        self.language = language
        name = _CODES.get(language or "")
        self._stemmer = Stemmer.Stemmer(name) if name else None
        if self._stemmer is not None:
            self._stemmer.maxCacheSize = 0  # its eviction is slow once full; we cache here
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def stems(self) -> bool:
        return self._stemmer is not None

    def stem(self, word: str) -> str:
        s = self._cache.get(word)
        if s is None:
            s = self.stem_map((word,))[word]
        return s

    def stem_words(self, words: list[str]) -> list[str]:
        """The stems of these words, in one call into the stemmer, bypassing the cache."""
        if self._stemmer is None:
            return list(words)
        with self._lock:
            return self._stemmer.stemWords(words)

    def stem_map(self, distinct: Iterable[str]) -> dict[str, str]:
        """A {word: stem} mapping that holds at least these words (one call into the stemmer
        for the new ones). It may hold other words too: it is the cache itself, for speed."""
        if self._stemmer is None:
            return _Identity()
        cache = self._cache
        wanted = distinct if isinstance(distinct, set) else set(distinct)
        missing = wanted.difference(cache)
        if missing:
            ws = list(missing)
            with self._lock:
                stems = self._stemmer.stemWords(ws)
            if len(cache) + len(ws) > self.CACHE:  # start afresh; views keep the old mapping
                cache = self._cache = {w: cache[w] for w in wanted if w in cache}
            cache.update(zip(ws, stems, strict=True))
        return cache


class _Identity(dict[str, str]):
    """The mapping of a language without a stemmer: every word is its own stem."""

    def __missing__(self, key: str) -> str:
        return key


def analyzer(language: str | None) -> Analyzer:
    """The shared analyzer of a language (``"en-US"`` and ``"en"`` share one)."""
    return _analyzer(language_key(language))


@lru_cache(maxsize=64)
def _analyzer(key: str | None) -> Analyzer:
    return Analyzer(key)
