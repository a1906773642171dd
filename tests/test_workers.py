"""Extraction in a real worker process gives what extraction in-process gives."""

from __future__ import annotations

import asyncio
from pathlib import Path

from monitor.workers import Extractor

PAGE = (Path(__file__).parent / "fixtures" / "pipeline" / "ministry" / "en" / "news"
        / "1790100.html").read_text(encoding="utf-8")


def test_offloaded_extraction_matches_in_process() -> None:
    extractor = Extractor(workers=1)

    async def both():  # noqa: ANN202
        url = "https://mid.example/en/news/1790100/"
        here = await extractor(PAGE, url, offload=False, timezone="Europe/Moscow")
        there = await extractor(PAGE, url, offload=True, timezone="Europe/Moscow")
        return here, there

    try:
        here, there = asyncio.run(both())
        assert extractor._pool is not None  # the second call really went to a worker
    finally:
        extractor.close()
    assert there == here  # the same extraction and the same MinHash signature
    extracted, signature = there
    assert extracted.attribution == "Based on materials from TASS"
    assert extracted.published_at is not None
    assert len(signature) > 0
