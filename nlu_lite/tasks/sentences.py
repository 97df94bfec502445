"""A dependency-light, rule-based sentence splitter that returns character spans.

It splits after ``.``, ``!``, ``?``, ``…`` (and runs of them, with closing quotes or brackets
that follow) when whitespace and then a plausible sentence start come next; after the CJK full
stops ``。！？`` without needing whitespace; and at blank lines.  It does not split after
common abbreviations (``Dr.``, ``e.g.``, ``etc.``, ``U.S.``), single-letter initials
(``J. R. R. Tolkien``), or inside numbers (``3.14``).  Spans never overlap, are stripped of
surrounding whitespace, and together hold every non-space character of the text.

Replace it with any callable ``text -> list[str]`` (the sentences, in order, as they stand in the
text) or ``text -> list[tuple[int, int]]`` (spans), e.g. a spaCy or NLTK splitter.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from nlu_lite.errors import InvalidOptionError
from nlu_lite.options import is_int

Splitter = Callable[[str], Sequence[str | tuple[int, int]]]

ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt ft vs etc e.g eg i.e ie cf al approx dept est fig figs inc ltd co corp
    jan feb mar apr jun jul aug sep sept oct nov dec no nos vol vols pp p ch sec art gen col lt sgt capt
    gov rev hon pres u.s u.k u.n e.u a.m p.m ph.d m.d b.a m.a b.sc d.c n.y l.a op ed eds resp
    """.split()
)

# a candidate end: terminal punctuation, optional closing quotes/brackets, then whitespace
_END = re.compile(r"""([.!?…]+|[。！？]+)(["'”’»)\]]*)(?=(\s+)|$)|([。！？]+)(["'”’」』)]*)""")
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")
_WORD_BEFORE = re.compile(r"([\w.]+)$")


def _is_abbreviation(text: str, dot: int) -> bool:
    """Is the '.' at ``dot`` part of an abbreviation or an initial rather than a sentence end?"""
    m = _WORD_BEFORE.search(text, max(0, dot - 40), dot)  # a bounded look-behind: linear in the text
    if not m:
        return False
    word = m.group(1).lower().strip(".")
    if not word:
        return False
    if word in ABBREVIATIONS:
        return True
    if len(word) == 1 and word.isalpha():  # an initial: "J. Smith"
        return True
    # dotted acronyms such as "u.s.a" or "e.g"
    return bool(re.fullmatch(r"(\w\.)+\w", word))


def _starts_sentence(text: str, pos: int) -> bool:
    """Does what follows ``pos`` look like the start of a new sentence?"""
    n = len(text)
    while pos < n and text[pos].isspace():
        pos += 1
    if pos >= n:
        return True
    ch = text[pos]
    if ch.islower():
        return False
    return not (ch in ",;:)" or ch == "]")


def split_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(begin, end)`` of ``text``; ``text[begin:end]`` is each sentence."""
    stripped_end = len(text.rstrip())
    if stripped_end == 0:
        return []
    first = _END.search(text)
    if (first is None or first.end() >= stripped_end) and "\n" not in text:
        # one sentence (the common case for short texts): no need for the full scan
        begin = len(text) - len(text.lstrip())
        return [(begin, stripped_end)]
    cuts = {len(text)}
    cuts.update(m.start() for m in _BLANK_LINE.finditer(text))
    for m in _END.finditer(text):
        cut = _cut_after(text, m)
        if cut is not None:
            cuts.add(cut)
    return _spans_between(text, sorted(cuts))


def _cut_after(text: str, m: re.Match[str]) -> int | None:
    """Where the candidate end ``m`` cuts the text, or None where it ends no sentence."""
    if m.group(4):  # CJK full stop, no whitespace needed
        return m.end()
    punct = m.group(1)
    end = m.end(2) if m.group(2) else m.end(1)
    if any(c in punct for c in "。！？"):
        return end
    if punct == "." and _is_abbreviation(text, m.start(1)):
        # an abbreviation ends a sentence only if a capitalised word does not follow closely
        # ("He lives in the U.S. He likes it." still splits at a line end or blank line)
        return None
    return end if _starts_sentence(text, end) else None


def _spans_between(text: str, cuts: Iterable[int]) -> list[tuple[int, int]]:
    """The stripped, non-empty pieces of ``text`` between consecutive ``cuts`` (in order)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for cut in cuts:
        seg = text[start:cut]
        stripped = seg.strip()
        if stripped:
            b = start + (len(seg) - len(seg.lstrip()))
            spans.append((b, b + len(stripped)))
        start = cut
    return spans


# every character str.isspace() holds for lies below U+3001 (checked by the tests), and so do
# the characters after which split_spans may cut: terminal punctuation and line breaks
_TABLE_SIZE = 0x10000
_SPACE, _CUT = 1, 2


@functools.cache
def _char_flags() -> np.ndarray:
    """_SPACE and _CUT flags of the first 65,536 code points (the rest have neither)."""
    flags = np.zeros(_TABLE_SIZE, dtype=np.uint8)
    flags[[c for c in range(0x3001) if chr(c).isspace()]] |= _SPACE
    flags[[ord(c) for c in ".!?…。！？\n"]] |= _CUT
    return flags


# Texts longer than this are split one by one: the array pass over all texts holds several arrays
# the size of all the text at once, the scan of one text only a few bytes per character.
LONG_TEXT = 1 << 16


# split_spans_many splits this many texts or fewer one by one (a single predict of a few texts)
FEW_TEXTS = 8


def _split_long_apart(texts: Sequence[str], lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """split_spans_many with the long texts split by :func:`split_spans` on their own."""
    long = lengths > LONG_TEXT
    short = np.flatnonzero(~long)
    si, sb, se = split_spans_many([texts[i] for i in short.tolist()])
    index, begin, end = [short[si]], [sb], [se]
    for t in np.flatnonzero(long).tolist():
        found = np.array(split_spans(texts[t]), dtype=np.int64).reshape(-1, 2)
        index.append(np.full(len(found), t, dtype=np.int64))
        begin.append(found[:, 0])
        end.append(found[:, 1])
    all_index = np.concatenate(index).astype(np.int64)
    order = np.argsort(all_index, kind="stable")  # text order; each text's spans stay in order
    return all_index[order], np.concatenate(begin)[order], np.concatenate(end)[order]


def split_spans_many(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sentence spans of many texts at once: ``(text index, begin, end)`` arrays, in order.

    The same spans as :func:`split_spans` on each text.  A text with no line break and no terminal
    punctuation before its last non-space character is one sentence, found with array operations
    over all texts together; only the others go through :func:`split_spans`.  FEW_TEXTS texts or
    fewer all go through it (a single predict): the array pass has a fixed cost of ~130 us.
    """
    n = len(texts)
    if n <= FEW_TEXTS:  # one by one: the array pass costs ~130 us whatever the count, one text ~2 us
        found = [split_spans(text) for text in texts]
        flat = np.array([span for spans in found for span in spans], dtype=np.int64).reshape(-1, 2)
        counts = np.fromiter(map(len, found), dtype=np.int64, count=n)
        return np.repeat(np.arange(n), counts), flat[:, 0].copy(), flat[:, 1].copy()
    return _split_array(texts)


def _split_array(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """split_spans_many's array pass over all texts together (see there)."""
    n = len(texts)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    if n and int(lengths.max()) > LONG_TEXT:
        return _split_long_apart(texts, lengths)
    edges = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=edges[1:])
    # one code point per character, lone surrogates included, so positions index the texts
    chars = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    flags = _char_flags()[np.minimum(chars, _TABLE_SIZE - 1)]
    flags[chars >= _TABLE_SIZE] = 0
    solid = np.flatnonzero((flags & _SPACE) == 0)
    lo = np.searchsorted(solid, edges[:-1], side="left")
    hi = np.searchsorted(solid, edges[1:], side="left") - 1
    has_text = hi >= lo
    padded = np.append(solid, 0)  # what texts without text read here is never used
    first, last = padded[lo], padded[np.maximum(hi, 0)]  # their first and last non-space character
    cuts = np.flatnonzero(flags & _CUT)
    before_last = np.searchsorted(cuts, last, side="left") - np.searchsorted(cuts, edges[:-1], side="left")
    # line breaks after the last non-space character are trailing space: they cut nothing
    simple = has_text & (before_last == 0)
    other = np.flatnonzero(has_text & ~simple)
    spans = {int(t): split_spans(texts[t]) for t in other.tolist()}
    counts = simple.astype(np.int64)
    for t, found in spans.items():
        counts[t] = len(found)
    out = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    begin = np.zeros(int(out[-1]), dtype=np.int64)
    end = np.zeros(int(out[-1]), dtype=np.int64)
    begin[out[:-1][simple]] = (first - edges[:-1])[simple]
    end[out[:-1][simple]] = (last + 1 - edges[:-1])[simple]
    for t, found in spans.items():
        if found:
            block = np.array(found, dtype=np.int64)
            begin[out[t] : out[t + 1]] = block[:, 0]
            end[out[t] : out[t + 1]] = block[:, 1]
    return np.repeat(np.arange(n), counts), begin, end


def run_splitter(splitter: Splitter | None, text: str) -> list[tuple[int, int]]:
    """Spans from the default splitter or a user's callable (strings are located in order)."""
    if splitter is None:
        return split_spans(text)
    result = splitter(text)
    if isinstance(result, (str, bytes)) or not isinstance(result, Iterable):  # a str would be its characters
        raise InvalidOptionError(
            "sentence_splitter",
            splitter,
            f"a callable returning a list of strings or (begin, end), not {type(result).__name__}",
        )
    spans: list[tuple[int, int]] = []
    pos = 0
    for item in result:
        if isinstance(item, str):
            if not item.strip():
                continue
            found = text.find(item, pos)
            if found < 0:
                raise InvalidOptionError(
                    "sentence_splitter",
                    splitter,
                    f"a callable whose sentences appear in the text in order; {item[:40]!r} does not",
                )
            spans.append((found, found + len(item)))
            pos = found + len(item)
        elif isinstance(item, tuple) and len(item) == 2 and all(is_int(v) for v in item):
            b, e = int(item[0]), int(item[1])
            if not 0 <= b <= e <= len(text) or b < pos:
                raise InvalidOptionError(
                    "sentence_splitter", splitter, "spans in order, inside the text, not overlapping"
                )
            if text[b:e].strip():
                spans.append((b, e))
            pos = e
        else:
            raise InvalidOptionError("sentence_splitter", splitter, "a callable returning strings or (begin, end)")
    return spans
