"""Texts → word pieces → model windows → length-sorted, token-budget batches.

Everything is held in flat numpy arrays over all pieces of all texts ("units"), so that later
steps (scattering vectors back, pooling pieces into words) are vectorised, never a Python loop
per token.  A text longer than the model's window is split into overlapping windows; each piece
later takes its vector from the window in which it sits most centrally, so no word is dropped
and every vector sees as much context as the model allows.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nlu_lite.errors import InvalidOptionError


@dataclass(frozen=True)
class Pieces:
    """Word pieces of a list of texts, flattened.

    ``unit_start[u]:unit_start[u+1]`` are the pieces of text ``u``; ``word_start`` lists the
    first piece of each word (a word of the tokenizer's own pre-tokenisation), ``word_unit``
    its text.  Offsets are character offsets into the original text.
    """

    # per-piece and per-word arrays are int32 (a text of 2**31 characters is far beyond any
    # other limit): a long text's pieces cost half the memory; per-unit arrays stay int64
    ids: np.ndarray  # (P,) int32
    begin: np.ndarray  # (P,) int32
    end: np.ndarray  # (P,) int32
    unit_start: np.ndarray  # (U+1,) int64
    word_start: np.ndarray  # (W+1,) int32, pieces of word w: word_start[w]:word_start[w+1]
    word_unit: np.ndarray  # (W,) int32
    unit_word_start: np.ndarray  # (U+1,) int64
    # False: only ids and unit boundaries were kept (pooled levels need no offsets or words;
    # begin, end and the word arrays are then empty), a fifth of the memory of a long text
    spans: bool = True

    @property
    def n_units(self) -> int:
        return len(self.unit_start) - 1

    @property
    def n_words(self) -> int:
        return len(self.word_unit)

    @property
    def piece_unit(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_units), np.diff(self.unit_start))

    def word_begin(self) -> np.ndarray:
        assert self.spans, "tokenized without spans"
        return self.begin[self.word_start[:-1]]

    def word_end(self) -> np.ndarray:
        last = self.word_start[1:] - 1
        # a word's end is the furthest end among its pieces (byte-level pieces can overlap)
        if len(last) == 0:
            return last
        return np.maximum.reduceat(self.end, self.word_start[:-1]) if len(self.end) else last


# lone surrogates cannot be encoded as UTF-8 (nor tokenized): they become U+FFFD, one character for
# one, so that offsets still index the original text
_SURROGATE = re.compile("[\ud800-\udfff]")


# Long texts are tokenized in segments of about this many characters, cut before a single space
# between two non-spaces (where every tokenizer family starts a new word anyway), and texts are
# tokenized in groups of about GROUP_CHARS: the tokenizer's own per-character bookkeeping (many
# times the text's own size) then stays that of one group, whatever the length of a text.  Measured
# on one text of a few MB: tokenizing it in segments and groups peaked at a small fraction of the
# memory it took whole.
SEGMENT_CHARS = 1 << 16
GROUP_CHARS = 1 << 16
_CUT = re.compile(r"(?<=\S) (?=\S)")


def cut_points(text: str, segment_chars: int) -> list[int]:
    """Where to cut ``text`` into segments of at most about ``segment_chars`` characters: before
    a single space between two non-space characters; a stretch with no such space stays whole."""
    cuts = []
    start, n = 0, len(text)
    while n - start > segment_chars:
        lo, hi = start + segment_chars // 2, start + segment_chars
        found = None
        for match in _CUT.finditer(text, lo, hi):
            found = match.start()
        if found is None:
            later = _CUT.search(text, hi)
            if later is None:
                break
            found = later.start()
        cuts.append(found)
        start = found
    return cuts


def _segments(texts: Sequence[str], segment_chars: int | None) -> Iterator[tuple[int, int, str]]:
    """(unit, offset of the segment in the unit, segment text), in order."""
    for unit, text in enumerate(texts):
        if segment_chars is None or len(text) <= segment_chars:
            yield unit, 0, text
            continue
        bounds = [0, *cut_points(text, segment_chars), len(text)]
        for b, e in itertools.pairwise(bounds):
            yield unit, b, text[b:e]


def _groups(segments: Iterator[tuple[int, int, str]], group_chars: int) -> Iterator[list[tuple[int, int, str]]]:
    group: list[tuple[int, int, str]] = []
    size = 0
    for seg in segments:
        if group and size + len(seg[2]) > group_chars:
            yield group
            group, size = [], 0
        group.append(seg)
        size += len(seg[2])
    if group:
        yield group


def tokenize(
    backend: Any, texts: Sequence[str], segment_chars: int | None = SEGMENT_CHARS, spans: bool = True
) -> Pieces:
    """Tokenize ``texts`` with a fast tokenizer backend, without special tokens or truncation.

    ``segment_chars``: tokenize texts longer than this in segments (see :func:`cut_points`);
    None for whole texts (for tokenizers where a cut could change the pieces).  ``spans=False``
    keeps only the ids (see :attr:`Pieces.spans`)."""
    clean = list(texts)
    if _SURROGATE.search("".join(clean)):  # one scan of all texts; rewrite only if any has one
        clean = [_SURROGATE.sub("\ufffd", t) for t in clean]
    parts: dict[str, list[np.ndarray]] = {"ids": [], "begin": [], "end": [], "new_word": []}
    unit_counts = np.zeros(len(clean), dtype=np.int64)
    chain = itertools.chain.from_iterable
    for group in _groups(_segments(clean, segment_chars), GROUP_CHARS):
        encodings = backend.encode_batch([seg for _, _, seg in group], add_special_tokens=False)
        counts = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        total = int(counts.sum())
        if total == 0:
            continue
        np.add.at(unit_counts, np.array([u for u, _, _ in group], dtype=np.int64), counts)
        parts["ids"].append(np.fromiter(chain(e.ids for e in encodings), dtype=np.int32, count=total))
        if not spans:
            continue
        offsets = np.fromiter(chain(chain(e.offsets for e in encodings)), dtype=np.int64, count=2 * total)
        offsets = offsets.reshape(total, 2) + np.repeat([sh for _, sh, _ in group], counts)[:, None]
        # a new word where the tokenizer's word id changes, at every segment's first piece (texts
        # start new words, and cuts fall between words), and at each piece outside any word
        words = np.fromiter(
            (-1 if w is None else w for w in chain(e.word_ids for e in encodings)), dtype=np.int64, count=total
        )
        new_word = np.ones(total, dtype=bool)
        new_word[1:] = (words[1:] != words[:-1]) | (words[1:] < 0)
        firsts = np.cumsum(counts)[:-1]
        new_word[firsts[firsts < total]] = True
        parts["begin"].append(offsets[:, 0].astype(np.int32))
        parts["end"].append(offsets[:, 1].astype(np.int32))
        parts["new_word"].append(new_word)
    return _pieces(parts, unit_counts, spans)


def _pieces(parts: dict[str, list[np.ndarray]], unit_counts: np.ndarray, spans: bool = True) -> Pieces:
    """Join the groups' arrays (each list freed as soon as it is joined) into Pieces."""

    def join(name: str, dtype: type = np.int32) -> np.ndarray:
        out = np.concatenate(parts[name]) if parts[name] else np.zeros(0, dtype=dtype)
        parts[name].clear()
        return out

    ids, begin, end, new_word = join("ids"), join("begin"), join("end"), join("new_word", bool)
    total = len(ids)
    unit_start = np.zeros(len(unit_counts) + 1, dtype=np.int64)
    np.cumsum(unit_counts, out=unit_start[1:])
    if not spans:
        no_words = np.zeros(1, dtype=np.int32)
        return Pieces(ids, begin, end, unit_start, no_words, no_words[:0], np.zeros_like(unit_start), spans=False)
    starts = np.flatnonzero(new_word)
    word_start = np.append(starts, total).astype(np.int32)
    word_unit = (np.searchsorted(unit_start, starts, side="right") - 1).astype(np.int32)
    unit_word_start = np.searchsorted(starts, unit_start).astype(np.int64)
    return Pieces(ids, begin, end, unit_start, word_start, word_unit, unit_word_start)


def segments_agree(backend: Any) -> bool:
    """Does tokenizing in segments give exactly the pieces of whole texts, for this tokenizer?
    Checked once per model on a probe text cut every few words."""
    probe = (
        "Hello world, this is a test. Don't split NLP-tokens here: 3.14 and 1,000 or e-mail a@b.com! "
        "Ünïcode café naïve 東京 タワー (parentheses) \"quotes\" and 'apostrophes' -- dashes... end"
    )
    whole = tokenize(backend, [probe, "x " + probe], segment_chars=None)
    cut = tokenize(backend, [probe, "x " + probe], segment_chars=12)
    return all(
        np.array_equal(getattr(whole, f), getattr(cut, f)) for f in ("ids", "begin", "end", "unit_start", "word_start")
    )


@dataclass(frozen=True)
class Windows:
    """Model inputs: each a slice of one unit's pieces, plus which window owns each piece."""

    unit: np.ndarray  # (K,) unit of each window
    start: np.ndarray  # (K,) global index of the window's first piece
    length: np.ndarray  # (K,) number of pieces in the window (special tokens not counted)
    piece_window: np.ndarray  # (P,) int32, the window each piece takes its vector from

    def __len__(self) -> int:
        return len(self.unit)


_OWNER_CHUNK = 1 << 16


def plan_windows(pieces: Pieces, capacity: int, overlap: float = 0.25) -> Windows:
    """Cut each unit into windows of at most ``capacity`` pieces, overlapping by ``overlap``.

    Units that fit get one window; empty units get none.  In longer units each piece is owned by
    the window where it is furthest from an edge, so every vector has context on both sides.
    """
    if capacity < 1:
        raise InvalidOptionError("max_length", capacity, "more than the model's special tokens")
    if not 0.0 <= overlap < 1.0:
        raise InvalidOptionError("overlap", overlap, "a fraction in [0, 1)")
    counts = np.diff(pieces.unit_start)
    fits = (counts > 0) & (counts <= capacity)
    units: list[np.ndarray] = [np.flatnonzero(fits)]
    starts: list[np.ndarray] = [pieces.unit_start[:-1][fits]]
    lengths: list[np.ndarray] = [counts[fits]]
    piece_window = np.repeat(np.full(len(counts), -1, dtype=np.int32), counts)  # int32: see Pieces
    n_fit = int(fits.sum())
    piece_window[np.repeat(fits, counts)] = np.repeat(np.arange(n_fit), counts[fits])
    next_id = n_fit
    stride = max(1, capacity - round(capacity * overlap))
    for u in np.flatnonzero(counts > capacity):
        n = int(counts[u])
        local = np.arange(0, n - capacity, stride)
        local = np.append(local, n - capacity)
        k = len(local)
        base = int(pieces.unit_start[u])
        units.append(np.full(k, u))
        starts.append(base + local)
        lengths.append(np.full(k, capacity))
        # the window whose centre is nearest is the one where the piece is furthest from an edge
        # (in chunks of pieces, so that a very long text needs no per-piece temporaries)
        centres = local + (capacity - 1) / 2.0
        for lo in range(0, n, _OWNER_CHUNK):
            pos = np.arange(lo, min(n, lo + _OWNER_CHUNK))
            right = np.clip(np.searchsorted(centres, pos), 0, k - 1)
            left = np.clip(right - 1, 0, k - 1)
            nearer_left = np.abs(pos - centres[left]) <= np.abs(pos - centres[right])
            piece_window[base + lo : base + lo + len(pos)] = next_id + np.where(nearer_left, left, right)
        next_id += k
    return Windows(
        np.concatenate(units).astype(np.int64),
        np.concatenate(starts).astype(np.int64),
        np.concatenate(lengths).astype(np.int64),
        piece_window,
    )
