"""YAML → validated settings.

Unknown keys, wrong types and bad values are errors naming the file, the line and the key.
``${VAR}`` and ``${VAR:-default}`` in string values are replaced from the environment.
Durations are written ``30s``, ``15m``, ``1h``, ``7d`` (or a number of seconds); sizes ``10MB``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.errors import ConfigError, QueryError

DEFAULT_CONFIG = "config/monitor.yaml"
NAME_PATTERN = r"^[a-z0-9_-]+$"

# ---------------------------------------------------------------- value types

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?\s*$", re.I)
_SIZE_UNITS = {
    None: 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3,
}


def parse_duration(value: Any) -> float:
    """``"30s"`` → 30.0; ``"15m"`` → 900.0; a bare number is seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 30s, 15m, 1h or 7d")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError(f"{value!r} is not a duration (write 30s, 15m, 1h or 7d)")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


def parse_size(value: Any) -> int:
    """``"10MB"`` → 10_000_000; a bare number is bytes."""
    if isinstance(value, bool):
        raise ValueError("expected a size like 10MB")
    if isinstance(value, int):
        return value
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError(f"{value!r} is not a size (write 512KB, 10MB or 1GB)")
    unit = m.group(2).lower() if m.group(2) else None
    return int(float(m.group(1)) * _SIZE_UNITS[unit])


Duration = Annotated[float, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]
Name = Annotated[str, Field(pattern=NAME_PATTERN, min_length=1, max_length=64)]


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value, re.I):
        raise ValueError("must be an http:// or https:// URL")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {value!r} (use an IANA name like Europe/Moscow)"
        ) from exc
    return value


# ---------------------------------------------------------------- sections


class StorageConfig(Model):
    path: str = "data/monitor.db"


class FetchConfig(Model):
    user_agent: str = "monitor/0.1 (+https://github.com/monitor-press/monitor)"
    timeout: Duration = 30.0  # total deadline for one request, retries excluded
    max_bytes: Size = 10_000_000
    per_host: int = Field(2, ge=1, le=64)
    delay: Duration = 0.0  # pause between two requests to the same host
    robots: bool = True
    retries: int = Field(3, ge=0, le=10)
    jitter: float = Field(0.1, ge=0, le=1)  # scheduling jitter as a fraction of the interval
    concurrency: int = Field(16, ge=1, le=256)  # sources fetched at once


class ArticleSelectors(Model):
    title: str | None = None
    date: str | None = None
    body: str | None = None
    drop: list[str] = Field(default_factory=list)


class SourceConfig(Model):
    name: Name
    url: HttpUrl
    type: Literal["feed", "html", "sitemap"] | None = None
    language: str | None = None
    timezone: Annotated[str, BeforeValidator(_check_timezone)] = "UTC"
    every: Duration | None = None
    cron: str | None = None
    links: str | None = None  # CSS selector of article links on a listing page
    next: str | None = None  # CSS selector of the next listing page link
    pages: int = Field(1, ge=1, le=100)
    follow: bool = False
    article: ArticleSelectors = Field(default_factory=ArticleSelectors)
    encoding: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    stale_after: Duration | None = None

    @field_validator("every")
    @classmethod
    def _min_interval(cls, value: float | None) -> float | None:
        if value is not None and value < 1:
            raise ValueError("the shortest interval is 1s")
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(value)
            except ValueError as exc:
                raise ValueError(f"bad cron expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _one_schedule(self) -> SourceConfig:
        if self.every is not None and self.cron is not None:
            raise ValueError("give either every or cron, not both")
        return self

    @property
    def interval(self) -> float:
        """Seconds between runs (the cron's typical gap is not computed: 1h is assumed)."""
        if self.every is not None:
            return self.every
        return 3600.0 if self.cron else 900.0


class RuleConfig(Model):
    name: Name
    query: str | None = None
    keywords: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    sources: list[str] | None = None
    languages: list[str] | None = None
    notify: list[str] = Field(default_factory=list)
    digest: Duration | None = None

    @model_validator(mode="after")
    def _something_to_match(self) -> RuleConfig:
        if not self.query and not self.keywords:
            raise ValueError("a rule needs a query, keywords, or both")
        return self


class Templates(Model):
    subject: str | None = None  # a path to a Jinja2 template, or inline when it contains {{
    text: str | None = None
    html: str | None = None


class EmailChannel(Model):
    type: Literal["email"]
    name: Name
    host: str
    port: int | None = None  # default: 465 with ssl, else 587 (25 when starttls is false)
    ssl: bool = False
    starttls: bool | None = None  # None: used when the server offers it
    username: str | None = None
    password: str | None = None
    from_: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
    timeout: Duration = 30.0
    templates: Templates = Field(default_factory=Templates)

    @model_validator(mode="after")
    def _tls(self) -> EmailChannel:
        if self.ssl and self.starttls:
            raise ValueError("ssl: true (implicit TLS) and starttls: true exclude each other")
        if self.password and not self.username:
            raise ValueError("password given without username")
        return self


class WebhookChannel(Model):
    type: Literal["webhook"]
    name: Name
    url: HttpUrl
    secret: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    format: Literal["json", "slack"] = "json"
    timeout: Duration = 15.0

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value is None:
            return None
        import base64
        import binascii

        if not value.startswith("whsec_"):
            raise ValueError("a webhook secret is 'whsec_' followed by base64")
        try:
            base64.b64decode(value[6:], validate=True)
        except binascii.Error as exc:
            raise ValueError("the part after 'whsec_' is not valid base64") from exc
        return value


class ConsoleChannel(Model):
    type: Literal["console"]
    name: Name
    templates: Templates = Field(default_factory=Templates)


Channel = Annotated[EmailChannel | WebhookChannel | ConsoleChannel, Field(discriminator="type")]


class LogConfig(Model):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"


class ServerConfig(Model):
    listen: str | None = None  # host:port, e.g. 127.0.0.1:9464

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$", value):
            raise ValueError("write host:port, e.g. 127.0.0.1:9464")
        return value


class HealthConfig(Model):
    failures: int = Field(3, ge=1)
    notify: list[str] = Field(default_factory=list)


class AlertsConfig(Model):
    retry_for: Duration = 86400.0 * 2  # keep retrying a failed delivery this long
    every: Duration = 10.0  # how often the outbox sender runs in the daemon


class Config(Model):
    storage: StorageConfig = Field(default_factory=StorageConfig)
    fetch: FetchConfig = Field(default_factory=FetchConfig)
    log: LogConfig = Field(default_factory=LogConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    sources: list[SourceConfig] = Field(default_factory=list)
    rules: list[RuleConfig] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list)

    def source(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(name)

    def channel(self, name: str) -> EmailChannel | WebhookChannel | ConsoleChannel:
        for c in self.channels:
            if c.name == name:
                return c
        raise KeyError(name)

    def rule(self, name: str) -> RuleConfig:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)

    def named_hosts(self) -> set[str]:
        """Hosts the config itself names: links to them may be private or loopback."""
        from urllib.parse import urlsplit

        urls = [s.url for s in self.sources] + [
            c.url for c in self.channels if isinstance(c, WebhookChannel)
        ]
        return {(urlsplit(u).hostname or "").lower() for u in urls}


# ---------------------------------------------------------------- loading

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
Path_ = tuple[str | int, ...]


def _lines(node: yaml.Node, path: Path_, out: dict[Path_, int]) -> None:
    """Record the 1-based line of every key and value in the composed YAML tree."""
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = key.value
            out[path + (k,)] = key.start_mark.line + 1
            _lines(value, path + (k,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            _lines(value, path + (i,), out)


def _substitute(data: Any, path: Path_, missing: list[Path_]) -> Any:
    if isinstance(data, dict):
        return {k: _substitute(v, path + (k,), missing) for k, v in data.items()}
    if isinstance(data, list):
        return [_substitute(v, path + (i,), missing) for i, v in enumerate(data)]
    if isinstance(data, str) and "${" in data:

        def repl(m: re.Match[str]) -> str:
            value = os.environ.get(m.group(1))
            if value is None:
                if m.group(2) is not None:
                    return m.group(2)
                missing.append(path + (f"${{{m.group(1)}}}",))
                return ""
            return value

        return _ENV.sub(repl, data)
    return data


def _dotted(path: Path_, data: Any) -> str:
    out = ""
    node = data
    for part in path:
        if isinstance(part, int):
            entry = node[part] if isinstance(node, list) and part < len(node) else None
            name = entry.get("name") if isinstance(entry, dict) else None
            out += f"[{part}]" + (f" ({name})" if name else "")
        else:
            out += ("." if out else "") + str(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return out or "(top level)"


def _line_of(path: Path_, lines: dict[Path_, int]) -> int:
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read, substitute and validate a config file. Raises ConfigError listing every problem."""
    file = Path(resolve_path(path))
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the config: {exc.strerror or exc}") from exc
    return parse_config(text, str(file))


def resolve_path(path: str | os.PathLike[str] | None) -> str:
    """``-c`` if given, else ``$MONITOR_CONFIG``, else ``config/monitor.yaml``."""
    return str(path or os.environ.get("MONITOR_CONFIG") or DEFAULT_CONFIG)


def parse_config(text: str, filename: str = "<config>") -> Config:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{filename}:{line}: invalid YAML: {problem}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{filename}:1: the config must be a mapping of sections")
    lines: dict[Path_, int] = {}
    if node is not None:
        _lines(node, (), lines)
    missing: list[Path_] = []
    data = _substitute(data, (), missing)
    problems = [
        f"{filename}:{_line_of(p[:-1], lines)}: {_dotted(p[:-1], data)}: "
        f"environment variable {p[-1]} is not set"
        for p in missing
    ]
    problems += _query_problems(data, filename, lines)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x in _UNION_TAGS))
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            elif err["type"] == "union_tag_invalid":
                msg = "type must be one of: email, webhook, console"
            problems.append(f"{filename}:{_line_of(loc, lines)}: {_dotted(loc, data)}: {msg}")
        raise ConfigError(sorted(problems, key=_line_number)) from exc
    problems += _cross_check(config, filename, lines, data)
    if problems:
        raise ConfigError(sorted(problems, key=_line_number))
    return config


def _line_number(problem: str) -> int:
    """Problems are listed in file order (``file:LINE: ...``)."""
    match = re.match(r".*?:(\d+): ", problem)
    return int(match.group(1)) if match else 0


_UNION_TAGS = {"email", "webhook", "console"}



def _cross_check(config: Config, filename: str, lines: dict[Path_, int], data: Any) -> list[str]:
    problems: list[str] = []

    def add(path: Path_, msg: str) -> None:
        problems.append(f"{filename}:{_line_of(path, lines)}: {_dotted(path, data)}: {msg}")

    for section in ("sources", "rules", "channels"):
        seen: set[str] = set()
        for i, item in enumerate(getattr(config, section)):
            if item.name in seen:
                add((section, i, "name"), f"duplicate name {item.name!r}")
            seen.add(item.name)
    sources = {s.name for s in config.sources}
    channels = {c.name for c in config.channels}
    for i, rule in enumerate(config.rules):
        for j, name in enumerate(rule.notify):
            if name not in channels:
                add(("rules", i, "notify", j), f"no channel named {name!r}")
        for j, name in enumerate(rule.sources or []):
            if name not in sources:
                add(("rules", i, "sources", j), f"no source named {name!r}")
    for j, name in enumerate(config.health.notify):
        if name not in channels:
            add(("health", "notify", j), f"no channel named {name!r}")
    return problems


def _query_problems(data: Any, filename: str, lines: dict[Path_, int]) -> list[str]:
    """Rule queries and keywords that do not parse, read from the raw data so that they are
    reported together with every other problem."""
    from monitor.rules import validate_keyword, validate_query

    problems: list[str] = []
    rules = data.get("rules") if isinstance(data, dict) else None
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, dict):
            continue
        checks: list[tuple[Path_, Any, Callable[[str], None], str]] = [
            (("rules", i, "query"), rule.get("query"), validate_query, "bad query")
        ]
        for field in ("keywords", "exclude"):
            values = rule.get(field)
            for j, text in enumerate(values if isinstance(values, list) else []):
                checks.append((("rules", i, field, j), text, validate_keyword, "bad keyword"))
        for path, text, check, what in checks:
            if not isinstance(text, str) or not text:
                continue
            try:
                check(text)
            except QueryError as exc:
                pos = f" at position {exc.position}" if exc.position is not None else ""
                problems.append(
                    f"{filename}:{_line_of(path, lines)}: {_dotted(path, data)}: {what}{pos}: {exc}"
                )
    return problems
