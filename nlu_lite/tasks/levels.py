"""The output levels, for every task: what the models encode at a level (whole inputs, or the
sentences of each input), which items become rows, and rows laid out in input order, where an
input with no item keeps one empty row, so that no input ever disappears.

A task plans a level with :func:`plan_level`, makes its items (:class:`Spans`: words, pieces,
sentences, documents) and lays them out with :func:`lay_out_rows`; what it computes for the rows
goes into a :class:`Level`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from nlu_lite.engine.pieces import Pieces
from nlu_lite.options import PredictOptions
from nlu_lite.tasks.sentences import Splitter, run_splitter, split_spans_many


@dataclass(frozen=True)
class LevelSpec:
    """One output level: what the model encodes (whole inputs or sentences), whether sentence
    spans are needed, and whether vectors are pooled per unit (pooled levels also take prompts)."""

    unit: Literal["document", "sentence"]
    sentences: bool
    pooled: bool


# The output levels, one row each (their names are nlu_lite.options.OUTPUT_LEVELS).  A new level:
# a row here, its name in options.py, and its rows in each task that has it.
LEVELS: dict[str, LevelSpec] = {
    "token": LevelSpec("document", sentences=True, pooled=False),
    "sub_token": LevelSpec("document", sentences=True, pooled=False),
    "sentence": LevelSpec("sentence", sentences=True, pooled=True),
    "document": LevelSpec("document", sentences=False, pooled=True),
    "chunk": LevelSpec("document", sentences=True, pooled=False),  # entities of a tagger's words
}


@dataclass(frozen=True)
class Units:
    """What the model encodes: whole inputs, or sentences of them."""

    texts: list[str]
    input: np.ndarray  # (U,) input row of each unit
    base: np.ndarray  # (U,) offset of the unit in its input text


@dataclass(frozen=True)
class Sentences:
    """Sentence spans of all inputs, in order: input row, begin and end offsets."""

    input: np.ndarray
    begin: np.ndarray
    end: np.ndarray


@dataclass(frozen=True)
class Spans:
    """Items that become rows (words, pieces, sentences, documents): the unit each lies in and
    its character offsets in the input text."""

    unit: np.ndarray
    begin: np.ndarray
    end: np.ndarray

    @classmethod
    def words(cls, pieces: Pieces) -> Spans:
        """The tokenizer's own words (its pre-tokenisation), each from its first to last piece."""
        return cls(pieces.word_unit, pieces.word_begin(), pieces.word_end())

    @classmethod
    def pieces(cls, pieces: Pieces) -> Spans:
        return cls(pieces.piece_unit, pieces.begin, pieces.end)


@dataclass(frozen=True)
class Rows:
    """The output rows: one per item (word, piece, sentence, document), plus one per empty input."""

    n: int
    input: np.ndarray  # (R,) input row of each output row
    of_item: np.ndarray  # (I,) output row of each item
    item_unit: np.ndarray  # (I,) unit of each item
    begin: np.ndarray  # (R,) character offsets in the input text (0, 0 for empty rows)
    end: np.ndarray

    @property
    def items(self) -> Spans:
        """The items the rows were laid out from (their unit and offsets)."""
        return Spans(self.item_unit, self.begin[self.of_item], self.end[self.of_item])


@dataclass(frozen=True)
class Plan:
    """One level of one predict() call, planned: the inputs' texts, the units the models
    encode, the sentence spans (sentence level, and sentence ids at token levels), the options."""

    level: str
    texts: list[str]
    units: Units
    sentences: Sentences | None
    options: PredictOptions

    @property
    def spec(self) -> LevelSpec:
        return LEVELS[self.level]

    @functools.cached_property
    def longest(self) -> int:
        """The longest input text (offsets are keyed by unit·(longest+1) + offset)."""
        return max((len(t) for t in self.texts), default=0)

    def rows(self, items: Spans) -> Rows:
        """``items`` laid out as rows in input order (see :func:`lay_out_rows`)."""
        return lay_out_rows(len(self.texts), self.units.input[items.unit], items)

    def unit_rows(self) -> tuple[Rows, np.ndarray]:
        """One row per sentence or document (the units), with its text; an empty or blank unit is
        no row (its input keeps one empty row)."""
        units = self.units
        n_units = len(units.texts)
        present = np.fromiter(map(bool, map(str.strip, units.texts)), dtype=bool, count=n_units)
        item_unit = np.flatnonzero(present)
        begin = units.base[item_unit]
        end = begin + np.fromiter(map(len, units.texts), dtype=np.int64, count=n_units)[item_unit]
        rows = self.rows(Spans(item_unit, begin, end))
        text = np.full(rows.n, "", dtype=object)
        text[rows.of_item] = np.asarray(units.texts, dtype=object)[item_unit]
        return rows, text

    def row_text(self, rows: Rows, items: Spans) -> list[str]:
        """Each row's text exactly as written in its input ('' for an input's empty row)."""
        text = [""] * rows.n
        inputs = self.units.input[items.unit].tolist()
        for r, i, b, e in zip(rows.of_item.tolist(), inputs, items.begin.tolist(), items.end.tolist(), strict=True):
            text[r] = self.texts[i][b:e]
        return text


@dataclass
class Level:
    """What a task computed at one level: rows, their text, (vectors, has-vector) per column,
    extra columns, metadata counts."""

    rows: Rows
    text: list[str] | np.ndarray  # the text of each row
    vectors: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, np.ndarray] = field(default_factory=dict)


def plan_level(level: str, texts: list[str], options: PredictOptions) -> Plan:
    """What the models encode at ``level`` (whole inputs, or their sentences) and the sentence
    spans (the units at sentence level, the sentence number of each row at token levels)."""
    spec = LEVELS[level]
    sents = split_sentences(texts, options.sentence_splitter) if spec.sentences else None
    if sents is not None and spec.unit == "sentence":
        pairs = zip(sents.input.tolist(), sents.begin.tolist(), sents.end.tolist(), strict=True)
        units = Units([texts[i][b:e] for i, b, e in pairs], sents.input, sents.begin)
    else:
        units = Units(texts, np.arange(len(texts)), np.zeros(len(texts), dtype=np.int64))
    return Plan(level, texts, units, sents, options)


def lay_out_rows(n_inputs: int, item_input: np.ndarray, items: Spans) -> Rows:
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
    b[of_item] = items.begin
    e[of_item] = items.end
    return Rows(n_rows, row_input, of_item, items.unit, b, e)


def align(pieces: Pieces, items: Spans, longest: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For spans in units, the first and last piece of ``pieces`` that overlap each span, and
    whether any does."""
    m = longest + 1
    unit = pieces.piece_unit
    end_keys = np.maximum.accumulate(unit * m + pieces.end) if len(unit) else unit
    begin_keys = np.maximum.accumulate(unit * m + pieces.begin) if len(unit) else unit
    first = np.searchsorted(end_keys, items.unit * m + items.begin, side="right")
    last = np.searchsorted(begin_keys, items.unit * m + items.end, side="left") - 1
    lo = pieces.unit_start[items.unit]
    hi = pieces.unit_start[items.unit + 1]
    valid = (first <= last) & (first >= lo) & (first < hi) & (last >= lo) & (last < hi)
    return np.where(valid, first, 0), np.where(valid, last, 0), valid


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


def per_row(per_unit: np.ndarray, has_unit: np.ndarray, rows: Rows) -> tuple[np.ndarray, np.ndarray]:
    """Each row's value of its unit (rows laid out from units): the per-unit block itself where
    rows and units are one to one (the usual case: no copy of what may be the largest array of
    the result), else gathered."""
    item_unit = rows.item_unit
    n = len(item_unit)
    one_to_one = rows.n == n == len(per_unit) and np.array_equal(item_unit, np.arange(n))
    if one_to_one and np.array_equal(rows.of_item, item_unit):
        return per_unit, has_unit
    block = np.zeros((rows.n, *per_unit.shape[1:]), dtype=per_unit.dtype)
    block[rows.of_item] = per_unit[item_unit]
    has = np.zeros(rows.n, dtype=bool)
    has[rows.of_item] = has_unit[item_unit]
    return block, has
