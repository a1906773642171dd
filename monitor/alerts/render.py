"""Alert views and their rendering with sandboxed Jinja2 templates.

Templates ship in ``monitor/alerts/templates/`` (``subject.j2``, ``text.j2``, ``html.j2`` for
matches and digests, ``health_*.j2`` for source health notices). A channel may override
``subject``, ``text`` and ``html``: a path to a file, or the template itself when it contains
``{{`` or ``{%``. Templates run in ``ImmutableSandboxedEnvironment`` with ``StrictUndefined``: a
template reaching for Python internals or a missing name fails, and the delivery is recorded as
dead with the reason (``PermanentDeliveryError``), never a crash.

Context of the subject/text/html templates::

    kind        "match" or "digest"
    rule        {"name", "query"}
    alerts      list of items (a digest has several); each item has the keys below
    title, source, date, link, snippet, language, matched, also, id
                the first (for a single alert: the only) item, at the top level
    count       len(alerts)

``snippet`` is highlighted: ``**word**`` in subject/text, ``<mark>word</mark>`` in html.
``also`` lists the other outlets that carried the story: ``{"source", "url", "title"}``.
Health templates get ``source``, ``state``, ``message``, ``id``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from monitor.alerts.message import Message
from monitor.config import Templates
from monitor.errors import PermanentDeliveryError
from monitor.rules import snippet
from monitor.store import AlertRow, Store
from monitor.timeutil import parse_iso

TEMPLATES_DIR = Path(__file__).parent / "templates"
SNIPPET_WIDTH = 240
SUBJECT_MAX = 200


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


# ---------------------------------------------------------------- highlighting

def make_snippet(
    text: str, terms: Sequence[str], *, language: str | None
) -> tuple[str, list[tuple[int, int]]]:
    """The rules module's snippet: the matched words found the way the rule matched them."""
    return snippet(text, list(terms), language=language, width=SNIPPET_WIDTH)


def marked_text(snippet: str, spans: Sequence[tuple[int, int]]) -> str:
    out, pos = [], 0
    for s, e in sorted(spans):
        if s < pos:
            continue
        out += [snippet[pos:s], "**", snippet[s:e], "**"]
        pos = e
    out.append(snippet[pos:])
    return "".join(out)


def marked_html(snippet: str, spans: Sequence[tuple[int, int]]) -> Markup:
    out, pos = [], 0
    for s, e in sorted(spans):
        if s < pos:
            continue
        out += [str(escape(snippet[pos:s])), "<mark>", str(escape(snippet[s:e])), "</mark>"]
        pos = e
    out.append(str(escape(snippet[pos:])))
    return Markup("".join(out))


# ---------------------------------------------------------------- views


def match_view(store: Store, row: AlertRow) -> dict[str, Any]:
    """The JSON-friendly view of a match alert, read from the store now."""
    if row.article_id is None:
        raise PermanentDeliveryError(f"alert {row.id} has no article")
    article = store.get_article(row.article_id)
    if article is None:
        raise PermanentDeliveryError(f"article {row.article_id} is no longer in the store")
    terms = [str(t) for t in row.payload.get("terms", [])]
    snippet, spans = make_snippet(article.body or article.title, terms, language=article.language)
    story = row.story_id if row.story_id is not None else article.id
    also = [
        {"source": m.source, "url": m.url, "title": m.title}
        for m in store.story_members(story)
        if m.id != article.id
    ]
    return {
        "id": row.id,
        "article": {
            "id": article.id,
            "url": article.url,
            "title": " ".join(article.title.split()),
            "source": article.source,
            "published_at": article.published_at or article.first_seen_at,
            "language": article.language,
            "snippet": snippet,
            "highlights": [list(s) for s in spans],
        },
        "matched": terms,
        "also": also,
    }


def health_view(row: AlertRow) -> dict[str, Any]:
    p = row.payload
    return {
        "id": row.id,
        "source": str(p.get("source", "")),
        "state": str(p.get("state", "")),
        "message": str(p.get("message", "")),
    }


# ---------------------------------------------------------------- templates


def _env(autoescape: bool) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


_TEXT_ENV = _env(False)
_HTML_ENV = _env(True)


def _format_date(value: str | None) -> str:
    dt: datetime | None = parse_iso(value) if value else None
    return dt.strftime("%Y-%m-%d %H:%M UTC") if dt else ""


def _item(view: dict[str, Any], html: bool) -> dict[str, Any]:
    a = view["article"]
    spans = [tuple(s) for s in a.get("highlights", [])]
    snippet: str | Markup = (
        marked_html(a["snippet"], spans) if html else marked_text(a["snippet"], spans)
    )
    return {
        "id": view["id"],
        "title": a["title"],
        "source": a["source"],
        "date": _format_date(a.get("published_at")),
        "link": a["url"],
        "snippet": snippet,
        "language": a.get("language"),
        "matched": list(view.get("matched", [])),
        "also": list(view.get("also", [])),
    }


def context(message: Message, *, html: bool) -> dict[str, Any]:
    """The template context of a message (see the module docstring)."""
    if message.kind == "health":
        return dict(message.alerts[0])
    items = [_item(v, html) for v in message.alerts]
    ctx: dict[str, Any] = dict(items[0]) if items else {}
    ctx.update(
        kind=message.kind,
        rule=dict(message.rule or {"name": "", "query": None}),
        alerts=items,
        count=len(items),
    )
    return ctx


def _template(
    env: ImmutableSandboxedEnvironment, override: str | None, default: str
) -> jinja2.Template:
    if override is None:
        return env.get_template(default)
    if "{{" in override or "{%" in override:
        return env.from_string(override)
    path = Path(override).expanduser()
    try:
        return env.from_string(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PermanentDeliveryError(
            f"cannot read template {path}: {exc.strerror or exc}"
        ) from exc


def clean_subject(text: str) -> str:
    """One line: CR, LF and other control characters become spaces; at most 200 characters."""
    line = re.sub(r"[\x00-\x1f\x7f\u2028\u2029\x85]+", " ", text)
    line = re.sub(r"\s+", " ", line).strip()
    return line if len(line) <= SUBJECT_MAX else line[: SUBJECT_MAX - 1].rstrip() + "…"


def render(message: Message, templates: Templates | None = None) -> Rendered:
    """Subject, text and HTML of a message. Template problems raise PermanentDeliveryError."""
    t = templates or Templates()
    health = message.kind == "health"
    prefix = "health_" if health else ""
    overrides = (None, None, None) if health else (t.subject, t.text, t.html)
    try:
        subject_t = _template(_TEXT_ENV, overrides[0], f"{prefix}subject.j2")
        text_t = _template(_TEXT_ENV, overrides[1], f"{prefix}text.j2")
        html_t = _template(_HTML_ENV, overrides[2], f"{prefix}html.j2")
        text_ctx = context(message, html=False)
        subject = clean_subject(subject_t.render(text_ctx))
        text = text_t.render(text_ctx)
        html = html_t.render(context(message, html=True))
    except PermanentDeliveryError:
        raise
    except jinja2.TemplateError as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, jinja2.TemplateSyntaxError) else ""
        raise PermanentDeliveryError(
            f"template error{where}: {type(exc).__name__}: {exc}"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - a template must never crash the sender
        raise PermanentDeliveryError(f"template error: {type(exc).__name__}: {exc}") from exc
    return Rendered(subject, text, html)
