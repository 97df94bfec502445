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
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Sequence
from contextvars import ContextVar
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
# tokenized in groups of about GROUP_CHARS: the tokenizer's own per-character bookkeeping (~200
# bytes a character) then stays that of one group, whatever the length of a text.  Measured on one
# 5 MB text (1.26 M pieces): tokenizing peaked at 820 MB whole, 102 MB in segments and groups.
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


@dataclass(frozen=True)
class Repeats:
    """Windows that repeat an earlier window exactly: a whole unit each, with the same word-piece
    ids (so the model gives the same states) and the same pieces wanted.  They are not run; their
    units and pieces take the earlier window's results."""

    run: np.ndarray  # (K,) bool: the windows that are run
    unit: np.ndarray  # (R,) units that repeat an earlier one
    source_unit: np.ndarray  # (R,) the unit each repeats
    piece: np.ndarray  # (Q,) pieces of the repeating units
    source_piece: np.ndarray  # (Q,) the piece each takes its state from

    def fill(
        self, rows: np.ndarray | None, targets: np.ndarray | None, pooled: np.ndarray | None, has: np.ndarray | None
    ) -> None:
        """Give the repeating pieces' targets in ``rows``, and the repeating units in ``pooled`` /
        ``has``, what their sources got (each where there is one)."""
        if rows is not None and targets is not None:
            wanted = targets[self.piece] >= 0
            rows[targets[self.piece[wanted]]] = rows[targets[self.source_piece[wanted]]]
        if pooled is not None and has is not None:
            pooled[self.unit] = pooled[self.source_unit]
            has[self.unit] = has[self.source_unit]


def whole_windows(pieces: Pieces, windows: Windows) -> np.ndarray:
    """The windows that hold their whole unit (a text, or a sentence, in one window)."""
    return np.flatnonzero(windows.length == np.diff(pieces.unit_start)[windows.unit])


def find_repeats(pieces: Pieces, windows: Windows, wanted: np.ndarray | None) -> Repeats:
    """The windows of ``windows`` that repeat an earlier one (see :class:`Repeats`); ``wanted``:
    which pieces' states are kept (None: all, as pooling keeps them)."""
    run = np.ones(len(windows), dtype=bool)
    if len(windows) < 2:  # nothing to repeat (a lone sentence: no more work than this)
        none = np.zeros(0, dtype=np.int64)
        return Repeats(run, none, none, none, none)
    whole = whole_windows(pieces, windows)
    first_of: dict[int, int] = {}  # a hash of the window's pieces → the first window with it
    dup: list[int] = []
    src: list[int] = []
    ids = pieces.ids
    keep = wanted if wanted is not None else np.ones(len(ids), dtype=bool)
    starts = windows.start
    for w, b, n in zip(whole.tolist(), starts[whole].tolist(), windows.length[whole].tolist(), strict=True):
        first = first_of.setdefault(hash((ids[b : b + n].tobytes(), keep[b : b + n].tobytes())), w)
        if first == w:
            continue
        f = int(starts[first])  # the same hash: the same pieces, checked (a collision is run)
        same = int(windows.length[first]) == n and np.array_equal(ids[b : b + n], ids[f : f + n])
        if same and np.array_equal(keep[b : b + n], keep[f : f + n]):
            dup.append(w)
            src.append(first)
    dup_w = np.asarray(dup, dtype=np.int64)
    src_w = np.asarray(src, dtype=np.int64)
    run[dup_w] = False
    lens = windows.length[dup_w]
    within = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
    return Repeats(
        run,
        windows.unit[dup_w],
        windows.unit[src_w],
        np.repeat(windows.start[dup_w], lens) + within,
        np.repeat(windows.start[src_w], lens) + within,
    )


# Pooled vectors kept across the chunks of one predict_iter / predict_to_parquet call (at most this
# many bytes of vectors): a MiniLM (384-d) holds ~43,000, two to four chunks' worth of sentences.
MEMORY_BYTES = 64 << 20


class PooledMemory:
    """The pooled vectors of texts seen by earlier chunks of one streaming call, so that a text
    that comes again in a later chunk is not run again (within one call, :class:`Repeats` does
    this).  Keyed by what decides the vector (the encoder and its pooling options, and the
    window's word-piece ids: a whole unit in one window); the least recently used go first past
    ``max_bytes``.  Set for a call through :data:`pooled_memory`."""

    def __init__(self, max_bytes: int = MEMORY_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self._vectors: OrderedDict[Hashable, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self._vectors)

    def get(self, key: Hashable) -> np.ndarray | None:
        vector = self._vectors.get(key)
        if vector is not None:
            self._vectors.move_to_end(key)
            self.hits += 1
        return vector

    def put(self, key: Hashable, vector: np.ndarray) -> None:
        if key in self._vectors or vector.nbytes > self.max_bytes:
            return
        self._vectors[key] = vector.copy()
        self.bytes += vector.nbytes
        while self.bytes > self.max_bytes:
            _, old = self._vectors.popitem(last=False)
            self.bytes -= old.nbytes


# the memory of the streaming call in progress (None: a plain predict, which remembers nothing)
pooled_memory: ContextVar[PooledMemory | None] = ContextVar("nlu_lite_pooled_memory", default=None)


@dataclass(frozen=True)
class Batch:
    """One model call: windows (by id) padded to a common length."""

    windows: np.ndarray  # (B,) window ids
    input_ids: np.ndarray  # (B, T) int64
    attention_mask: np.ndarray  # (B, T) int64
    rows: np.ndarray  # (N,) batch row of each body piece
    cols: np.ndarray  # (N,) position of each body piece in its row
    piece: np.ndarray  # (N,) global piece index of each body piece


def iter_batches(
    pieces: Pieces,
    windows: Windows,
    prefix: Sequence[int],
    suffix: Sequence[int],
    pad_id: int,
    token_budget: int,
    batch_size: int,
    run: np.ndarray | None = None,
) -> Iterator[Batch]:
    """Length-sorted batches of at most ``batch_size`` windows and ``token_budget`` padded tokens
    (of the windows where ``run`` is set; all when None)."""
    n_special = len(prefix) + len(suffix)
    total_len = windows.length + n_special
    order = np.argsort(-total_len, kind="stable")
    if run is not None:
        order = order[run[order]]
    i = 0
    k = len(order)
    pre = np.asarray(prefix, dtype=np.int64)
    suf = np.asarray(suffix, dtype=np.int64)
    while i < k:
        width = int(total_len[order[i]])
        take = max(1, min(batch_size, token_budget // max(width, 1), k - i))
        ids_ = order[i : i + take]
        i += take
        lens = windows.length[ids_]
        b = len(ids_)
        input_ids = np.full((b, width), pad_id, dtype=np.int64)
        mask = np.zeros((b, width), dtype=np.int64)
        mask[np.arange(width)[None, :] < (lens + n_special)[:, None]] = 1
        if len(pre):
            input_ids[:, : len(pre)] = pre
        n = int(lens.sum())
        rows = np.repeat(np.arange(b), lens)
        first = np.zeros(b, dtype=np.int64)
        np.cumsum(lens[:-1], out=first[1:])
        within = np.arange(n) - np.repeat(first, lens)
        cols = within + len(pre)
        piece = np.repeat(windows.start[ids_], lens) + within
        input_ids[rows, cols] = pieces.ids[piece]
        if len(suf):
            suf_cols = (lens + len(pre))[:, None] + np.arange(len(suf))[None, :]
            input_ids[np.arange(b)[:, None], suf_cols] = suf[None, :]
        yield Batch(ids_, input_ids, mask, rows, cols, piece)
