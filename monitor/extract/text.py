"""HTML cleanup, block text and main-content detection, shared by every extraction path.

``blocks(root)`` walks a subtree once and returns its text as paragraph-sized :class:`Block`s,
skipping scripts, styles, hidden elements and boilerplate (navigation, share and print
tools, comments, cookie banners, related links, footers) found by tag, role and class/id.
``main_blocks(tree)`` scores block containers by text length, commas and link density
(the readability idea) and returns the blocks of the main content block and its siblings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from selectolax.lexbor import LexborHTMLParser, LexborNode

# Elements whose content is never article text.
SKIP_TAGS = frozenset(
    "script style noscript template svg math iframe canvas object embed button select option "
    "input textarea label nav aside footer head link meta dialog video audio source map area "
    "title base frame frameset applet datalist output progress meter".split()
)
# Elements that start a new block of text.
BLOCK_TAGS = frozenset(
    "address article blockquote center dd details dir div dl dt fieldset figcaption figure "
    "form h1 h2 h3 h4 h5 h6 header hgroup hr li main menu ol p pre section summary table "
    "tbody tfoot thead tr ul caption legend body html br".split()
)
_CELLS = frozenset({"td", "th"})  # inline: a table row is one line of text
HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
# Blocks that are a paragraph of their own (scored on their parent, not on themselves).
_PARAGRAPHS = frozenset("p pre td li dd dt blockquote figcaption th h1 h2 h3 h4 h5 h6".split())
_EXEMPT = frozenset({"html", "body", "main", "article"})
_SKIP_ROLES = frozenset(
    {"navigation", "complementary", "banner", "contentinfo", "dialog", "alertdialog", "menu",
     "menubar", "search", "toolbar", "tablist"}
)
_HIDDEN_CLASSES = frozenset(
    {"hidden", "sr-only", "visually-hidden", "visuallyhidden", "screen-reader-text", "d-none",
     "element-invisible", "offscreen", "invisible"}
)
# class/id words that mark boilerplate whatever else the class says
_STRONG_NEG = frozenset(
    """cookie cookies consent gdpr share shares sharing sharebar social socials comment comments
    disqus outbrain taboola newsletter subscribe subscription promo promos advert adverts
    advertisement advertising ad ads adsense adslot sponsor sponsored breadcrumb breadcrumbs
    pagination pager popup modal print related relateds recommended recommendations trending
    tags tagcloud keywords byline toolbar login signup rss addthis sociallinks paywall
    """.split()
)
# class/id words that mark boilerplate unless the class also says it is content
_WEAK_NEG = frozenset(
    """nav navbar navigation menu footer sidebar meta author authors widget widgets banner
    masthead aside skip jump popular more extra bottom links foot topbar utility utils
    """.split()
)
# "widget" marks sidebars but also page-builder wrappers of the content: no score penalty
_PENALISED = (_STRONG_NEG | _WEAK_NEG | {"header"}) - {"widget", "widgets"}
_EMBEDS = frozenset({"embed", "embedded", "tweet"})
_POSITIVE = frozenset(
    "article content entry post story body text main column news release publication".split()
)
_CAPTION = frozenset({"caption", "captions", "figcaption", "credit", "credits", "copyright"})
_WORD_SPLIT = re.compile(r"[A-Z]?[a-z]+|[0-9]+|[A-Z]+(?![a-z])")
_STYLE_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden")

_INVISIBLE_RE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_COMMAS = re.compile(r"[,，、;；]")
_MAX_DEPTH = 300
_MIN_CONTENT = 200  # characters of main content below which detection is retried


def clean_text(text: str) -> str:
    """One paragraph's text: soft hyphens and zero-width characters removed, spaces collapsed."""
    if _INVISIBLE_RE.search(text):
        text = _INVISIBLE_RE.sub("", text)
    return " ".join(text.split())  # str.split() knows every Unicode space, NBSP included


@lru_cache(maxsize=4096)
def class_words(value: str) -> frozenset[str]:
    """The lower-case words of a class/id string ("articleBody share-bar" -> article, body...)."""
    return frozenset(w.lower() for w in _WORD_SPLIT.findall(value))


@lru_cache(maxsize=4096)
def boilerplate_level(value: str) -> int:
    """2 when a class/id string surely names boilerplate (sharing, comments, ads, cookies),
    1 when it probably does (navigation, sidebar, widget: not also content), else 0."""
    words = class_words(value)
    if not words.isdisjoint(_EMBEDS):  # a quoted post is part of the story
        return 0
    if not words.isdisjoint(_STRONG_NEG):
        return 2
    return 1 if not words.isdisjoint(_WEAK_NEG) and words.isdisjoint(_POSITIVE) else 0


def is_boilerplate_class(value: str) -> bool:
    """True when a class/id string names navigation, sharing, comments, ads and the like."""
    return boilerplate_level(value) > 0


@lru_cache(maxsize=4096)
def is_caption_class(value: str) -> bool:
    """True when a class/id string names an image caption or credit."""
    return not _CAPTION.isdisjoint(class_words(value))


@lru_cache(maxsize=4096)
def class_weight(value: str) -> int:
    """Readability's class weight: +25 for content-like names, -25 for boilerplate-like."""
    words = class_words(value)
    weight = 0
    if words & _POSITIVE:
        weight += 25
    if not words.isdisjoint(_PENALISED):
        weight -= 25
    return weight


class Block:
    """A paragraph of text with the block elements it sits in (nearest first)."""

    __slots__ = ("text", "tag", "links", "ancestors", "marks", "caption")

    def __init__(
        self,
        text: str,
        tag: str,
        links: int,
        ancestors: tuple[int, ...],
        marks: tuple[int, ...] = (),
        caption: bool = False,
    ) -> None:
        self.text = text
        self.tag = tag
        self.links = links
        self.ancestors = ancestors
        self.marks = marks  # ancestors whose class/id names boilerplate
        self.caption = caption  # inside <figcaption> or a caption/credit element

    @property
    def link_density(self) -> float:
        return self.links / len(self.text) if self.text else 0.0

    def __repr__(self) -> str:
        return f"Block({self.tag}, {self.text[:40]!r})"


class Walk:
    """One pass over a subtree that collects :class:`Block`s and facts about their elements."""

    def __init__(
        self, *, removed: Iterable[int] = (), clean: bool = True, noscript: bool = False
    ) -> None:
        self.blocks: list[Block] = []
        self.removed = set(removed)
        self.clean = clean
        self.skip_tags = SKIP_TAGS - {"noscript"} if noscript else SKIP_TAGS
        self.attrs: dict[int, str] = {}  # element id -> "class id" string
        self.tags: dict[int, str] = {}  # element id -> tag
        self.parent: dict[int, int] = {}  # element id -> block-level parent id
        self._buf: list[str] = []
        self._links = 0
        self._stack: list[int] = []
        self._marks: list[int] = []
        self._captions = 0
        self.boilerplate: set[int] = set()  # marked elements confirmed as boilerplate
        self.strong: set[int] = set()  # marked elements whose names are sure signs

    def run(self, root: LexborNode) -> Walk:
        rid = root.mem_id
        self.tags[rid] = root.tag or ""
        self._stack.append(rid)
        self._visit(root, False, 0)
        self._flush()
        self._stack.pop()
        self._confirm_marks()
        return self

    def _confirm_marks(self) -> None:
        """A marked element that holds most of the page's prose is a wrapper, not boilerplate."""
        if not self.clean:
            return
        prose: dict[int, int] = {}
        total = 0
        for block in self.blocks:
            n = len(block.text) - block.links
            total += n
            for mark in block.marks:
                prose[mark] = prose.get(mark, 0) + n
        self.boilerplate = {m for m, n in prose.items() if n < total * 0.5}

    def is_boilerplate(self, block: Block) -> bool:
        return not self.boilerplate.isdisjoint(block.marks)

    def _flush(self) -> None:
        if not self._buf:
            return
        text = clean_text("".join(self._buf))
        if text:
            ancestors = tuple(reversed(self._stack))
            self.blocks.append(
                Block(
                    text,
                    self.tags.get(ancestors[0], ""),
                    min(self._links, len(text)),
                    ancestors,
                    tuple(self._marks),
                    self._captions > 0,
                )
            )
        self._buf = []
        self._links = 0

    def _hidden(self, attrs: dict[str, str | None], tag: str) -> bool:
        if "hidden" in attrs or attrs.get("aria-hidden") == "true":
            return True
        style = attrs.get("style")
        if style and _STYLE_HIDDEN.search(style):
            return True
        role = attrs.get("role")
        if role and role in _SKIP_ROLES:
            return True
        cls = attrs.get("class")
        return cls is not None and tag not in _EXEMPT and not _HIDDEN_CLASSES.isdisjoint(
            cls.split()
        )

    def _visit(self, node: LexborNode, in_link: bool, depth: int) -> None:
        buf = self._buf
        child = node.child
        while child is not None:
            tag = child.tag or ""
            if tag == "-text":
                text = child.text_content
                if text:
                    if not text.isspace():
                        buf.append(text)
                        if in_link:
                            self._links += len(text.strip())
                    elif buf:
                        buf.append(" ")
                child = child.next
                continue
            if tag[:1] == "-" or tag in self.skip_tags or tag == "img" or tag == "picture":
                child = child.next
                continue
            if tag == "br" or tag == "hr":
                self._flush()
                buf = self._buf
                child = child.next
                continue
            if depth > _MAX_DEPTH:
                buf.append(child.text(deep=True, separator=" "))
                child = child.next
                continue
            cid = child.mem_id
            if cid in self.removed:
                child = child.next
                continue
            attrs = child.attributes
            name = ""
            marked = False
            if attrs and self.clean:
                if (
                    "hidden" in attrs
                    or "aria-hidden" in attrs
                    or "style" in attrs
                    or "role" in attrs
                    or "class" in attrs
                ) and self._hidden(attrs, tag):
                    child = child.next
                    continue
                name = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
                level = boilerplate_level(name) if tag not in _EXEMPT and name != " " else 0
                marked = level > 0
                if level == 2:
                    self.strong.add(cid)
            block = tag in BLOCK_TAGS
            caption = tag == "figcaption" or (bool(name) and is_caption_class(name))
            if block or marked or caption:
                self._flush()
            if marked:
                self._marks.append(cid)
            if caption:
                self._captions += 1
            if block:
                self.parent[cid] = self._stack[-1]
                self.tags[cid] = tag
                if name:
                    self.attrs[cid] = name
                self._stack.append(cid)
                self._visit(child, in_link, depth + 1)
                self._flush()
                self._stack.pop()
            else:
                if tag in _CELLS:
                    self._buf.append(" ")
                self._visit(child, in_link or tag == "a", depth + 1)
                if tag in _CELLS:
                    self._buf.append(" ")
                if marked:
                    self._flush()
            if caption:
                self._flush()
                self._captions -= 1
            if marked:
                self._marks.pop()
            buf = self._buf
            child = child.next


def blocks(root: LexborNode, *, removed: Iterable[int] = (), clean: bool = True) -> list[Block]:
    """The text blocks of ``root``'s subtree, in document order."""
    walk = Walk(removed=removed, clean=clean).run(root)
    return [b for b in walk.blocks if not walk.is_boilerplate(b)]


_TAG_SCORE = {
    "div": 5, "section": 5, "article": 10, "main": 5, "pre": 3, "td": 3, "blockquote": 3,
    "address": -3, "ol": -3, "ul": -3, "dl": -3, "dd": -3, "dt": -3, "li": -3, "form": -3,
    "h1": -5, "h2": -5, "h3": -5, "h4": -5, "h5": -5, "h6": -5, "th": -5, "header": -5,
}


def _block_score(block: Block) -> float:
    text = block.text
    return 1.0 + len(_COMMAS.findall(text)) + min(len(text) / 100.0, 3.0)


def main_blocks(walk: Walk) -> list[Block]:
    """The blocks of the page's main content: the best-scoring container and its kin.

    When that leaves next to nothing, the page's content sat in elements whose names only
    looked like boilerplate ("widget-container"): try again trusting only sure signs.
    """
    content = _main_blocks(walk)
    if sum(len(b.text) for b in content) < _MIN_CONTENT and walk.boilerplate - walk.strong:
        walk.boilerplate &= walk.strong
        retry = _main_blocks(walk)
        if sum(len(b.text) for b in retry) > sum(len(b.text) for b in content):
            return retry
    return content


def _main_blocks(walk: Walk) -> list[Block]:
    all_blocks = [b for b in walk.blocks if not walk.is_boilerplate(b)]
    if not all_blocks:
        return []
    scores: dict[int, float] = {}
    for block in all_blocks:
        if (
            block.tag in HEADINGS
            or len(block.text) < 25
            or block.link_density > 0.5
            or block.caption
        ):
            continue
        value = _block_score(block)
        start = 1 if block.tag in _PARAGRAPHS else 0
        for level, aid in enumerate(block.ancestors[start : start + 5]):
            if aid not in scores:
                scores[aid] = _TAG_SCORE.get(walk.tags.get(aid, ""), 0)
            scores[aid] += value / (1 if level == 0 else 2 if level == 1 else level * 3)
    if not scores:
        return _fallback(all_blocks)
    # text and link characters under each scored element
    chars: dict[int, int] = dict.fromkeys(scores, 0)
    links: dict[int, int] = dict.fromkeys(scores, 0)
    for block in all_blocks:
        n = len(block.text)
        for aid in block.ancestors:
            if aid in chars:
                chars[aid] += n
                links[aid] += block.links
    final = {}
    for aid, score in scores.items():
        weight = class_weight(walk.attrs.get(aid, ""))
        if weight > 0 and chars[aid] < _MIN_CONTENT:  # "main-media": a name, not content
            weight = 0
        density = links[aid] / chars[aid] if chars[aid] else 0.0
        final[aid] = (score + weight) * (1.0 - density)
    ranked = sorted(final, key=final.__getitem__, reverse=True)
    top = ranked[0]
    top = _common_ancestor(walk, top, ranked[1:5], final)
    top = _climb(walk, top, final)
    chosen = _with_siblings(walk, top, final, all_blocks)
    return [b for b in all_blocks if not chosen.isdisjoint(b.ancestors)]


def _fallback(all_blocks: Sequence[Block]) -> list[Block]:
    return [b for b in all_blocks if b.link_density <= 0.5]


def _ancestors(walk: Walk, aid: int) -> list[int]:
    out = []
    parent = walk.parent.get(aid)
    while parent is not None:
        out.append(parent)
        parent = walk.parent.get(parent)
    return out


def _common_ancestor(walk: Walk, top: int, others: Sequence[int], final: dict[int, float]) -> int:
    """When three of the best candidates share an ancestor, the ancestor is the content."""
    close = [o for o in others if final[o] >= final[top] * 0.75]
    if len(close) < 2:
        return top
    lists = [set(_ancestors(walk, o)) for o in close]
    for ancestor in _ancestors(walk, top):
        if walk.tags.get(ancestor) in ("body", "html"):
            break
        if sum(ancestor in anc for anc in lists) >= 2:
            return ancestor
    return top


def _climb(walk: Walk, top: int, final: dict[int, float]) -> int:
    """Move up while a parent scores better (content split over several children)."""
    last = final.get(top, 0.0)
    threshold = last / 3
    parent = walk.parent.get(top)
    while parent is not None and walk.tags.get(parent) not in ("body", "html"):
        score = final.get(parent)
        if score is None:
            parent = walk.parent.get(parent)
            continue
        if score < threshold:
            break
        if score > last:
            top = parent
            break
        last = score
        parent = walk.parent.get(parent)
    return top


def _with_siblings(
    walk: Walk, top: int, final: dict[int, float], all_blocks: Sequence[Block]
) -> set[int]:
    chosen = {top}
    parent = walk.parent.get(top)
    if parent is None:
        return chosen
    top_score = final.get(top, 0.0)
    threshold = max(10.0, top_score * 0.2)
    top_class = walk.attrs.get(top, "").strip()
    siblings = [cid for cid, pid in walk.parent.items() if pid == parent and cid != top]
    texts: dict[int, list[Block]] = {}
    if siblings:
        wanted = set(siblings)
        for block in all_blocks:
            for aid in block.ancestors:
                if aid in wanted:
                    texts.setdefault(aid, []).append(block)
                    break
    for sid in siblings:
        bonus = top_score * 0.2 if top_class and walk.attrs.get(sid, "").strip() == top_class else 0
        if final.get(sid, 0.0) + bonus >= threshold:
            chosen.add(sid)
        elif _is_prose(texts.get(sid, [])):
            chosen.add(sid)
    return chosen


def _is_prose(own: Sequence[Block]) -> bool:
    """A paragraph-like sibling: one or two paragraphs of sentences with few links."""
    if not own or len(own) > 2 or any(b.tag not in ("p", "div") or b.caption for b in own):
        return False
    n = sum(len(b.text) for b in own)
    density = sum(b.links for b in own) / n if n else 1.0
    last = own[-1].text
    return (n > 80 and density < 0.25) or (0 < n <= 80 and density == 0 and last[-1:] in ".!?")


def parse(html: str) -> LexborHTMLParser:
    return LexborHTMLParser(html)
