"""Article body extraction vs trafilatura on /work/shared/corpora/extraction.

Metric (the article-extraction-benchmark's own): word 4-gram shingles with counts, per-page
TP/FP/FN normalised to sum 1, precision and recall averaged over pages (pages with nothing
predicted left out of precision), F1 from the two means. Run:

    .venv/bin/python tests/benchmarks/bench_extract.py [--pages N] [--worst K]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "extraction"
_TOKEN = re.compile(r"\w+", re.UNICODE)

Triple = tuple[float, float, float]


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    grams = [tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1))]
    return Counter(g for g in grams if g)


def tp_fp_fn(true: str, pred: str) -> Triple:
    t, p = shingles(true), shingles(pred)
    tp = fp = fn = 0.0
    for key in t.keys() | p.keys():
        a, b = t.get(key, 0), p.get(key, 0)
        tp += min(a, b)
        fp += max(0, b - a)
        fn += max(0, a - b)
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def _precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fp == 0 else tp / (tp + fp)


def _recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fn == 0 else tp / (tp + fn)


def scores(triples: Sequence[Triple]) -> dict[str, float]:
    precision = statistics.mean(_precision(*t) for t in triples if t[0] + t[1] > 0)
    recall = statistics.mean(_recall(*t) for t in triples if t[0] + t[2] > 0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": f1, "precision": precision, "recall": recall}


def load(limit: int | None = None) -> list[tuple[str, str, str, str]]:
    truth = json.loads((CORPUS / "truth.json").read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth)[:limit]:
        path = CORPUS / "pages" / f"{key}.html.gz"
        if not path.exists():
            continue
        html = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
        pages.append((key, truth[key]["url"], html, truth[key]["body"]))
    return pages


Extractor = tuple[str, Callable[[str, str], str]]


def run(
    extractors: Sequence[Extractor],
    pages: Sequence[tuple[str, str, str, str]],
    repeat: int = 2,
) -> tuple[list[dict[str, float | str]], list[tuple[float, str]]]:
    """Score each extractor on ``pages``.

    The extractors take turns page by page, so a busy machine slows them alike; a page's time is
    its best over ``repeat`` passes (warm caches, imports and models loaded first).
    """
    for _name, fn in extractors:
        fn(pages[0][2], pages[0][1])
    best = [[float("inf")] * len(pages) for _ in extractors]
    preds: list[list[str]] = [[""] * len(pages) for _ in extractors]
    for _ in range(repeat):
        for p, (_key, url, html, _truth) in enumerate(pages):
            for e, (_name, fn) in enumerate(extractors):
                start = time.perf_counter()
                preds[e][p] = fn(html, url) or ""
                best[e][p] = min(best[e][p], time.perf_counter() - start)
    rows: list[dict[str, float | str]] = []
    per_page: list[tuple[float, str]] = []
    for e, (name, _fn) in enumerate(extractors):
        triples = [tp_fp_fn(page[3], pred) for page, pred in zip(pages, preds[e], strict=True)]
        if e == 0:
            per_page = [
                (2 * tp / (2 * tp + fp + fn) if tp else 0.0, page[0])
                for (tp, fp, fn), page in zip(triples, pages, strict=True)
            ]
        row: dict[str, float | str] = {"extractor": name, **scores(triples)}
        row["pages_per_s"] = len(pages) / sum(best[e])
        rows.append(row)
    return rows, per_page


def ours_full(html: str, url: str) -> str:
    from monitor.extract import extract_article

    return extract_article(html, url).body


def ours_body(html: str, url: str) -> str:
    from monitor.extract.article import extract_text

    return extract_text(html)[1]


def trafilatura_default(html: str, url: str) -> str:
    import trafilatura

    return trafilatura.extract(html) or ""


def main(argv: list[str] | None = None) -> list[dict[str, float | str]]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=None)
    parser.add_argument("--worst", type=int, default=0, help="list the K worst pages of ours")
    parser.add_argument("--no-trafilatura", action="store_true")
    parser.add_argument("--repeat", type=int, default=2, help="timed passes (best kept)")
    args = parser.parse_args(argv)
    if not (CORPUS / "truth.json").exists():
        print(f"skip: extraction corpus not found at {CORPUS}")
        return []
    pages = load(args.pages)
    extractors: list[Extractor] = [
        ("monitor (body)", ours_body),
        ("monitor (extract_article)", ours_full),
    ]
    if not args.no_trafilatura:
        try:
            import trafilatura  # noqa: F401
        except ImportError:
            print("trafilatura not installed: skipped")
        else:
            extractors.append(("trafilatura (default)", trafilatura_default))
    rows, per_page = run(extractors, pages, args.repeat)
    print(
        f"{len(pages)} pages from {CORPUS} (one process, extractors interleaved, "
        f"best of {args.repeat} passes per page)"
    )
    print(f"{'extractor':<28}{'F1':>7}{'P':>7}{'R':>7}{'pages/s':>10}")
    for r in rows:
        print(f"{r['extractor']:<28}{r['f1']:>7.3f}{r['precision']:>7.3f}{r['recall']:>7.3f}"
              f"{r['pages_per_s']:>10.1f}")
    if args.worst:
        for f1, key in sorted(per_page)[: args.worst]:
            print(f"  {f1:.3f} {key}")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
