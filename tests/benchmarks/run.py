"""Run the benchmarks: ``make bench`` or ``python tests/benchmarks/run.py [NAME ...]``.

Each ``bench_<name>.py`` here has ``main() -> list[dict]`` that prints its own table. They are
not part of ``make test``. Real-web corpora are read from ``../shared/corpora`` when present.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).parent


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(HERE))
    names = argv or sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    failed = 0
    for name in names:
        print(f"\n=== {name} " + "=" * (70 - len(name)), flush=True)
        t0 = time.perf_counter()
        try:
            importlib.import_module(f"bench_{name}").main()
        except Exception:
            failed += 1
            traceback.print_exc()
        print(f"--- {name}: {time.perf_counter() - t0:.1f}s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
