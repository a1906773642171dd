from __future__ import annotations

from pathlib import Path

import pytest

from monitor.store import Store

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "monitor.db")
    yield s
    s.close()
