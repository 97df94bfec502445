"""What runs, batch by batch: windows that repeat an earlier one (not run again), the pooled
vectors a streaming call remembers across its chunks, and length-sorted batches under a token
budget, each window framed by the model's special tokens and padded."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np

from nlu_lite.engine.pieces import Pieces, Windows


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
class Framing:
    """The special tokens a model puts around each window ([CLS] … [SEP], <s> … </s>) and its pad id."""

    prefix: tuple[int, ...]
    suffix: tuple[int, ...]
    pad_id: int


@dataclass(frozen=True)
class BatchLimits:
    """How big a batch may be: padded positions (``token_budget``) and windows (``batch_size``)."""

    token_budget: int
    batch_size: int


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
    pieces: Pieces, windows: Windows, framing: Framing, limits: BatchLimits, run: np.ndarray | None = None
) -> Iterator[Batch]:
    """Length-sorted batches of at most ``batch_size`` windows and ``token_budget`` padded tokens
    (of the windows where ``run`` is set; all when None), each window framed by the special tokens."""
    prefix, suffix, pad_id = framing.prefix, framing.suffix, framing.pad_id
    token_budget, batch_size = limits.token_budget, limits.batch_size
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
