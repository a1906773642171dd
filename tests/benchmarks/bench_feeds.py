"""Feed parsing: monitor's parser (lxml fast path + feedparser fallback) against feedparser.

On ../shared/corpora/feeds/items/*.gz (real feeds, no gold parse), both parse the same bytes.
Agreement is counted per entry where feedparser succeeds (it finds the entry), pairing entries in
document order:

- title: equal after dropping tags, decoding entities and collapsing white space;
- link: equal (both told the feed's URL, ``BASE``, to resolve relative links and xml:base);
- guid: equal (feedparser's ``id``), counted where either side has one;
- date: the published date (else the updated one) equal to the minute in UTC, counted where
  either side has one.

Speed: feeds/s over the whole corpus for each parser (ours best of ``REPEAT`` runs, feedparser one
run: it takes over a minute).
Run: ``.venv/bin/python tests/benchmarks/bench_feeds.py``.
"""

from __future__ import annotations

import gzip
import io
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from monitor.errors import ParseError  # noqa: E402
from monitor.models import Item  # noqa: E402
from monitor.sources.base import clean_text  # noqa: E402
from monitor.sources.feed import parse_feed  # noqa: E402

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "feeds" / "items"
REPEAT = 3
FIELDS = ("title", "link", "guid", "date")
BASE = "https://feeds.example.org/feed.xml"  # where both parsers are told the feed came from


def _load() -> list[tuple[str, bytes]]:
    return [(p.stem, gzip.decompress(p.read_bytes())) for p in sorted(CORPUS.glob("*.gz"))]


def _ours(data: bytes) -> list[Item] | None:
    try:
        return list(parse_feed(data, BASE).items)
    except ParseError:
        return None


def _theirs(data: bytes) -> Any:
    return feedparser.parse(io.BytesIO(data), response_headers={"content-location": BASE})


def _fp_date(entry: Any) -> datetime | None:
    """feedparser's published (else updated) date; years before 1970 are placeholders (Go's
    zero time 0001-01-01) and count as no date, as in monitor."""
    st = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
    if not st or st[0] < 1970:
        return None
    return datetime(*st[:6], tzinfo=UTC)


def _minute(dt: datetime | None) -> datetime | None:
    return dt.astimezone(UTC).replace(second=0, microsecond=0) if dt else None


def _pairs(ours: list[Item], entries: list[Any]) -> tuple[list[tuple[Item, Any]], int]:
    """Entries paired in document order when both found as many; else by GUID, then link.

    Returns the pairs and the number of feedparser entries left without a partner."""
    if len(ours) == len(entries):
        return list(zip(ours, entries, strict=True)), 0
    by_key: dict[str, Item] = {}
    for it in ours:
        if it.guid:
            by_key.setdefault("g" + it.guid, it)
        by_key.setdefault("l" + it.url, it)
    pairs, missing = [], 0
    for e in entries:
        guid, link = (e.get("id") or "").strip(), e.get("link") or ""
        mine = (guid and by_key.get("g" + guid)) or (link and by_key.get("l" + link)) or None
        if mine is None:
            missing += 1
        else:
            pairs.append((mine, e))
    return pairs, missing


def _compare(ours: list[Item], entries: list[Any], tally: dict[str, list[int]],
             bad: list[str], key: str) -> int:
    pairs, missing = _pairs(ours, entries)
    for mine, e in pairs:
        fields = {
            "title": (mine.title, clean_text(e.get("title"))),
            "link": (mine.url, e.get("link") or None),
            "guid": (mine.guid, (e.get("id") or "").strip() or None),
            "date": (_minute(mine.published_at or mine.updated_at), _minute(_fp_date(e))),
        }
        for field, (a, b) in fields.items():
            if field in ("guid", "date") and a is None and b is None:
                continue
            tally[field][1] += 1
            if a == b:
                tally[field][0] += 1
            elif sum(line.startswith(f"{key} {field}") for line in bad) < 3:
                bad.append(f"{key} {field}: ours={a!r} feedparser={b!r}")
    if missing:
        bad.append(f"{key} missing: {missing} feedparser entries not found by ours")
    return missing


def _timed(fn: Any, feeds: list[tuple[str, bytes]], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _, data in feeds:
            fn(data)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> list[dict]:
    if not CORPUS.is_dir():
        print(f"skip: feed corpus not found at {CORPUS}")
        return []
    feeds = _load()
    size = sum(len(d) for _, d in feeds)
    tally = {f: [0, 0] for f in FIELDS}
    bad: list[str] = []
    ours_entries = theirs_entries = fp_ok = ours_ok = both_count_equal = missing = 0
    fast = 0
    for key, data in feeds:
        ours = _ours(data)
        theirs = _theirs(data)
        fp_found = bool(theirs.entries) or bool(theirs.get("version"))
        if ours is not None:
            ours_ok += 1
            ours_entries += len(ours)
            try:
                fast += parse_feed(data, BASE).parser == "fast"
            except ParseError:
                pass
        if fp_found:
            fp_ok += 1
            theirs_entries += len(theirs.entries)
        if ours is not None and fp_found:
            both_count_equal += len(ours) == len(theirs.entries)
            missing += _compare(ours, list(theirs.entries), tally, bad, key)
    quick = "--quick" in sys.argv  # agreement only
    t_ours = _timed(_ours, feeds, 1 if quick else REPEAT)
    t_theirs = 1.0 if quick else _timed(_theirs, feeds, 1)  # slow; its spread is small
    n = len(feeds)
    rows = [
        {
            "parser": "monitor (fast+fallback)",
            "feeds": n,
            "parsed": ours_ok,
            "fast_path": fast,
            "entries": ours_entries,
            "feeds_per_s": round(n / t_ours, 1),
            "mb_per_s": round(size / t_ours / 1e6, 1),
        },
        {
            "parser": f"feedparser {feedparser.__version__}",
            "feeds": n,
            "parsed": fp_ok,
            "fast_path": 0,
            "entries": theirs_entries,
            "feeds_per_s": round(n / t_theirs, 1),
            "mb_per_s": round(size / t_theirs / 1e6, 1),
        },
    ]
    agreement = {
        "parser": "agreement",
        "same_entry_count": f"{both_count_equal}/{min(ours_ok, fp_ok)}",
        "speedup": round(t_theirs / t_ours, 1),
        "unpaired": missing,
    }
    total_ok = total = 0
    for field, (ok, count) in tally.items():
        agreement[field] = f"{ok / count:.4f} ({ok}/{count})" if count else "n/a"
        total_ok += ok
        total += count
    agreement["overall"] = f"{total_ok / total:.4f}" if total else "n/a"
    rows.append(agreement)

    print(f"{n} feeds, {size / 1e6:.1f} MB, ours best of {REPEAT} runs")
    for row in rows[:2]:
        print(
            f"  {row['parser']:<26} parsed {row['parsed']:>3}/{n}  entries {row['entries']:>5}  "
            f"{row['feeds_per_s']:>7} feeds/s  {row['mb_per_s']:>6} MB/s"
            + (f"  (fast path {row['fast_path']})" if row["fast_path"] else "")
        )
    print(f"  speedup {agreement['speedup']}x; same entry count in "
          f"{agreement['same_entry_count']} feeds; {missing} feedparser entries unpaired")
    for field in FIELDS:
        print(f"  {field:<6} agreement {agreement[field]}")
    print(f"  overall agreement {agreement['overall']}")
    if bad and "-v" in sys.argv:
        print("disagreements (at most 3 per feed and field):")
        for line in bad:
            print("   ", line[:220])
    return rows


if __name__ == "__main__":
    main()
