"""Identity and duplicates: canonical URLs, exact fingerprints, near-duplicate stories.

* ``canonical_url`` is the identity of a page: two spellings of one URL give one string, and two
  different pages never do (rules in its docstring).
* ``fingerprint`` is the exact-duplicate key: the SHA-256 of the normalised body words. The title
  is ignored, so a re-post under a new headline or another URL has the same fingerprint.
* ``signature`` is a MinHash of the body's word shingles; ``bands`` cut it into LSH keys that
  ``Store.band_candidates`` looks up; ``similarity`` compares two signatures; ``find_story`` picks
  the story (root article) an article belongs to, if any candidate reaches ``THRESHOLD``.

Similarity is the estimated share of the *shorter* text's shingles found in the other one (the
overlap coefficient), computed from the MinHash Jaccard estimate and the two shingle counts kept
in the signature. So a copy cut short, or one with an added lead sentence and a dateline, stays
close to its original. Two releases that share only a ministry's boilerplate can score high too;
``find_story`` tells them apart by discounting what the stored history shows to be boilerplate.
Measured on tests/fixtures/dedupe/pairs.jsonl: see tests/benchmarks/bench_dedupe.py.

numpy comes with py3langid (a dependency); MinHash costs about 1 ms per article.
"""

from __future__ import annotations

import hashlib
import re
import struct
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from monitor.textnorm import words

if TYPE_CHECKING:
    from monitor.store import Store

# ---------------------------------------------------------------- canonical URLs

# Only parameters that are known to track the visit, never to select content.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "ysclid",
        "mc_cid", "mc_eid", "_ga", "_gl", "igshid", "_hsenc", "_hsmi", "mkt_tok",
        "ref_src", "ref_url",
    }
)
TRACKING_PREFIXES = ("utm_",)
DEFAULT_PORTS = {"http": "80", "https": "443"}

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SUB_DELIMS = "!$&'()*+,;="
_PATH_SAFE = frozenset((_SUB_DELIMS + ":@/").encode())
_QUERY_SAFE = frozenset((_SUB_DELIMS + ":@/?").encode())
_HEX = frozenset(b"0123456789abcdefABCDEF")
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$")


def _pct(text: str, safe: frozenset[int]) -> str:
    """Percent-encoding normalised: unreserved characters decoded, other escapes upper case,
    non-ASCII and unsafe characters encoded as UTF-8, reserved characters left as they are."""
    raw = text.encode("utf-8", "surrogatepass")
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        b = raw[i]
        if b == 0x25 and i + 2 < n and raw[i + 1] in _HEX and raw[i + 2] in _HEX:
            value = int(raw[i + 1 : i + 3], 16)
            out.append(chr(value) if value in _UNRESERVED else f"%{value:02X}")
            i += 3
            continue
        if b in _UNRESERVED or b in safe:
            out.append(chr(b))
        else:
            out.append(f"%{b:02X}")
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4: ``/a/./b/../c`` -> ``/a/c``."""
    if "." not in path:
        return path
    segments = path.split("/")
    out: list[str] = []
    for seg in segments[1:] if path.startswith("/") else segments:
        if seg == ".":
            continue
        if seg == "..":
            if out:
                out.pop()
            continue
        out.append(seg)
    if segments[-1] in (".", ".."):
        out.append("")
    return ("/" if path.startswith("/") else "") + "/".join(out)


def _host(netloc: str, scheme: str) -> str:
    userinfo, _, hostport = netloc.rpartition("@")
    if hostport.startswith("["):  # IPv6 literal
        end = hostport.find("]")
        host, port = hostport[: end + 1].lower(), hostport[end + 2 :] if end > 0 else ""
    else:
        host, _, port = hostport.partition(":")
        host = host.lower().rstrip(".")
        if any(ord(c) > 127 for c in host):
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError:
                host = _pct(host, frozenset())
    port = port.lstrip("0") or ("0" if port else "")
    if port == DEFAULT_PORTS.get(scheme):
        port = ""
    return (userinfo + "@" if userinfo else "") + host + (":" + port if port else "")


def _is_tracker(name: str) -> bool:
    key = name.lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The one spelling of a URL used as a page's identity.

    * scheme and host in lower case, IDN host in punycode, a trailing dot and the default port
      (80 for http, 443 for https) removed; ``http`` and ``https`` stay distinct;
    * path: empty becomes ``/``, dot segments resolved, percent-encoding normalised (unreserved
      characters decoded, escapes in upper case, non-ASCII as UTF-8 escapes); a trailing slash
      is kept as given, because ``/news`` and ``/news/`` may be different pages;
    * query: tracking parameters removed (``utm_*``, ``fbclid``, ``gclid``, ``yclid``, ``mc_cid``,
      ``mc_eid``, ``_ga`` and the others in ``TRACKING_PARAMS``; ``ref`` is kept, as sites use
      it for content), empty pieces dropped, the others kept in their original order;
    * fragment removed, except a ``#!`` route, which selects content on old AJAX sites.

    Never raises: a string that is not an absolute URL comes back stripped and otherwise as is.
    """
    url = url.strip()
    m = _URL.match(url)
    if not m or m.group(2) is None:
        return url
    scheme = m.group(1).lower()
    netloc, path, query, fragment = m.group(2), m.group(3), m.group(4), m.group(5)
    path = _remove_dot_segments(_pct(path, _PATH_SAFE)) or "/"
    out = f"{scheme}://{_host(netloc, scheme)}{path}"
    if query:
        kept = [
            _pct(piece, _QUERY_SAFE)
            for piece in query.split("&")
            if piece and not _is_tracker(piece.partition("=")[0])
        ]
        if kept:
            out += "?" + "&".join(kept)
    if fragment and fragment.startswith("!"):
        out += "#" + _pct(fragment, _QUERY_SAFE)
    return out


# ---------------------------------------------------------------- exact duplicates


def fingerprint(title: str, body: str) -> str:
    """SHA-256 (hex) of the body's normalised words; the title is ignored.

    Case, spacing, soft hyphens, NBSP, ``ё``/``е`` and punctuation do not change it. When the
    body has no words the title is used instead, so empty bodies do not all collide.
    """
    tokens = words(body)
    key = " ".join(tokens) if tokens else "\x00title\x00" + " ".join(words(title))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- near duplicates

SHINGLE = 4  # words per shingle
PERMUTATIONS = 256  # MinHash values per signature (all used by similarity)
ROWS = 2  # signature values per LSH band
BANDS = 64  # bands cut from the first BANDS * ROWS values
THRESHOLD = 0.5  # similarity at or above which two texts are one story

# Header: the format version (top byte) and the number of distinct shingles (low 24 bits). Bump
# VERSION whenever SHINGLE, PERMUTATIONS or the hash seeds change: older signatures then compare
# as "no signature" instead of as noise.
VERSION = 1
_HEADER = struct.Struct("<I")
_rng = np.random.default_rng(0x6D6F6E69746F72)  # fixed: signatures must be stable across runs
# Permutation j maps a (well mixed) shingle hash x to the high 32 bits of a_j * x + b_j mod 2^64,
# a_j odd: multiply-add-shift hashing, two vector operations per permutation.
_A = _rng.integers(0, 2**63 - 1, size=(PERMUTATIONS, 1), dtype=np.int64).astype(np.uint64) * (
    np.uint64(2)
) + np.uint64(1)
_B = _rng.integers(0, 2**63 - 1, size=(PERMUTATIONS, 1), dtype=np.int64).astype(np.uint64)
_MUL = (
    _rng.integers(0, 2**63 - 1, size=SHINGLE, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    + np.uint64(1)
)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijection on uint64 that spreads every input bit."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@lru_cache(maxsize=1 << 16)  # word frequencies are Zipfian: most words of a text were seen before
def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def _shingles(tokens: list[str]) -> np.ndarray:
    """Distinct 64-bit hashes of the word ``SHINGLE``-grams (the whole text if shorter)."""
    vocab = {w: _word_hash(w) for w in dict.fromkeys(tokens)}
    h = np.fromiter((vocab[w] for w in tokens), dtype=np.uint64, count=len(tokens))
    k = min(SHINGLE, len(h))
    n = len(h) - k + 1
    acc = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            acc = _mix(acc ^ (h[j : j + n] * _MUL[j]))
    return np.unique(acc)


def signature(text: str) -> bytes:
    """MinHash of the text's word shingles: a 4-byte header (version, shingle count), then
    ``PERMUTATIONS`` 32-bit minima. A text without words gives ``b""``, similar to nothing."""
    tokens = words(text)
    if not tokens:
        return b""
    shingles = _shingles(tokens)
    with np.errstate(over="ignore"):
        hashed = shingles[np.newaxis, :] * _A  # (PERMUTATIONS, n)
        hashed += _B
    mins = (hashed.min(axis=1) >> np.uint64(32)).astype("<u4")
    return _HEADER.pack(VERSION << 24 | min(len(shingles), 0xFFFFFF)) + mins.tobytes()


def _unpack(sig: bytes) -> tuple[int, np.ndarray] | None:
    if len(sig) != _HEADER.size + 4 * PERMUTATIONS:
        return None
    (header,) = _HEADER.unpack_from(sig)
    if header >> 24 != VERSION:
        return None
    return header & 0xFFFFFF, np.frombuffer(sig, dtype="<u4", offset=_HEADER.size)


def bands(sig: bytes) -> list[str]:
    """LSH keys: ``BANDS`` bands of ``ROWS`` values each, as ``"<band>:<hex>"``."""
    return list(_bands(sig))


@lru_cache(maxsize=64)  # the pipeline asks for one text's bands twice (lookup, then insert)
def _bands(sig: bytes) -> tuple[str, ...]:
    unpacked = _unpack(sig)
    if unpacked is None:
        return ()
    body = sig[_HEADER.size :]
    step = 4 * ROWS
    return tuple(
        f"{i:02d}:{hashlib.blake2b(body[i * step : (i + 1) * step], digest_size=8).hexdigest()}"
        for i in range(BANDS)
    )


def jaccard(a: bytes, b: bytes) -> float:
    """MinHash estimate of the Jaccard similarity of the two shingle sets."""
    ua, ub = _unpack(a), _unpack(b)
    if ua is None or ub is None:
        return 0.0
    return float(np.count_nonzero(ua[1] == ub[1])) / PERMUTATIONS


def similarity(a: bytes, b: bytes) -> float:
    """Estimated share of the shorter text's shingles that the other text also has (0..1)."""
    ua, ub = _unpack(a), _unpack(b)
    if ua is None or ub is None:
        return 0.0
    return _discounted(ua[1] == ub[1], None, ua[0], ub[0])


def _root(store: Store, article_id: int) -> int:
    """Follow ``duplicate_of`` to the story's first article (one hop when the pipeline wrote it)."""
    root = article_id
    for _ in range(8):
        ref = store.article_ref(root)
        if ref is None or ref[1] is None:
            break
        root = ref[1]
    return root


NEAREST = 32  # candidates looked at closely (story, source) by find_story
CROWD = 8  # dissimilar articles sharing a value that make it boilerplate without a closer look


def find_story(store: Store, sig: bytes) -> int | None:
    """The root article id of the most similar stored article at or above ``THRESHOLD``.

    Boilerplate is discounted: a MinHash value that the new text shares with two articles of one
    source, with articles of two different stories, or with ``CROWD`` articles that are not
    similar to it (a ministry's standard opening or closing paragraphs) is left out of the
    comparison, so a short comment that is mostly boilerplate does not join an older release.
    This needs history: until a source has two stored releases sharing its boilerplate,
    ``find_story`` judges by ``similarity`` alone. Only the ``NEAREST`` most similar candidates
    are read from the store, so the cost stays flat when thousands share a band.
    """
    query = _unpack(sig)
    if query is None:
        return None
    count, values = query
    ids: list[int] = []
    sizes: list[int] = []
    rows: list[np.ndarray] = []
    for article_id, other in store.band_candidates(bands(sig)):
        unpacked = _unpack(other) if other is not None else None
        if unpacked is not None:
            ids.append(article_id)
            sizes.append(unpacked[0])
            rows.append(unpacked[1])
    if not ids:
        return None
    agree = np.stack(rows) == values  # (candidates, PERMUTATIONS)
    n = np.array(sizes, dtype=np.float64)
    j = agree.sum(axis=1) / PERMUTATIONS
    raw = np.minimum(1.0, j * (count + n) / (1.0 + j) / np.maximum(1.0, np.minimum(count, n)))
    crowd = agree[raw < THRESHOLD].sum(axis=0) >= CROWD
    nearest = np.argsort(-raw, kind="stable")[:NEAREST]
    candidates = []
    for k in nearest:
        ref = store.article_ref(ids[k])
        if ref is not None:
            source, duplicate_of = ref
            root = _root(store, duplicate_of) if duplicate_of else ids[k]
            candidates.append((int(k), root, source))
    shared = crowd | _boilerplate(candidates, agree)
    best: tuple[float, int] | None = None
    for k, root, _ in candidates:
        score = _discounted(agree[k], shared, count, sizes[k])
        if score >= THRESHOLD and (best is None or score > best[0]):
            best = (score, root)
    return best[1] if best else None


def _boilerplate(candidates: list[tuple[int, int, str]], agree: np.ndarray) -> np.ndarray:
    """Positions whose value the new text shares with two articles of one source (a source
    repeats its boilerplate, never its stories), or with articles of two different stories."""
    zero = np.zeros(PERMUTATIONS, dtype=np.int64)
    per_source: dict[str, np.ndarray] = {}
    per_story: dict[int, np.ndarray] = {}
    for k, root, source in candidates:
        per_source[source] = per_source.get(source, zero) + agree[k]
        per_story[root] = per_story.get(root, zero) | agree[k]
    if not candidates:
        return np.zeros(PERMUTATIONS, dtype=bool)
    by_source = np.max(list(per_source.values()), axis=0) >= 2
    by_story = np.sum(list(per_story.values()), axis=0) >= 2
    result: np.ndarray = by_source | by_story
    return result


def _discounted(agree: np.ndarray, shared: np.ndarray | None, na: float, nb: float) -> float:
    """``similarity`` with the shingles behind ``shared`` positions treated as absent."""
    j = float(np.count_nonzero(agree)) / PERMUTATIONS
    if j == 0.0:
        return 0.0
    common = j * (na + nb) / (1.0 + j)
    if shared is not None and shared.any():
        boiler = common * np.count_nonzero(agree & shared) / np.count_nonzero(agree)
        na = max(0.0, na - na * float(np.count_nonzero(shared)) / PERMUTATIONS)
        nb = max(0.0, nb - boiler)
        common -= boiler
        if common <= 0:
            return 0.0
    return min(1.0, common / max(1.0, min(na, nb)))
