"""robots.txt rules as RFC 9309 defines them: groups, longest match, ``*`` and ``$``.

``urllib.robotparser`` applies the first matching rule in file order and knows no wildcards, so
``Disallow: /`` followed by ``Allow: /news/`` would block the news; this module does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

PRODUCT_TOKEN = "monitor"
_SAFE = "/?&=:;@!$'()*+,~-._"


def _normalize(text: str) -> str:
    """One percent-encoding for both rules and paths, so ``%7E`` and ``~`` compare equal."""
    return quote(unquote(text), safe=_SAFE)


@dataclass(frozen=True)
class _Rule:
    allow: bool
    pattern: str
    regex: re.Pattern[str]

    @classmethod
    def make(cls, allow: bool, value: str) -> _Rule:
        pattern = _normalize(value)
        anchored = pattern.endswith("$")
        body = pattern[:-1] if anchored else pattern
        regex = ".*".join(re.escape(part) for part in body.split("*")) + ("$" if anchored else "")
        return cls(allow, pattern, re.compile(regex))


class Robots:
    """The rules of one robots.txt that apply to one product token."""

    def __init__(self, rules: list[_Rule], *, reason: str = "") -> None:
        self._rules = rules
        self.reason = reason  # why everything is refused (robots.txt unreachable), if it is

    @classmethod
    def allow_all(cls) -> Robots:
        return cls([])

    @classmethod
    def disallow_all(cls, reason: str) -> Robots:
        return cls([_Rule.make(False, "/")], reason=reason)

    @classmethod
    def parse(cls, text: str, agent: str = PRODUCT_TOKEN) -> Robots:
        """Parse robots.txt text; keep the groups naming ``agent``, else those for ``*``."""
        groups: dict[str, list[_Rule]] = {}
        current: list[str] = []
        in_agents = False
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            if ":" not in line:
                continue
            key, value = (part.strip() for part in line.split(":", 1))
            key = key.lower()
            if key == "user-agent":
                if not in_agents:
                    current = []
                    in_agents = True
                token = re.split(r"[/\s]", value, maxsplit=1)[0].lower()
                current.append(token)
                groups.setdefault(token, [])
            elif key in ("allow", "disallow"):
                in_agents = False
                if value and current:
                    for token in current:
                        groups[token].append(_Rule.make(key == "allow", value))
        rules = groups.get(agent.lower())
        if rules is None:
            rules = groups.get("*", [])
        return cls(rules)

    def allowed(self, url: str) -> bool:
        """May ``url`` (absolute, or a path with query) be fetched?"""
        parts = urlsplit(url)
        path = parts.path or "/"
        if path == "/robots.txt":
            return True
        if parts.query:
            path += "?" + parts.query
        path = _normalize(path)
        best: _Rule | None = None
        for rule in self._rules:
            if not rule.regex.match(path):
                continue
            if (
                best is None
                or len(rule.pattern) > len(best.pattern)
                or (len(rule.pattern) == len(best.pattern) and rule.allow)
            ):
                best = rule
        return True if best is None else best.allow
