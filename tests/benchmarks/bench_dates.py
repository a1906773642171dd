"""Publication-date accuracy and speed: monitor.extract.dates vs htmldate (extensive mode).

Corpus: ../shared/corpora/dates (pages/<file>.gz, truth.json {file: {url, date}}). Accuracy is
the share of pages whose publication date (YYYY-MM-DD, in the page's own offset) equals the gold
date; no date counts as wrong. Our figure uses ``published or updated`` (htmldate with
``original_date=True`` likewise falls back to whatever date it finds). Both tools get the same
decoded str; our timing includes building the Lexbor tree. Speed is pages per CPU second, the
two tools interleaved page by page.

Run: .venv/bin/python tests/benchmarks/bench_dates.py [--misses]
"""

from __future__ import annotations

import gzip
import json
import sys
import time
import warnings
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "dates"


def _load() -> list[tuple[str, str, str, str]]:
    truth = json.loads((CORPUS / "truth.json").read_text(encoding="utf-8"))
    rows = []
    for name, gold in sorted(truth.items()):
        path = CORPUS / "pages" / (name + ".gz")
        if not path.exists():
            path = CORPUS / "pages" / name
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        rows.append((name, gold["url"], gold["date"], raw.decode("utf-8", "replace")))
    return rows


def _ours_one(url: str, html: str) -> str | None:
    from selectolax.lexbor import LexborHTMLParser

    from monitor.extract.dates import find_dates

    published, updated = find_dates(LexborHTMLParser(html), url)
    best = published or updated
    return best.date().isoformat() if best else None


def _htmldate_one(url: str, html: str) -> str | None:
    from htmldate import find_date

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return find_date(html, url=url, extensive_search=True, original_date=True)


TOOLS = {"monitor": _ours_one, "htmldate-extensive": _htmldate_one}


def _run(pages: list[tuple[str, str, str, str]]) -> tuple[dict, dict]:
    """Both tools page by page, interleaved, so load on the machine hits both alike.

    Times are CPU seconds of this process (time.process_time), robust to other jobs.
    """
    found: dict[str, dict[str, str | None]] = {tool: {} for tool in TOOLS}
    spent = dict.fromkeys(TOOLS, 0.0)
    for name, url, _gold, html in pages:
        for tool, run in TOOLS.items():
            start = time.process_time()
            found[tool][name] = run(url, html)
            spent[tool] += time.process_time() - start
    return found, spent


SAMPLES = (
    "Wed, 08 Dec 2021 14:30:00 GMT",
    "2021-12-08T14:30:00+03:00",
    "8 декабря 2021 г., 14:30",
    "08.12.2021",
    "2021年12月8日",
    "8. Dezember 2021",
    "December 8, 2021",
    "8 de diciembre de 2021",
)


def _parse_speed() -> list[dict]:
    """parse_date vs dateparser.parse on the same strings (no corpus needed)."""
    import dateparser

    from monitor.extract.dates import parse_date

    langs = ["en", "ru", "fr", "de", "es", "zh"]
    settings = {"TIMEZONE": "Europe/Moscow", "RETURN_AS_TIMEZONE_AWARE": True}
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fn, rounds in (
            ("parse_date", lambda t: parse_date(t, timezone="Europe/Moscow"), 500),
            ("dateparser.parse", lambda t: dateparser.parse(t, languages=langs,
                                                            settings=settings), 20),
        ):
            for text in SAMPLES:
                fn(text)
            start = time.process_time()
            for _ in range(rounds):
                for text in SAMPLES:
                    fn(text)
            rate = rounds * len(SAMPLES) / (time.process_time() - start)
            rows.append({"tool": name, "parses_per_s": round(rate)})
    for r in rows:
        print(f"{r['tool']:<20} {r['parses_per_s']:>10} parses/s")
    return rows


def main() -> list[dict]:
    speed = _parse_speed()
    if not (CORPUS / "truth.json").exists():
        print(f"skip: corpus not found at {CORPUS}")
        return speed
    pages = _load()
    # warm-up outside the timed loop (imports, regex compilation, dateparser's language data:
    # one-time costs of a long-running daemon)
    from monitor.extract.dates import parse_date

    parse_date("Wednesday the 8th of December 2021")
    _run(pages[:5])
    results, spent = _run(pages)
    rows = []
    for tool in TOOLS:
        found = results[tool]
        correct = sum(found[name] == gold for name, _u, gold, _h in pages)
        none = sum(found[name] is None for name, *_ in pages)
        rows.append(
            {
                "tool": tool,
                "pages": len(pages),
                "accuracy": round(correct / len(pages), 4),
                "no_date": none,
                "pages_per_s": round(len(pages) / spent[tool], 1),
            }
        )
    print(f"{'tool':<20} {'pages':>6} {'accuracy':>9} {'no date':>8} {'pages/s':>8}")
    for r in rows:
        print(
            f"{r['tool']:<20} {r['pages']:>6} {r['accuracy']:>9.4f} {r['no_date']:>8} "
            f"{r['pages_per_s']:>8.1f}"
        )
    rows.extend(speed)
    if "--misses" in sys.argv:
        for name, url, gold, _h in pages:
            ours, theirs = results["monitor"][name], results["htmldate-extensive"][name]
            if ours != gold:
                print(f"MISS {name} gold={gold} ours={ours} htmldate={theirs} {url}")
    return rows


if __name__ == "__main__":
    main()
