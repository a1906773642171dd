"""``monitor rules check [-c FILE] RULE [--since DATE] [--limit N]``: try a rule on stored articles.

Prints what the rule would match (date, source, title, URL, matched terms and a snippet with the
terms in [brackets]), most recently stored first. Nothing is recorded and nothing is sent.
"""

from __future__ import annotations

import argparse

from monitor.commands import add_config_arg, open_store, parse_since
from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.models import StoredArticle
from monitor.rules import Document, RuleSet, snippet


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rules", help="work with watch rules (rules check RULE)")
    rsub = p.add_subparsers(dest="rules_command", metavar="SUBCOMMAND")
    c = rsub.add_parser(
        "check", help="show which stored articles a rule would match (sends nothing)"
    )
    add_config_arg(c)
    c.add_argument("rule", metavar="RULE", help="the rule's name in the config")
    c.add_argument("--since", type=parse_since, metavar="DATE",
                   help="only articles published since DATE (2021-12-08) or this long ago (7d)")
    c.add_argument("--limit", type=int, default=20, metavar="N",
                   help="show at most N matches (default 20; 0: all)")
    c.set_defaults(func=check)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def document(a: StoredArticle) -> Document:
    return Document(
        source=a.source, title=a.title, body=a.body, language=a.language,
        attribution=a.attribution, category=a.category,
    )


def check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    try:
        rule = config.rule(args.rule)
    except KeyError:
        names = ", ".join(r.name for r in config.rules) or "none"
        raise ConfigError(f"no rule named {args.rule!r} (rules: {names})") from None
    ruleset = RuleSet.compile([rule])
    store = open_store(config)
    seen = shown = 0
    try:
        for a in store.articles(since=args.since, newest_first=True):
            seen += 1
            found = ruleset.match(document(a))
            if not found:
                continue
            shown += 1
            terms = found[0].terms
            date = (a.published_at or a.first_seen_at or "")[:16].replace("T", " ")
            dup = f"  (duplicate of #{a.duplicate_of})" if a.duplicate_of else ""
            print(f"{date}  [{a.source}] {a.title}{dup}")
            print(f"    {a.url}")
            print(f"    terms: {', '.join(terms) if terms else '(none: the rule only excludes)'}")
            text, spans = snippet(a.body, terms, language=a.language, width=200)
            if text:
                print(f"    {_mark(text, spans)}")
            if args.limit and shown >= args.limit:
                break
    finally:
        store.close()
    more = " (limit reached)" if args.limit and shown >= args.limit else ""
    print(f"rule {rule.name!r}: {shown} match(es) in {seen} article(s) checked{more}; "
          "nothing was sent")
    return 0


def _mark(text: str, spans: list[tuple[int, int]]) -> str:
    out, last = [], 0
    for start, end in spans:
        out += [text[last:start], "[", text[start:end], "]"]
        last = end
    out.append(text[last:])
    return "".join(out)
