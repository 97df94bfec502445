"""The output levels and their rows: one place that knows token, sub_token, sentence and document.

A level decides what the model encodes (whole inputs, or the sentences of each input), which
items become rows (words, word pieces, sentences, documents), and how each model's vectors reach
those rows (scattered from pieces, or pooled per unit).  Rows are laid out in input order, and an
input with no item keeps one empty row, so no input ever disappears.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from nlu_lite.batching import Pieces
from nlu_lite.encoder import Encoder, RunOptions
from nlu_lite.errors import InvalidOptionError
from nlu_lite.options import PredictOptions
from nlu_lite.pooling import reduce_words, word_targets
from nlu_lite.sentences import Splitter, run_splitter, split_spans_many
from nlu_lite.spark_tokens import spark_nlp_spans


@dataclass(frozen=True)
class Units:
    """What the model encodes: whole inputs, or sentences of them."""

    texts: list[str]
    input: np.ndarray  # (U,) input row of each unit
    base: np.ndarray  # (U,) offset of the unit in its input text


@dataclass(frozen=True)
class Rows:
    """The output rows: one per item (word, piece, sentence, document), plus one per empty input."""

    n: int
    input: np.ndarray  # (R,) input row of each output row
    of_item: np.ndarray  # (I,) output row of each item
    item_unit: np.ndarray  # (I,) unit of each item
    begin: np.ndarray  # (R,) character offsets in the input text (0, 0 for empty rows)
    end: np.ndarray


def lay_out_rows(
    n_inputs: int, item_input: np.ndarray, item_unit: np.ndarray, begin: np.ndarray, end: np.ndarray
) -> Rows:
    """Lay out rows in input order; an input with no item gets one empty row."""
    per_input = np.bincount(item_input, minlength=n_inputs)
    empty = per_input == 0
    n_rows = int(np.maximum(per_input, 1).sum())
    empties_before = np.concatenate([[0], np.cumsum(empty)])[:-1]
    of_item = np.arange(len(item_input)) + empties_before[item_input]
    first_item = np.concatenate([[0], np.cumsum(per_input)])[:-1]
    empty_rows = first_item[empty] + empties_before[empty]
    row_input = np.empty(n_rows, dtype=np.int64)
    row_input[of_item] = item_input
    row_input[empty_rows] = np.flatnonzero(empty)
    b = np.zeros(n_rows, dtype=np.int64)
    e = np.zeros(n_rows, dtype=np.int64)
    b[of_item] = begin
    e[of_item] = end
    return Rows(n_rows, row_input, of_item, item_unit, b, e)


def _align(
    pieces: Any, item_unit: np.ndarray, item_b: np.ndarray, item_e: np.ndarray, longest: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For spans in units, the first and last piece of ``pieces`` that overlap each span."""
    m = longest + 1
    unit = pieces.piece_unit
    end_keys = np.maximum.accumulate(unit * m + pieces.end) if len(unit) else unit
    begin_keys = np.maximum.accumulate(unit * m + pieces.begin) if len(unit) else unit
    first = np.searchsorted(end_keys, item_unit * m + item_b, side="right")
    last = np.searchsorted(begin_keys, item_unit * m + item_e, side="left") - 1
    lo = pieces.unit_start[item_unit]
    hi = pieces.unit_start[item_unit + 1]
    valid = (first <= last) & (first >= lo) & (first < hi) & (last >= lo) & (last < hi)
    return np.where(valid, first, 0), np.where(valid, last, 0), valid


@dataclass(frozen=True)
class Sentences:
    """Sentence spans of all inputs, in order: input row, begin and end offsets."""

    input: np.ndarray
    begin: np.ndarray
    end: np.ndarray


def split_sentences(texts: list[str], splitter: Splitter | None) -> Sentences:
    if splitter is None:
        return Sentences(*split_spans_many(texts))
    spans = [run_splitter(splitter, t) if t.strip() else [] for t in texts]
    counts = np.fromiter((len(s) for s in spans), dtype=np.int64, count=len(spans))
    flat = np.array([se for s in spans for se in s], dtype=np.int64).reshape(-1, 2)
    return Sentences(np.repeat(np.arange(len(texts)), counts), flat[:, 0], flat[:, 1])


def sentence_ids(rows: Rows, sents: Sentences, longest: int) -> np.ndarray:
    """The sentence number (within its input) of the sentence holding each row's start; -1 for
    empty rows, and for a row outside every sentence (a custom splitter may leave text out)."""
    sentence_id = np.full(rows.n, -1, dtype=np.int64)
    if len(sents.input):
        m = longest + 1
        row_input = rows.input[rows.of_item]
        start = rows.begin[rows.of_item]
        pos = np.searchsorted(sents.input * m + sents.begin, row_input * m + start, side="right") - 1
        first_sent = np.searchsorted(sents.input, row_input, side="left")
        inside = pos >= first_sent  # a sentence of this input begins at or before the row
        inside[inside] &= start[inside] < sents.end[pos[inside]]  # and the row starts before its end
        sentence_id[rows.of_item] = np.where(inside, pos - first_sent, -1)
    return sentence_id


def check_sentence_head(encoders: Sequence[Encoder], prompt: str | None) -> None:
    """Refuse sentence vectors whose recipe in the model's files nlu_lite cannot reproduce, rather
    than give vectors that silently differ from sentence-transformers'."""
    for enc in encoders:
        problems = list(enc.components.unsupported)
        if not enc.components.include_prompt and enc.prefix_for(prompt):
            problems.append("pooling that leaves out the prompt's tokens (include_prompt: false)")
        if problems:
            raise InvalidOptionError(
                "pooling",
                None,
                f"an explicit pooling ('mean', 'cls', 'max'): the files of {enc.entry.spelling!r} ask for "
                f"{'; '.join(problems)}, which nlu_lite does not reproduce, so its own sentence vectors "
                "cannot be given. Token-level output is not affected",
            )


@dataclass
class Level:
    """What one output level computed: rows, their text, (vectors, has-vector) per column, extras."""

    rows: Rows
    text: list[str] | np.ndarray  # the text of each row
    vectors: dict[str, tuple[np.ndarray, np.ndarray]]
    extra: dict[str, np.ndarray]
    meta: dict[str, np.ndarray]


def plan_units(level: str, texts: list[str], splitter: Splitter | None) -> tuple[Units, Sentences | None]:
    """What the model encodes at ``level`` (whole inputs, or their sentences) and the sentence
    spans (the units at sentence level, the sentence number of each row at token levels)."""
    sents = split_sentences(texts, splitter) if LEVELS[level].sentences else None
    if sents is not None and LEVELS[level].unit == "sentence":
        pairs = zip(sents.input.tolist(), sents.begin.tolist(), sents.end.tolist(), strict=True)
        return Units([texts[i][b:e] for i, b, e in pairs], sents.input, sents.begin), sents
    return Units(texts, np.arange(len(texts)), np.zeros(len(texts), dtype=np.int64)), sents


@dataclass(frozen=True)
class LevelSpec:
    """One output level: what the model encodes (whole inputs or sentences), whether sentence
    spans are needed, and whether vectors are pooled per unit (pooled levels also take prompts)."""

    unit: Literal["document", "sentence"]
    sentences: bool
    pooled: bool


# The output levels, one row each (their names are nlu_lite.options.OUTPUT_LEVELS).  A new level:
# a row here, its builder below, its name in options.py.
LEVELS: dict[str, LevelSpec] = {
    "token": LevelSpec("document", sentences=True, pooled=False),
    "sub_token": LevelSpec("document", sentences=True, pooled=False),
    "sentence": LevelSpec("sentence", sentences=True, pooled=True),
    "document": LevelSpec("document", sentences=False, pooled=True),
}


def _aligned_vectors(
    enc: Encoder,
    units: Units,
    rows: Rows,
    spans: tuple[np.ndarray, np.ndarray, np.ndarray, int],
    pick: str,
    opts: RunOptions,
    pieces: Pieces | None = None,
    progress: Callable[[int], Any] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A model's vectors for rows given by character spans: its own pieces (``pieces`` where they
    are at hand), aligned to the rows (first, last or mean of the pieces inside each span)."""
    item_unit, item_b, item_e, longest = spans
    pk = enc.tokenize(units.texts) if pieces is None else pieces
    outk = enc.encode(pk, np.arange(len(pk.ids)), len(pk.ids), None, opts, progress=progress)
    assert outk.rows is not None
    dim = outk.rows.shape[1]
    blk = np.zeros((rows.n, dim), dtype=np.float32)
    if len(pk.ids) == 0:  # this model's tokenizer made nothing of these texts: no vectors
        return blk, np.zeros(rows.n, dtype=bool)
    f, last, ok = _align(pk, item_unit, item_b, item_e, longest)
    if pick == "mean":
        csum = np.concatenate([np.zeros((1, dim)), np.cumsum(outk.rows, axis=0, dtype=np.float64)])
        span = (last - f + 1).astype(np.float64)[:, None]
        blk[rows.of_item] = ((csum[last + 1] - csum[f]) / span).astype(np.float32)
    else:
        blk[rows.of_item] = outk.rows[last if pick == "last" else f]
    blk[rows.of_item[~ok]] = 0.0
    hk = np.zeros(rows.n, dtype=bool)
    hk[rows.of_item[ok]] = True
    return blk, hk


def _first_vectors(
    first: Encoder,
    pieces0: Pieces,
    rows: Rows,
    starts: np.ndarray,
    level: str,
    word_pooling: str,
    opts: RunOptions,
    tick: Callable[[int], Any] | None,
) -> np.ndarray:
    """The first model's vector of each row of words (``starts``: each word's first piece) or
    pieces, straight from its own pieces."""
    n_pieces = len(pieces0.ids)
    if level == "token" and word_pooling == "mean":
        out = first.encode(pieces0, np.arange(n_pieces), n_pieces, None, opts, progress=tick)
        assert out.rows is not None
        block = np.zeros((rows.n, out.rows.shape[1]), dtype=np.float32)
        block[rows.of_item] = reduce_words(out.rows, starts)
        return block
    item_of_piece = word_targets(starts, n_pieces, word_pooling) if level == "token" else None
    if item_of_piece is None:
        target = rows.of_item
    else:
        target = np.where(item_of_piece >= 0, rows.of_item[np.maximum(item_of_piece, 0)], -1)
    out = first.encode(pieces0, target, rows.n, None, opts, progress=tick)
    assert out.rows is not None
    return out.rows


def token_rows(
    encoders: Sequence[Encoder],
    level: str,
    texts: list[str],
    units: Units,
    pieces0: Pieces,
    sents: Sentences,
    word_pooling: str,
    opts: RunOptions,
    metadata: bool,
    tick: Callable[[int], Any] | None,
) -> Level:
    """Rows of words (``token``) or word pieces (``sub_token``), a vector per model for each
    (none without models: the rows are the first model's tokenization either way)."""
    n_pieces = len(pieces0.ids)
    if level == "token":
        starts = pieces0.word_start
        item_unit = pieces0.word_unit
        item_b, item_e = pieces0.word_begin(), pieces0.word_end()
    else:
        starts = np.arange(n_pieces + 1)
        item_unit = pieces0.piece_unit
        item_b, item_e = pieces0.begin, pieces0.end
    rows = lay_out_rows(len(texts), units.input[item_unit], item_unit, item_b, item_e)
    has = np.zeros(rows.n, dtype=bool)
    has[rows.of_item] = True
    longest = max((len(t) for t in texts), default=0)
    vectors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    # the first component defines the rows: its vectors go straight to them
    mean_words = level == "token" and word_pooling == "mean"
    if encoders:
        block = _first_vectors(encoders[0], pieces0, rows, starts, level, word_pooling, opts, tick)
        vectors[encoders[0].entry.column] = (block, has)
    pick = "mean" if mean_words else ("last" if (level == "token" and word_pooling == "last") else "first")
    spans = (item_unit, item_b, item_e, longest)
    for enc in encoders[1:]:
        vectors[enc.entry.column] = _aligned_vectors(enc, units, rows, spans, pick, opts)
    text = [""] * rows.n
    for r, i, b, e in zip(
        rows.of_item.tolist(), units.input[item_unit].tolist(), item_b.tolist(), item_e.tolist(), strict=True
    ):
        text[r] = texts[i][b:e]
    meta: dict[str, np.ndarray] = {}
    if metadata:
        meta["pieces"] = np.zeros(rows.n, dtype=np.int64)
        meta["pieces"][rows.of_item] = np.diff(starts)
    extra = {"sentence_id": sentence_ids(rows, sents, longest)}
    return Level(rows, text, vectors, extra, meta)


def spark_token_rows(
    encoders: Sequence[Encoder],
    texts: list[str],
    units: Units,
    pieces0: Pieces,
    sents: Sentences,
    word_pooling: str,
    opts: RunOptions,
    metadata: bool,
    tick: Callable[[int], Any] | None = None,
) -> Level:
    """Rows of Spark NLP's default Tokenizer (NLU's token rows), with exact offsets; each model's
    vector for a token comes from its pieces inside the token (the first, as Spark NLP does, or
    the last or mean).  A token no piece of a model touches (characters its tokenizer drops) has
    no vector from that model (NaN), as NLU pads such tokens."""
    item_unit_l: list[int] = []
    item_b_l: list[int] = []
    item_e_l: list[int] = []
    for u, (unit_text, base) in enumerate(zip(units.texts, units.base.tolist(), strict=True)):
        for b, e in spark_nlp_spans(unit_text):
            item_unit_l.append(u)
            item_b_l.append(base + b)
            item_e_l.append(base + e)
    item_unit = np.asarray(item_unit_l, dtype=np.int64)
    item_b = np.asarray(item_b_l, dtype=np.int64)
    item_e = np.asarray(item_e_l, dtype=np.int64)
    rows = lay_out_rows(len(texts), units.input[item_unit], item_unit, item_b, item_e)
    longest = max((len(t) for t in texts), default=0)
    spans = (item_unit, item_b, item_e, longest)
    vectors = {
        enc.entry.column: _aligned_vectors(
            enc, units, rows, spans, word_pooling, opts, pieces0 if k == 0 else None, tick if k == 0 else None
        )
        for k, enc in enumerate(encoders)
    }
    text = [""] * rows.n
    for r, i, b, e in zip(rows.of_item.tolist(), units.input[item_unit].tolist(), item_b_l, item_e_l, strict=True):
        text[r] = texts[i][b:e]
    meta: dict[str, np.ndarray] = {}
    if metadata:  # the first model's pieces inside each token
        f, last, ok = _align(pieces0, item_unit, item_b, item_e, longest) if len(pieces0.ids) else (0, 0, False)
        meta["pieces"] = np.zeros(rows.n, dtype=np.int64)
        meta["pieces"][rows.of_item] = np.where(ok, np.asarray(last) - f + 1, 0)
    extra = {"sentence_id": sentence_ids(rows, sents, longest)}
    return Level(rows, text, vectors, extra, meta)


def _unit_block(
    pooled: np.ndarray, has_pooled: np.ndarray, rows: Rows, item_unit: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's pooled vector: the pooler's own block where rows and units are one to one (the
    usual case: no copy of what may be the largest array of the result), else gathered."""
    n = len(item_unit)
    one_to_one = rows.n == n == len(pooled) and np.array_equal(item_unit, np.arange(n))
    if one_to_one and np.array_equal(rows.of_item, item_unit):
        return pooled, has_pooled
    blk = np.zeros((rows.n, pooled.shape[1]), dtype=np.float32)
    blk[rows.of_item] = pooled[item_unit]
    hk = np.zeros(rows.n, dtype=bool)
    hk[rows.of_item] = has_pooled[item_unit]
    return blk, hk


def unit_rows(
    encoders: Sequence[Encoder],
    texts: list[str],
    units: Units,
    pieces0: Pieces,
    pooling: str | None,
    prompt: str | None,
    opts: RunOptions,
    metadata: bool,
    tick: Callable[[int], Any] | None,
) -> Level:
    """One row per sentence or document with text, a pooled vector per model for each."""
    n_units = len(units.texts)
    present = np.fromiter(map(bool, map(str.strip, units.texts)), dtype=bool, count=n_units)
    item_unit = np.flatnonzero(present)
    item_b = units.base[item_unit]
    item_e = item_b + np.fromiter(map(len, units.texts), dtype=np.int64, count=n_units)[item_unit]
    rows = lay_out_rows(len(texts), units.input[item_unit], item_unit, item_b, item_e)
    vectors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for k, enc in enumerate(encoders):
        pk = pieces0 if k == 0 else enc.tokenize(units.texts, enc.prefix_for(prompt), spans=False)
        pool = pooling or enc.entry.pooling
        normalize = enc.entry.normalize and pooling is None
        res = enc.encode(
            pk, None, 0, pool, opts, normalize=normalize, progress=tick if k == 0 else None, head=pooling is None
        )
        assert res.pooled is not None and res.has_pooled is not None
        vectors[enc.entry.column] = _unit_block(res.pooled, res.has_pooled, rows, item_unit)
    text = np.full(rows.n, "", dtype=object)
    text[rows.of_item] = np.asarray(units.texts, dtype=object)[item_unit]
    meta: dict[str, np.ndarray] = {}
    if metadata:
        meta["pieces"] = np.zeros(rows.n, dtype=np.int64)
        meta["pieces"][rows.of_item] = np.diff(pieces0.unit_start)[item_unit]
    return Level(rows, text, vectors, {}, meta)


def build_level(
    level: str,
    encoders: Sequence[Encoder],
    texts: list[str],
    planned: tuple[Units, Sentences | None],
    pieces0: Pieces,
    options: PredictOptions,
    tick: Callable[[int], Any] | None,
) -> Level:
    """The rows of ``level`` with every model's vectors (see LEVELS)."""
    units, sents = planned
    run = RunOptions(options.layers, options.layer_combine, options.token_budget, options.batch_size, options.overlap)
    if LEVELS[level].pooled:
        return unit_rows(encoders, texts, units, pieces0, options.pooling, options.prompt, run, options.metadata, tick)
    assert sents is not None
    word_pooling = options.word_pooling or (encoders[0].entry.word_pooling if encoders else "first")
    if level == "token" and options.tokenizer == "spark_nlp":
        return spark_token_rows(encoders, texts, units, pieces0, sents, word_pooling, run, options.metadata, tick)
    return token_rows(encoders, level, texts, units, pieces0, sents, word_pooling, run, options.metadata, tick)
