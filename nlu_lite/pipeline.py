"""Pipeline: texts in, a pandas DataFrame of aligned tokens, sentences or documents and vectors out.

``predict`` = preprocess (read inputs, split sentences, tokenize, plan windows) → forward
(:mod:`nlu_lite.encoder`: length-sorted, token-budget batches under ``torch.inference_mode``) →
postprocess (scatter vectors to words or pool them, vectorised; one DataFrame at the end).
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import platform
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from nlu_lite import scale
from nlu_lite.batching import Pieces
from nlu_lite.components import Components, load_components
from nlu_lite.devices import pick_device, pick_dtype
from nlu_lite.encoder import (
    DEFAULT_BATCH_SIZE,
    LAYER_COMBINES,
    Encoder,
    LayerCombine,
    RunOptions,
)
from nlu_lite.errors import InvalidOptionError
from nlu_lite.inputs import Errors, Inputs, read_inputs
from nlu_lite.output import EMBEDDING_FORMATS, assemble
from nlu_lite.pooling import reduce_words, word_targets
from nlu_lite.registry import OUTPUT_LEVELS, SENTENCE_POOLINGS, WORD_POOLINGS, Entry
from nlu_lite.sentences import Splitter, run_splitter, split_spans_many

logger = logging.getLogger("nlu_lite")

EmbeddingFormat = Literal["array", "expand", "numpy"]
# work that looks longer than this shows a progress bar (progress=None)
PROGRESS_MIN_SECONDS = 2.0


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


def _rows(n_inputs: int, item_input: np.ndarray, item_unit: np.ndarray, begin: np.ndarray, end: np.ndarray) -> Rows:
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
class _Sentences:
    """Sentence spans of all inputs, in order: input row, begin and end offsets."""

    input: np.ndarray
    begin: np.ndarray
    end: np.ndarray


def _split_sentences(texts: list[str], splitter: Splitter | None) -> _Sentences:
    if splitter is None:
        return _Sentences(*split_spans_many(texts))
    spans = [run_splitter(splitter, t) if t.strip() else [] for t in texts]
    counts = np.fromiter((len(s) for s in spans), dtype=np.int64, count=len(spans))
    flat = np.array([se for s in spans for se in s], dtype=np.int64).reshape(-1, 2)
    return _Sentences(np.repeat(np.arange(len(texts)), counts), flat[:, 0], flat[:, 1])


def _sentence_ids(rows: Rows, sents: _Sentences, longest: int) -> np.ndarray:
    """The sentence number (within its input) of each row's start; -1 for empty rows."""
    sentence_id = np.full(rows.n, -1, dtype=np.int64)
    if len(sents.input):
        m = longest + 1
        row_input = rows.input[rows.of_item]
        pos = np.searchsorted(sents.input * m + sents.begin, row_input * m + rows.begin[rows.of_item], side="right") - 1
        first_sent = np.searchsorted(sents.input, row_input, side="left")
        sentence_id[rows.of_item] = np.maximum(pos - first_sent, 0)
    return sentence_id


def _check_sentence_head(encoders: Sequence[Encoder], prompt: str | None) -> None:
    """Refuse sentence vectors whose recipe in the model's files nlu_lite cannot reproduce, rather
    than give vectors that silently differ from sentence-transformers'."""
    for enc in encoders:
        problems = list(enc.components.unsupported)
        if "include_prompt" in dict(enc.entry.settings_from) and enc.prefix_for(prompt):
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
class _Level:
    """What one output level computed: rows, their text, (vectors, has-vector) per column, extras."""

    rows: Rows
    text: list[str] | np.ndarray  # the text of each row
    vectors: dict[str, tuple[np.ndarray, np.ndarray]]
    extra: dict[str, np.ndarray]
    meta: dict[str, np.ndarray]
    windows_per_unit: np.ndarray


class Pipeline:
    """Loaded components and the predict() that runs them.  Build one with ``nlu_lite.load``."""

    def __init__(self, components: Sequence[Components], device: str = "cpu", dtype: str = "float32") -> None:
        import torch

        if not components:
            raise InvalidOptionError("components", components, "at least one loaded component")
        self.device = torch.device(device)
        self.dtype = dtype
        precisions = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}
        if dtype not in precisions:
            raise InvalidOptionError("dtype", dtype, tuple(precisions))
        compute = precisions[dtype]
        self.encoders = [Encoder(c, self.device, compute) for c in components]
        self.recipe = scale.recipe_key(tuple(c.entry for c in components), str(device), dtype)
        scale.remember(self)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles as its recipe (entries, device, dtype), never the weights: a Dask or Spark worker
        that unpickles it builds the model once per process and reuses it."""
        return (restore, self.recipe)

    def __dask_tokenize__(self) -> Any:
        return ("nlu_lite.Pipeline", repr(self.recipe))

    @property
    def spellings(self) -> list[str]:
        return [e.entry.spelling for e in self.encoders]

    def _describe(self) -> list[dict[str, Any]]:
        return [
            {
                "spelling": e.entry.spelling,
                "task": e.entry.task,
                "source": e.components.repo or e.components.origin,
                "revision": (e.components.revision or "")[:12],
                "dimension": e.entry.dimension,
                "layers": e.n_layers,
                "max length": e.max_length,
                "default level": e.entry.output_level,
                "pooling": e.entry.pooling,
            }
            for e in self.encoders
        ]

    def _repr_html_(self) -> str:
        import html

        rows = self._describe()
        head = "".join(f"<th>{html.escape(k)}</th>" for k in rows[0])
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r.values()) + "</tr>" for r in rows)
        return (
            f"<div><b>nlu_lite.Pipeline</b> — device {html.escape(str(self.device))}, dtype {self.dtype}; "
            f"levels: {', '.join(OUTPUT_LEVELS)}"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        )

    def print_info(self) -> None:
        """Print the loaded models and every predict() option with its values and default."""
        for r in self._describe():
            print(", ".join(f"{k}: {v}" for k, v in r.items()))
        first = self.encoders[0].entry
        options = [
            ("output_level", OUTPUT_LEVELS, first.output_level),
            ("positions", (False, True), False),
            ("pooling", SENTENCE_POOLINGS, first.pooling),
            ("word_pooling", WORD_POOLINGS, first.word_pooling),
            ("layers", "-1, any index (0 = embeddings), or a list", -1),
            ("layer_combine", LAYER_COMBINES, "mean"),
            ("sentence_splitter", "None (rule-based) or a callable text -> sentences", None),
            ("prompt", (None, "query", "passage"), None),
            ("metadata", (False, True), False),
            ("embedding_format", EMBEDDING_FORMATS, "array"),
            ("text_column", "a DataFrame column", None),
            ("keep_columns", (True, False), True),
            ("errors", ("raise", "coerce"), "raise"),
            ("token_budget", "padded positions per batch", "2048 on CPU, 65536 on GPU"),
            ("batch_size", "windows per batch at most", DEFAULT_BATCH_SIZE),
            ("overlap", "fraction of a window shared with the next", 0.25),
            ("progress", (None, True, False), "None (a bar when work looks longer than 2 s)"),
        ]
        print(f"device: {self.device}, dtype: {self.dtype}")
        print("predict() options:")
        for name, values, default in options:
            shown = values if isinstance(values, str) else ", ".join(repr(v) for v in values)
            print(f"  {name:<18} {shown}  (default: {default!r})")

    def __repr__(self) -> str:
        parts = ", ".join(f"{e.entry.spelling} ({e.components.origin}, {e.entry.dimension}-d)" for e in self.encoders)
        return f"nlu_lite.Pipeline({parts}; device={self.device}, dtype={self.dtype})"

    def predict(
        self,
        data: Any,
        output_level: str | None = None,
        positions: bool = False,
        *,
        pooling: str | None = None,
        word_pooling: str | None = None,
        layers: int | Sequence[int] = -1,
        layer_combine: LayerCombine = "mean",
        sentence_splitter: Splitter | None = None,
        prompt: Literal["query", "passage"] | None = None,
        metadata: bool = False,
        embedding_format: EmbeddingFormat = "array",
        text_column: str | None = None,
        keep_columns: bool = True,
        errors: Errors = "raise",
        token_budget: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        overlap: float = 0.25,
        progress: bool | None = None,
        index_column: str | None = None,
    ) -> Any:
        """Embed ``data`` and return a DataFrame at ``output_level``.

        ``data``: a string, a list/tuple/numpy array of strings, a pandas Series, or a DataFrame
        (column ``text``, ``text_column=``, else the first string column; its other columns are
        carried along unless ``keep_columns=False``).

        Levels: ``token`` (words of the tokenizer's pre-tokenisation, as written), ``sub_token``
        (word pieces), ``sentence`` (rule-based splitter, or ``sentence_splitter=callable``),
        ``document``.  Word vectors come from the word's pieces (``word_pooling``: first, mean,
        last); sentence and document vectors are pooled (``pooling``: mean, cls, pooler, max).
        ``layers``: -1 (last), any index (0 = embeddings), or a list combined by
        ``layer_combine`` (mean, sum, concat).

        The index repeats each input's own label; null or blank inputs keep one row with an empty
        text and no vector.  Texts longer than the model's window are split into windows that
        overlap by ``overlap``; nothing is truncated.  ``prompt='query'`` or ``'passage'`` puts the
        model's instruction prefix (E5, BGE) in front of each text at sentence and document level.
        ``positions=True`` adds ``begin``/``end`` offsets into the input text; ``metadata=True``
        adds piece and window counts.

        A ``dask.dataframe`` DataFrame or Series gives a lazy dask DataFrame with the same columns;
        a ``pyspark.sql.DataFrame`` gives a Spark DataFrame (``index_column`` names the column
        that plays the index's part there).  See :mod:`nlu_lite.scale`.

        ``embedding_format``: ``array`` (a column of float32 arrays), ``expand`` (one float32
        column per dimension), or ``numpy`` (returns ``(DataFrame, 2-D float32 array)``; rows
        without a vector are NaN).
        """
        if scale.is_dask(data) or scale.is_spark(data):
            options = {k: v for k, v in locals().items() if k not in ("self", "data", "scale", "index_column")}
            if scale.is_dask(data):
                return scale.dask_predict(self, data, options)
            return scale.spark_predict(self, data, options, index_column)
        first = self.encoders[0]
        level = output_level or first.entry.output_level
        if level not in OUTPUT_LEVELS:
            raise InvalidOptionError("output_level", level, OUTPUT_LEVELS)
        if pooling is not None and pooling not in SENTENCE_POOLINGS:
            raise InvalidOptionError("pooling", pooling, SENTENCE_POOLINGS)
        if word_pooling is not None and word_pooling not in WORD_POOLINGS:
            raise InvalidOptionError("word_pooling", word_pooling, WORD_POOLINGS)
        if layer_combine not in LAYER_COMBINES:
            raise InvalidOptionError("layer_combine", layer_combine, LAYER_COMBINES)
        if embedding_format not in EMBEDDING_FORMATS:
            raise InvalidOptionError("embedding_format", embedding_format, EMBEDDING_FORMATS)
        known_prompts = {"query", "passage"}.union(*(e.entry.prompt_table() for e in self.encoders))
        if prompt is not None and prompt not in known_prompts:
            raise InvalidOptionError("prompt", prompt, (None, *sorted(known_prompts)))
        if prompt is not None and level in ("token", "sub_token"):
            raise InvalidOptionError(
                "prompt", prompt, "None at token levels (prompts are for sentence/document vectors)"
            )
        if sentence_splitter is not None and not callable(sentence_splitter):
            raise InvalidOptionError("sentence_splitter", sentence_splitter, "a callable text -> sentences")
        opts = RunOptions(layers, layer_combine, token_budget, batch_size, overlap)
        for enc in self.encoders:
            enc.layer_indices(layers)  # validate before any work
        inputs = read_inputs(data, text_column=text_column, errors=errors, keep_columns=keep_columns)
        texts = inputs.texts
        # sentences: the units at sentence level, the sentence number of each row at token levels
        sents = _split_sentences(texts, sentence_splitter) if level != "document" else None
        if sents is not None and level == "sentence":
            units = Units(
                [
                    texts[i][b:e]
                    for i, b, e in zip(sents.input.tolist(), sents.begin.tolist(), sents.end.tolist(), strict=True)
                ],
                sents.input,
                sents.begin,
            )
        else:
            units = Units(texts, np.arange(len(texts)), np.zeros(len(texts), dtype=np.int64))

        if level in ("sentence", "document") and pooling is None:
            _check_sentence_head(self.encoders, prompt)
        # the model's default prompt (from its files) applies at sentence and document level only
        pieces0 = first.tokenize(units.texts, first.prefix_for(prompt) if level in ("sentence", "document") else "")
        tick = self._progress_bar(progress, len(pieces0.ids))
        try:
            if sents is not None and level in ("token", "sub_token"):
                wp = word_pooling or first.entry.word_pooling
                done = self._token_level(level, texts, units, pieces0, sents, wp, opts, metadata, tick)
            else:
                done = self._unit_level(texts, units, pieces0, pooling, prompt, opts, metadata, tick)
        finally:
            if tick is not None:
                tick.close()
        rows, meta = done.rows, done.meta
        if metadata:
            per_input = functools.partial(np.bincount, units.input, minlength=len(texts))
            meta["input_pieces"] = per_input(weights=np.diff(pieces0.unit_start)).astype(np.int64)[rows.input]
            meta["input_windows"] = per_input(weights=done.windows_per_unit).astype(np.int64)[rows.input]
        return assemble(
            level=level,
            texts=done.text,
            index=inputs.index.take(rows.input),
            begin=rows.begin,
            end=rows.end,
            positions=positions,
            extra=done.extra,
            meta=meta,
            vectors=done.vectors,
            carried=inputs.carried.iloc[rows.input] if inputs.carried is not None else None,
            embedding_format=embedding_format,
            attrs=self._provenance(level, pooling, word_pooling, layers, layer_combine, inputs, prompt),
        )

    def _token_level(
        self,
        level: str,
        texts: list[str],
        units: Units,
        pieces0: Pieces,
        sents: _Sentences,
        word_pooling: str,
        opts: RunOptions,
        metadata: bool,
        tick: _Progress | None,
    ) -> _Level:
        """Rows of words (``token``) or word pieces (``sub_token``), a vector per model for each."""
        first = self.encoders[0]
        n_pieces = len(pieces0.ids)
        if level == "token":
            starts = pieces0.word_start
            item_unit = pieces0.word_unit
            item_b, item_e = pieces0.word_begin(), pieces0.word_end()
        else:
            starts = np.arange(n_pieces + 1)
            item_unit = pieces0.piece_unit
            item_b, item_e = pieces0.begin, pieces0.end
        rows = _rows(len(texts), units.input[item_unit], item_unit, item_b, item_e)
        has = np.zeros(rows.n, dtype=bool)
        has[rows.of_item] = True
        # the first component defines the rows: its vectors go straight to them
        mean_words = level == "token" and word_pooling == "mean"
        if mean_words:
            out = first.encode(pieces0, np.arange(n_pieces), n_pieces, None, opts, progress=tick)
            assert out.rows is not None
            block = np.zeros((rows.n, out.rows.shape[1]), dtype=np.float32)
            block[rows.of_item] = reduce_words(out.rows, starts)
        else:
            item_of_piece = word_targets(starts, n_pieces, word_pooling) if level == "token" else None
            if item_of_piece is None:
                target = rows.of_item
            else:
                target = np.where(item_of_piece >= 0, rows.of_item[np.maximum(item_of_piece, 0)], -1)
            out = first.encode(pieces0, target, rows.n, None, opts, progress=tick)
            assert out.rows is not None
            block = out.rows
        vectors = {first.entry.column: (block, has)}
        # other components: their own pieces, aligned to these rows by character spans
        longest = max((len(t) for t in texts), default=0)
        for enc in self.encoders[1:]:
            pk = enc.tokenize(units.texts)
            outk = enc.encode(pk, np.arange(len(pk.ids)), len(pk.ids), None, opts)
            assert outk.rows is not None
            f, last, ok = _align(pk, item_unit, item_b, item_e, longest)
            dim = outk.rows.shape[1]
            blk = np.zeros((rows.n, dim), dtype=np.float32)
            if mean_words:
                csum = np.concatenate([np.zeros((1, dim)), np.cumsum(outk.rows, axis=0, dtype=np.float64)])
                span = (last - f + 1).astype(np.float64)[:, None]
                blk[rows.of_item] = ((csum[last + 1] - csum[f]) / span).astype(np.float32)
            else:
                blk[rows.of_item] = outk.rows[last if (level == "token" and word_pooling == "last") else f]
            blk[rows.of_item[~ok]] = 0.0
            hk = np.zeros(rows.n, dtype=bool)
            hk[rows.of_item[ok]] = True
            vectors[enc.entry.column] = (blk, hk)
        text = [""] * rows.n
        for r, i, b, e in zip(
            rows.of_item.tolist(), units.input[item_unit].tolist(), item_b.tolist(), item_e.tolist(), strict=True
        ):
            text[r] = texts[i][b:e]
        meta: dict[str, np.ndarray] = {}
        if metadata:
            meta["pieces"] = np.zeros(rows.n, dtype=np.int64)
            meta["pieces"][rows.of_item] = np.diff(starts)
        extra = {"sentence_id": _sentence_ids(rows, sents, longest)}
        return _Level(rows, text, vectors, extra, meta, out.windows_per_unit)

    def _unit_level(
        self,
        texts: list[str],
        units: Units,
        pieces0: Pieces,
        pooling: str | None,
        prompt: Literal["query", "passage"] | None,
        opts: RunOptions,
        metadata: bool,
        tick: _Progress | None,
    ) -> _Level:
        """One row per sentence or document with text, a pooled vector per model for each."""
        n_units = len(units.texts)
        present = np.fromiter(map(bool, map(str.strip, units.texts)), dtype=bool, count=n_units)
        item_unit = np.flatnonzero(present)
        item_b = units.base[item_unit]
        item_e = item_b + np.fromiter(map(len, units.texts), dtype=np.int64, count=n_units)[item_unit]
        rows = _rows(len(texts), units.input[item_unit], item_unit, item_b, item_e)
        vectors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        windows_per_unit = np.zeros(0, dtype=np.int64)
        for k, enc in enumerate(self.encoders):
            pk = pieces0 if k == 0 else enc.tokenize(units.texts, enc.prefix_for(prompt))
            pool = pooling or enc.entry.pooling
            normalize = enc.entry.normalize and pooling is None
            res = enc.encode(
                pk, None, 0, pool, opts, normalize=normalize, progress=tick if k == 0 else None, head=pooling is None
            )
            assert res.pooled is not None and res.has_pooled is not None
            blk = np.zeros((rows.n, res.pooled.shape[1]), dtype=np.float32)
            blk[rows.of_item] = res.pooled[item_unit]
            hk = np.zeros(rows.n, dtype=bool)
            hk[rows.of_item] = res.has_pooled[item_unit]
            vectors[enc.entry.column] = (blk, hk)
            if k == 0:
                windows_per_unit = res.windows_per_unit
        text = np.full(rows.n, "", dtype=object)
        text[rows.of_item] = np.asarray(units.texts, dtype=object)[item_unit]
        meta: dict[str, np.ndarray] = {}
        if metadata:
            meta["pieces"] = np.zeros(rows.n, dtype=np.int64)
            meta["pieces"][rows.of_item] = np.diff(pieces0.unit_start)[item_unit]
        return _Level(rows, text, vectors, {}, meta, windows_per_unit)

    def predict_iter(self, data: Any, chunk_rows: int = 10_000, **options: Any) -> Iterator[Any]:
        """predict() in chunks of ``chunk_rows`` input rows, yielding one DataFrame per chunk.

        ``data`` may be anything predict() takes, or any iterable of strings (a generator, an open
        text file: one text per line), so a corpus larger than memory streams through; rows of a
        plain iterable are labelled by their running position.  Options are predict()'s.
        """
        import pandas as pd

        if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
            raise InvalidOptionError("chunk_rows", chunk_rows, "a positive int")
        if isinstance(data, (pd.DataFrame, pd.Series, np.ndarray, list, tuple)):
            for start in range(0, len(data), chunk_rows):
                part = data.iloc[start : start + chunk_rows] if isinstance(data, (pd.DataFrame, pd.Series)) else None
                if part is None:
                    values = list(data[start : start + chunk_rows])
                    part = pd.Series(values, index=pd.RangeIndex(start, start + len(values)), dtype=object)
                yield self.predict(part, **options)
            return
        if isinstance(data, str):
            yield self.predict(data, **options)
            return
        iterator = iter(data)
        start = 0
        while True:
            values = [v.rstrip("\n") if isinstance(v, str) else v for v in itertools.islice(iterator, chunk_rows)]
            if not values:
                return
            yield self.predict(
                pd.Series(values, index=pd.RangeIndex(start, start + len(values)), dtype=object), **options
            )
            start += len(values)

    def predict_to_parquet(
        self, data: Any, path: str | os.PathLike[str], chunk_rows: int = 10_000, **options: Any
    ) -> int:
        """Stream predict() into a parquet file, one row group per chunk; returns the rows written.

        Memory stays that of one chunk, whatever the corpus size.  Vectors are stored as
        list<float32>; the index as a column (``origin_index`` unless it has a name).  Needs pyarrow.
        """
        from nlu_lite.output import ParquetStream

        if options.get("embedding_format", "array") != "array":
            raise InvalidOptionError("embedding_format", options["embedding_format"], "'array' for parquet output")
        with ParquetStream(path) as stream:
            for frame in self.predict_iter(data, chunk_rows=chunk_rows, **options):
                stream.write(frame)
        return stream.rows

    def _progress_bar(self, progress: bool | None, pieces: int) -> _Progress | None:
        """A bar when asked (True), or when the work looks longer than about two seconds (None)."""
        if progress is False or pieces == 0:
            return None
        if progress is None and self.estimate_seconds(pieces) < PROGRESS_MIN_SECONDS:
            return None
        return _Progress(pieces)

    def estimate_seconds(self, pieces: int) -> float:
        """A rough forward time for ``pieces`` word pieces: about 24·H² FLOPs per layer and piece, at a
        rate typical of the device (measured here: ~1.3e11 FLOP/s on two CPU cores in float32)."""
        rate = 1.3e11 if self.device.type == "cpu" else 5e12
        if self.dtype != "float32":
            rate *= 2
        flops = sum(24 * e.entry.dimension**2 * e.n_layers for e in self.encoders)
        return pieces * flops / rate

    def _provenance(
        self,
        level: str,
        pooling: str | None,
        word_pooling: str | None,
        layers: Any,
        combine: str,
        inputs: Inputs,
        prompt: str | None = None,
    ) -> dict[str, Any]:
        import torch
        import transformers

        from nlu_lite._version import __version__

        return {
            "nlu_lite_version": __version__,
            "output_level": level,
            "spellings": self.spellings,
            "repos": [e.components.repo for e in self.encoders],
            "revisions": [e.components.revision for e in self.encoders],
            "origins": [e.components.origin for e in self.encoders],
            "pooling": [pooling or e.entry.pooling for e in self.encoders],
            "word_pooling": [word_pooling or e.entry.word_pooling for e in self.encoders],
            "layers": int(layers) if isinstance(layers, (int, np.integer)) else [int(x) for x in layers],
            "layer_combine": combine,
            "prompt": prompt,
            "max_length": [e.max_length for e in self.encoders],
            "settings_from": [dict(e.entry.settings_from) for e in self.encoders],
            "dtype": self.dtype,
            "device": str(self.device),
            "inputs": len(inputs.texts),
            "versions": {
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "python": platform.python_version(),
            },
        }


def build(entries: tuple[Entry, ...], device: str = "cpu", dtype: str = "float32") -> Pipeline:
    """A Pipeline for entries: the device and precision checked here, the components built.
    ``nlu_lite.load`` and workers that unpickle a pipeline both come through here."""
    dev = pick_device(device)
    precision = pick_dtype(dtype, dev)
    return Pipeline([load_components(e, device=dev) for e in entries], device=dev, dtype=precision)


def restore(entries: tuple[Entry, ...], device: str, dtype: str) -> Pipeline:
    """The pipeline for a recipe: from this process's cache, else built (once) and kept."""
    key = scale.recipe_key(entries, device, dtype)
    with scale.lock:
        pipe = scale.cached(key)
        if pipe is None:
            pipe = build(entries, device, dtype)
            scale.keep_built(key, pipe)
        return pipe


class _Progress:
    """A tqdm bar (notebook-aware through tqdm.auto) counting word pieces through the model."""

    def __init__(self, total: int) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc="nlu_lite", unit="piece", unit_scale=True, leave=False)

    def __call__(self, pieces: int) -> None:
        self.bar.update(pieces)

    def close(self) -> None:
        self.bar.close()
