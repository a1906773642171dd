"""Run the benchmarks: ``make bench`` or ``python tests/benchmarks/run.py [NAME ...]``.

Each ``bench_<name>.py`` here has ``main() -> list[dict]`` (some take ``argv``) that prints its
own table. They are not part of ``make test``. Real-web corpora are read from
``../shared/corpora`` when present. When extraction, dates and feeds all ran, a last table puts
the three side by side with the tools they are measured against.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
Rows = list[dict[str, Any]]


def _find(rows: Rows, key: str, prefix: str) -> dict[str, Any] | None:
    return next((r for r in rows if str(r.get(key, "")).startswith(prefix)), None)


def quality_table(results: dict[str, Rows]) -> None:
    """Issue 5's table: extraction, dates and feeds, ours against the reference tools."""
    lines = []
    ext = results.get("extract") or []
    ours, theirs = _find(ext, "extractor", "monitor (extract"), _find(ext, "extractor", "traf")
    if ours and theirs:
        lines.append((
            "extraction (F1)", f"{ours['f1']:.3f}", f"{ours['pages_per_s']:.1f} pages/s",
            f"trafilatura {theirs['f1']:.3f}", f"{theirs['pages_per_s']:.1f} pages/s",
            ours["pages_per_s"] / theirs["pages_per_s"],
        ))
    dates = results.get("dates") or []
    ours, theirs = _find(dates, "tool", "monitor"), _find(dates, "tool", "htmldate")
    if ours and theirs and "accuracy" in ours:
        lines.append((
            "dates (accuracy)", f"{ours['accuracy']:.4f}", f"{ours['pages_per_s']:.1f} pages/s",
            f"htmldate {theirs['accuracy']:.4f}", f"{theirs['pages_per_s']:.1f} pages/s",
            ours["pages_per_s"] / theirs["pages_per_s"],
        ))
    feeds = results.get("feeds") or []
    ours, theirs = _find(feeds, "parser", "monitor"), _find(feeds, "parser", "feedparser")
    agree = _find(feeds, "parser", "agreement")
    if ours and theirs and agree:
        lines.append((
            "feeds (agreement)", str(agree["overall"]), f"{ours['feeds_per_s']} feeds/s",
            "feedparser (reference)", f"{theirs['feeds_per_s']} feeds/s",
            ours["feeds_per_s"] / theirs["feeds_per_s"],
        ))
    if not lines:
        return
    print("\n=== extraction, dates and feeds against the reference tools " + "=" * 17)
    print(f"{'task':<18}{'ours':>9}{'':>17}  {'reference':<24}{'':>17}{'speed':>8}")
    for task, q, s, ref_q, ref_s, ratio in lines:
        print(f"{task:<18}{q:>9}{s:>17}  {ref_q:<24}{ref_s:>17}{ratio:>7.1f}x")


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(HERE))
    names = argv or sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    failed = 0
    results: dict[str, Rows] = {}
    for name in names:
        print(f"\n=== {name} " + "=" * (70 - len(name)), flush=True)
        t0 = time.perf_counter()
        try:
            bench = importlib.import_module(f"bench_{name}").main
            rows = bench([]) if inspect.signature(bench).parameters else bench()
            results[name] = list(rows or [])
        except Exception:
            failed += 1
            traceback.print_exc()
        print(f"--- {name}: {time.perf_counter() - t0:.1f}s", flush=True)
    quality_table(results)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
