"""The commands a user runs first: validate, preview, search, export (CSV) and the -c default."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from sites import serve_site  # noqa: F401

FIXTURES = Path(__file__).parent / "fixtures"


def monitor(*args: str, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True,
                          text=True, timeout=120, env=full, cwd=cwd)


def write_config(path: Path, **sections: Any) -> Path:
    path.write_text(json.dumps(sections))
    return path


def test_validate_ok_and_bad(tmp_path):
    good = write_config(tmp_path / "good.yaml", sources=[{"name": "a", "url": "http://x.org/"}])
    out = monitor("validate", "-c", str(good))
    assert out.returncode == 0 and "ok (1 sources, 0 rules, 0 channels)" in out.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("fetch:\n  max_bytes: lots\nrules:\n  - name: r\n    query: '(CIS AND'\n")
    out = monitor("validate", "-c", str(bad))
    assert out.returncode == 2
    assert f"{bad}:2: fetch.max_bytes: 'lots' is not a size" in out.stderr
    assert f"{bad}:5: rules[0] (r).query: bad query at position" in out.stderr


def test_config_path_defaults_to_env_then_config_dir(tmp_path):
    (tmp_path / "config").mkdir()
    write_config(tmp_path / "config" / "monitor.yaml", sources=[])
    out = monitor("validate", cwd=tmp_path, env={"MONITOR_CONFIG": ""})
    assert out.returncode == 0 and "config/monitor.yaml: ok" in out.stdout
    other = write_config(tmp_path / "other.yaml", sources=[{"name": "b", "url": "http://x/"}])
    out = monitor("validate", cwd=tmp_path, env={"MONITOR_CONFIG": str(other)})
    assert out.returncode == 0 and f"{other}: ok (1 sources" in out.stdout


def test_preview_shows_items_and_stores_nothing(tmp_path, serve_site):  # noqa: F811
    base = serve_site(FIXTURES / "pipeline" / "ministry")
    cfg = write_config(
        tmp_path / "m.yaml", storage={"path": str(tmp_path / "m.db")},
        sources=[{"name": "mfa", "url": f"{base}/en/rss.php", "timezone": "Europe/Moscow"}],
    )
    out = monitor("preview", "-c", str(cfg), "mfa")
    assert out.returncode == 0, out.stderr
    assert "- Foreign Minister urges to take CIS security to a new level" in out.stdout
    assert "date: 2021-12-08T11:30:00+00:00" in out.stdout
    assert "attribution: Based on materials from TASS" in out.stdout
    assert "Work on ensuring the security" in out.stdout
    assert not (tmp_path / "m.db").exists()
    assert monitor("preview", "-c", str(cfg), "nope").returncode == 2


def test_search_and_csv_export(tmp_path, serve_site):  # noqa: F811
    base = serve_site(FIXTURES / "pipeline" / "agency")
    cfg = write_config(
        tmp_path / "a.yaml", storage={"path": str(tmp_path / "a.db")},
        sources=[{"name": "agency", "url": f"{base}/rss/politics", "type": "feed"}],
    )
    assert monitor("once", "-c", str(cfg)).returncode == 0
    out = monitor("search", "-c", str(cfg), "budget")
    assert "[agency] Parliament approves the federal budget" in out.stdout
    assert "/politics/13145600" in out.stdout
    hits = [json.loads(x) for x in monitor("search", "-c", str(cfg), "Afghanistan",
                                           "--json").stdout.splitlines()]
    assert [h["title"] for h in hits] == [
        "Top diplomat calls for stronger CIS security amid Afghan crisis"]
    # punctuation that is FTS5 syntax is searched as words, not a crash
    odd = monitor("search", "-c", str(cfg), "CIS-security U.S.")
    assert odd.returncode == 0 and "Traceback" not in odd.stderr
    assert monitor("search", "-c", str(cfg), "football").stdout.strip() == "no matches"

    rows = list(csv.DictReader(io.StringIO(
        monitor("export", "-c", str(cfg), "--format", "csv").stdout)))
    assert len(rows) == 2
    assert {"id", "source", "url", "title", "published_at", "first_seen_at", "language", "body",
            "duplicate_of"} <= set(rows[0])
    assert rows[0]["published_at"] == "2021-12-08T12:10:00+00:00"
    since = monitor("export", "-c", str(cfg), "--since", "2021-12-08T14:00:00+00:00")
    assert [json.loads(x)["title"] for x in since.stdout.splitlines()] == [
        "Parliament approves the federal budget in the third reading"]
