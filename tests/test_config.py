from __future__ import annotations

import pytest

from monitor.config import parse_config, parse_duration, parse_size
from monitor.errors import ConfigError


@pytest.mark.parametrize(
    "text,seconds",
    [("30s", 30), ("15m", 900), ("1h", 3600), ("7d", 604800), (45, 45), ("1.5h", 5400)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text,size", [("10MB", 10_000_000), ("512KB", 512_000), ("1MiB", 2**20)])
def test_sizes(text, size):
    assert parse_size(text) == size


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "m.yaml")
    return info.value.problems


def test_unknown_key_names_file_line_and_key():
    out = problems(
        "storage:\n  path: x.db\nsources:\n  - name: kremlin\n    url: http://a/\n    evry: 5m\n"
    )
    assert out == ["m.yaml:6: sources[0] (kremlin).evry: unknown key"]


def test_wrong_type_and_bad_values_are_all_reported():
    out = problems(
        "fetch:\n  per_host: many\nsources:\n  - name: Bad Name\n    url: ftp://x\n"
        "    every: 5q\n    timezone: Mars/Base\n"
    )
    text = "\n".join(out)
    assert "m.yaml:2: fetch.per_host" in text
    assert "m.yaml:4: sources[0] (Bad Name).name" in text
    assert "m.yaml:5: sources[0] (Bad Name).url: must be an http" in text
    assert "m.yaml:6:" in text and "not a duration" in text
    assert "m.yaml:7:" in text and "unknown time zone" in text


def test_env_substitution(monkeypatch):
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret")
    cfg = parse_config(
        "channels:\n  - name: desk\n    type: email\n    host: localhost\n    username: u\n"
        "    password: ${SMTP_PASSWORD}\n    from: a@b.c\n    to: [d@e.f]\n"
        "storage:\n  path: ${MONITOR_TEST_UNSET:-/tmp/x.db}\n"
    )
    assert cfg.channels[0].password == "s3cret"  # type: ignore[union-attr]
    assert cfg.storage.path == "/tmp/x.db"


def test_missing_env_var_is_an_error_with_its_line(monkeypatch):
    monkeypatch.delenv("NOPE_NOT_SET", raising=False)
    out = problems("storage:\n  path: ${NOPE_NOT_SET}\n")
    assert out == ["m.yaml:2: storage.path: environment variable ${NOPE_NOT_SET} is not set"]


def test_duplicate_names_and_dangling_references():
    out = problems(
        "sources:\n  - {name: a, url: 'http://x/'}\n  - {name: a, url: 'http://y/'}\n"
        "rules:\n  - name: r\n    keywords: [x]\n    notify: [nobody]\n    sources: [zzz]\n"
    )
    text = "\n".join(out)
    assert "m.yaml:3: sources[1] (a).name: duplicate name 'a'" in text
    assert "no channel named 'nobody'" in text
    assert "no source named 'zzz'" in text


def test_invalid_yaml_reports_line():
    out = problems("sources:\n  - name: a\n   url: x\n")
    assert out[0].startswith("m.yaml:3: invalid YAML")


def test_every_and_cron_exclusive_and_minimum_interval():
    text = "\n".join(
        problems(
            "sources:\n  - {name: a, url: 'http://x/', every: 5m, cron: '*/5 * * * *'}\n"
            "  - {name: b, url: 'http://x/', every: 0.5s}\n"
        )
    )
    assert "either every or cron" in text
    assert "shortest interval is 1s" in text


def test_defaults():
    cfg = parse_config("sources:\n  - {name: a, url: 'http://x/'}\n")
    assert cfg.fetch.max_bytes == 10_000_000
    assert cfg.fetch.per_host == 2
    assert cfg.fetch.robots is True
    assert cfg.sources[0].timezone == "UTC"
