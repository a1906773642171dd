"""Rule matching speed: monitor.rules.RuleSet with 10,000 rules over 5,000 articles, against the
floor of a bare pyahocorasick scan of the same rules' terms over the same text in the same run.

Articles: English ones are sentences drawn from real text (../shared/seeds and the bodies of
../shared/corpora/extraction, when present; otherwise generated words), Russian ones generated
from Cyrillic syllables with real Russian endings (so the stemmer has work to do). Rules mix
words, phrases (half real bigrams), proximity, AND / OR / NOT, prefixes, ``title:`` fields and
keywords/exclude, over the articles' vocabulary beyond its 1,000 most common words.

Scaling: 1,000 rules, then the same 1,000 plus 9,000 rules over words no article contains, so
the candidate count per article is the same and only the number of rules grows.

Run: .venv/bin/python tests/benchmarks/bench_rules.py [--rules N] [--articles N]
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

SHARED = Path(__file__).resolve().parents[3] / "shared"
CORPUS = SHARED / "corpora" / "extraction"
SEEDS = SHARED / "seeds"

_RU_SYLLABLES = [
    "ба", "ве", "го", "да", "ре", "ко", "ла", "ми", "но", "по", "ра", "си", "то", "фу", "ху",
    "це", "ча", "ше", "за", "же", "ни", "ту", "сто", "про", "вла", "гра", "кре", "стра",
]
_RU_ENDINGS = ["", "а", "ы", "ов", "ами", "ах", "е", "ой", "ому", "ость", "ости", "ение", "ения"]


def _sentences() -> tuple[list[str], str]:
    texts: list[str] = []
    if SEEDS.is_dir():
        texts += [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    note = "real text: seeds"
    if (CORPUS / "truth.json").exists():
        truth = json.loads((CORPUS / "truth.json").read_text(encoding="utf-8"))
        texts += [v["body"] for v in truth.values()]
        note += " + corpora/extraction bodies"
    else:
        note += " (corpora/extraction absent: skipped, generated English words instead)"
    out: list[str] = []
    for t in texts:
        out += [s.strip() for s in re.split(r"(?<=[.!?])\s+", t) if len(s.split()) >= 4]
    return out, note


def _generated_english(rng: random.Random, n: int) -> list[str]:
    letters = "etaoinshrdlucmfwypvbgk"
    vocab = ["".join(rng.choices(letters, k=rng.randint(3, 10))) for _ in range(20000)]
    weights = [1 / (r + 10) for r in range(len(vocab))]
    return [
        " ".join(rng.choices(vocab, weights, k=rng.randint(8, 30))) + "." for _ in range(n)
    ]


def _russian_vocab(rng: random.Random) -> list[str]:
    stems = {"".join(rng.choices(_RU_SYLLABLES, k=rng.randint(2, 5))) for _ in range(40000)}
    return sorted(stems)


def _names(rng: random.Random, syllables: list[str], n: int) -> list[str]:
    """Synthetic proper names (people, places, bodies): the long tail rules mostly watch."""
    out: set[str] = set()
    while len(out) < n:
        out.add("".join(rng.choices(syllables, k=rng.randint(2, 4))).capitalize())
    return sorted(out)


_EN_SYLLABLES = [
    "ka", "vo", "ren", "mis", "tra", "la", "bel", "dor", "gan", "sul", "ter", "ix", "pho",
    "nar", "quin", "zel", "mar", "ost", "lin", "dra", "cor", "vex", "tum", "pel", "bra",
]


class Corpus:
    """Articles plus the vocabularies the rules draw from."""

    def __init__(self, rng: random.Random, n: int, names: int = 50_000) -> None:
        sentences, self.note = _sentences()
        if len(sentences) < 200:
            sentences += _generated_english(rng, 3000)
        self.names = {"en": _names(rng, _EN_SYLLABLES, names),
                      "ru": _names(rng, _RU_SYLLABLES, names)}
        zipf = [1 / (r + 1) ** 1.1 for r in range(names)]
        cum = list(itertools.accumulate(zipf))
        ru_stems = _russian_vocab(rng)
        ru_cum = list(itertools.accumulate(1 / (r + 10) for r in range(len(ru_stems))))
        self.articles: list[tuple[str, str, str]] = []
        for i in range(n):
            lang = "ru" if i % 5 == 4 else "en"
            names_ = self.names[lang]
            if lang == "ru":
                words = [
                    s + rng.choice(_RU_ENDINGS)
                    for s in rng.choices(ru_stems, cum_weights=ru_cum, k=rng.randint(250, 600))
                ]
                sents = [" ".join(words[j : j + 15]) + "." for j in range(0, len(words), 15)]
            else:
                sents, count, size = [], 0, rng.randint(250, 600)
                while count < size:
                    sents.append(rng.choice(sentences))
                    count += len(sents[-1].split())
            # one to three names a sentence, as in news (people, places, bodies)
            sents = [
                s + " " + " ".join(rng.choices(names_, cum_weights=cum, k=rng.randint(1, 3)))
                for s in sents
            ]
            title = " ".join(rng.choice(sents).split()[:12])
            self.articles.append((lang, title, " ".join(sents)))
        self.words = {lang: _vocab(self.articles, lang) for lang in ("en", "ru")}


def _vocab(articles: list[tuple[str, str, str]], lang: str) -> tuple[list[str], list[str]]:
    """Words beyond the 1,000 most common, and bigrams of such words, of one language."""
    counts: Counter[str] = Counter()
    texts = [body for language, _, body in articles[:1500] if language == lang]
    for body in texts:
        counts.update(re.findall(r"[^\W\d_]{3,}", body.lower()))
    ranked = [w for w, _ in counts.most_common()]
    rare = set(ranked[1000:])
    bigrams = []
    for body in texts[:300]:
        ws = re.findall(r"[^\W\d_]+", body.lower())
        bigrams += [f"{a} {b}" for a, b in zip(ws, ws[1:], strict=False) if a in rare and b in rare]
    return ranked[1000:], bigrams or ["no bigram"]


def make_rules(rng: random.Random, corpus: Corpus, n: int, dead: bool = False,
               names_share: float = 0.85) -> list:
    """``names_share`` of the words are names (the long tail), the rest rarer real words."""
    from monitor.config import RuleConfig

    def pick_word(lang: str) -> str:
        if dead:  # words no article contains
            return "qz" + "".join(rng.choices("bcdfghjklmnpqrstvwxz", k=6))
        if rng.random() < names_share:
            return rng.choice(corpus.names[lang])
        return rng.choice(corpus.words[lang][0])

    def pair(lang: str) -> str:
        if not dead and rng.random() < 0.5:
            return rng.choice(corpus.words[lang][1])
        return f"{pick_word(lang)} {pick_word(lang)}"

    rules = []
    for i in range(n):
        lang = "ru" if i % 5 == 4 else "en"
        w = functools.partial(pick_word, lang)
        bigram = functools.partial(pair, lang)
        kind = i % 20
        kw: dict = {}
        if kind < 5:
            q = w()
        elif kind < 8:
            q = f'"{bigram()}"'
        elif kind < 10:
            q = f'"{bigram()}"~5'
        elif kind < 13:
            q = f"{w()} AND {w()}"
        elif kind < 15:
            q = f"{w()} OR {w()} OR {w()}"
        elif kind < 17:
            q = f"({w()} OR {w()}) AND NOT {w()}"
        elif kind < 18:
            word = w()
            q = f"{word[: max(5, len(word) - 2)]}* -{w()}"
        elif kind < 19:
            q = f"title:({w()} OR {w()}) {w()}"
        else:
            q = None
            kw = {"keywords": [w(), bigram()], "exclude": [w()]}
        rules.append(RuleConfig(name=f"r{i}{'d' if dead else ''}", query=q, **kw))
    return rules


def rule_terms(rules: list) -> list[str]:
    """Every word, phrase and prefix the rules name, normalised (the floor's automaton keys)."""
    from luqum.parser import parser
    from luqum.tree import Phrase, Word

    from monitor.textnorm import normalize

    terms: set[str] = set()
    for r in rules:
        texts = list(r.keywords) + list(r.exclude)
        if r.query:
            for node in _walk(parser.parse(r.query)):
                if isinstance(node, Word | Phrase):
                    texts.append(node.value.strip('"'))
        terms |= {normalize(t).rstrip("*") for t in texts}
    return sorted(t for t in terms if t)


def _walk(node):  # type: ignore[no-untyped-def]
    yield node
    for c in node.children:
        yield from _walk(c)


def _pass(rs: object, docs: list) -> tuple[float, int]:
    matched = 0
    t0 = time.process_time()
    for d in docs:
        matched += len(rs.match(d))  # type: ignore[attr-defined]
    return (time.process_time() - t0) / len(docs) * 1000, matched


def _automaton(terms: list[str]):  # type: ignore[no-untyped-def]
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for i, t in enumerate(terms):
        automaton.add_word(t, i)
    automaton.make_automaton()
    return automaton


def _floor_pass(automaton, docs: list) -> float:  # type: ignore[no-untyped-def]
    """A bare Aho-Corasick scan: which terms occur anywhere in the folded text (no word
    boundaries, no stems, no rule logic)."""
    from monitor.stem import fold

    t0 = time.process_time()
    for d in docs:
        found = set()
        for _, value in automaton.iter(fold(d.title + "\n" + d.body)):
            found.add(value)
    return (time.process_time() - t0) / len(docs) * 1000


def measure(cases: list[tuple[str, list]], docs: list, rounds: int = 3) -> list[dict]:
    """Rounds interleave the cases (the machine may be shared): the best round counts; the
    first round is also reported (cold stem cache)."""
    from monitor.rules import RuleSet

    prepared = []
    for case, rules in cases:
        t0 = time.process_time()
        rs = RuleSet.compile(rules)
        compile_s = time.process_time() - t0
        terms = rule_terms(rules)
        prepared.append((case, rules, rs, compile_s, terms, _automaton(terms)))
    best: dict[str, dict] = {}
    for _ in range(rounds):
        for case, rules, rs, compile_s, terms, automaton in prepared:
            rs.evaluations = 0
            ms, matched = _pass(rs, docs)
            floor = _floor_pass(automaton, docs)
            row = best.setdefault(case, {
                "case": case, "rules": len(rules), "terms": len(terms), "compile_s": compile_s,
                "ms_first": ms, "ms_per_article": ms, "floor_ms": floor,
                "candidates_per_article": rs.evaluations / len(docs),
                "matches_per_article": matched / len(docs),
            })
            row["ms_per_article"] = min(row["ms_per_article"], ms)
            row["floor_ms"] = min(row["floor_ms"], floor)
    rows = list(best.values())
    for row in rows:
        row["ratio"] = row["ms_per_article"] / row["floor_ms"]
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rules", type=int, default=10_000)
    ap.add_argument("--articles", type=int, default=5_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--broad", action="store_true",
                    help="also run rules over common real words only (many candidates)")
    args = ap.parse_args(argv if argv is not None else [])
    from monitor.rules import Document

    rng = random.Random(20211208)
    corpus = Corpus(rng, args.articles)
    articles = corpus.articles
    print(f"articles: {len(articles)} ({corpus.note}, plus generated names); "
          f"mean {sum(len(b.split()) for _, _, b in articles) / len(articles):.0f} words")
    docs = [Document("src", t, b, lang) for lang, t, b in articles]
    rules = make_rules(rng, corpus, args.rules)
    small = rules[: args.rules // 10]
    padded = small + make_rules(rng, corpus, args.rules - len(small), dead=True)
    cases = [("mixed", rules), ("scaling-small", small), ("scaling-padded", padded)]
    if args.broad:
        cases.append(("broad", make_rules(rng, corpus, args.rules, names_share=0.0)))

    rows = measure(cases, docs, rounds=args.rounds)

    print("CPU ms per article (time.process_time; best of the rounds, 'cold' = first round);")
    print("floor = bare pyahocorasick scan of the same rules' terms over the same folded text")
    print(f"{'case':<15} {'rules':>6} {'ms/art':>7} {'cold':>7} {'floor':>7} {'ratio':>6} "
          f"{'cand/art':>9} {'match/art':>9} {'compile':>8}")
    for r in rows:
        print(f"{r['case']:<15} {r['rules']:>6} {r['ms_per_article']:>7.3f} {r['ms_first']:>7.3f} "
              f"{r['floor_ms']:>7.3f} {r['ratio']:>6.2f} {r['candidates_per_article']:>9.1f} "
              f"{r['matches_per_article']:>9.2f} {r['compile_s']:>7.2f}s")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
