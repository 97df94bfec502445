"""Pipeline: texts in, a pandas DataFrame of aligned tokens, sentences or documents and vectors out.

``predict`` = preprocess (read inputs, split sentences, tokenize, plan windows) → forward
(:mod:`nlu_lite.encoder`: length-sorted, token-budget batches under ``torch.inference_mode``) →
postprocess (scatter vectors to words or pool them, vectorised; one DataFrame at the end).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import os
import platform
import warnings
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from nlu_lite import scale
from nlu_lite.batching import PooledMemory, pooled_memory
from nlu_lite.components import Components, load_components
from nlu_lite.conventions import (
    NLU_ONLY_ATTRIBUTES,
    nlu5_frame,
    nlu5_parts,
    object_cells,
    resolve_convention,
    token_matrices,
    vector_names,
)
from nlu_lite.devices import pick_device, pick_dtype, pick_engine
from nlu_lite.encoder import Encoder
from nlu_lite.errors import InvalidOptionError, NotInNluLiteError
from nlu_lite.inputs import Inputs, check_index_column, chunks, is_dask, is_spark, read_inputs, row_count
from nlu_lite.levels import LEVELS, build_level, check_sentence_head, plan_units
from nlu_lite.options import (
    DEFAULT_BATCH_SIZE,
    OUTPUT_LEVELS,
    EmbeddingFormat,
    Errors,
    LayerCombine,
    PredictOptions,
    describe_options,
)
from nlu_lite.output import assemble
from nlu_lite.registry import Entry
from nlu_lite.sentences import Splitter

logger = logging.getLogger("nlu_lite")

# work that looks longer than this shows a progress bar (progress=None)
PROGRESS_MIN_SECONDS = 2.0


class Pipeline:
    """Loaded components and the predict() that runs them.  Build one with ``nlu_lite.load``."""

    def __init__(
        self, components: Sequence[Components], device: str = "cpu", dtype: str = "float32", engine: str | None = None
    ) -> None:
        import torch

        if not components:
            raise InvalidOptionError("components", components, "at least one loaded component")
        self.device = torch.device(device)
        self.dtype = dtype
        precisions = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}
        if dtype not in precisions:
            raise InvalidOptionError("dtype", dtype, tuple(precisions))
        compute = precisions[dtype]
        self.engine = pick_engine(engine)
        self.encoders = [Encoder(c, self.device, compute, self.engine) for c in components]
        self.recipe = scale.recipe_key(tuple(c.entry for c in components), str(device), dtype, self.engine)
        scale.remember(self)
        self.nlu_ref = " ".join(e.entry.spelling for e in self.encoders)  # NLU's name for the request

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles as its recipe (entries, device, dtype, engine), never the weights: a Dask or Spark worker
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
                "engine": e.engine,
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

    @property
    def components(self) -> list[dict[str, Any]]:
        """The loaded models, one dict each (spelling, source, revision, dimension, pooling, …)."""
        return self._describe()

    def print_info(self, minimal: bool = True) -> None:
        """Print the loaded models and every predict() option with its values and default;
        ``minimal=False`` adds where each model setting came from (registry, model files, default)."""
        for r, enc in zip(self._describe(), self.encoders, strict=True):
            print(", ".join(f"{k}: {v}" for k, v in r.items()))
            if not minimal:
                for key, source in enc.entry.settings_from:
                    print(f"  {key:<16} {getattr(enc.entry, key, None)!r}  (from {source})")
        first = self.encoders[0].entry
        defaults = {"output_level": first.output_level, "pooling": first.pooling, "word_pooling": first.word_pooling}
        print(f"device: {self.device}, dtype: {self.dtype}")
        print("predict() options:")
        print("\n".join(describe_options(defaults)))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the pipeline to a folder that ``nlu_lite.load(path=...)`` reads back with no
        network: each model's weights and tokenizer, its sentence-transformers modules, and a
        manifest (``nlu_lite.json``, plain data) with every setting, so the vectors are the same."""
        from nlu_lite.saving import save_pipeline

        return save_pipeline(self, path)

    def predict_embeds(
        self, data: Any, multithread: bool = True, return_spark_df: bool = False, partition: int | None = None
    ) -> Any:
        """NLU's ``predict_embeds``: one vector per input (document level, the model's pooling),
        as a list of float lists in input order; None for an empty input.  With
        ``return_spark_df=True``, a Spark DataFrame with one ``embeddings`` column."""
        # nlu_lite's own layout whatever NLU_LITE_CONVENTION says: pooled vectors under known names
        df = self.predict(
            data, "document", return_spark_df=False, partition=partition, progress=False, convention="nlu_lite"
        )
        column = self.encoders[0].entry.column
        vectors = [None if v is None else v.tolist() for v in df[column]]
        if return_spark_df:
            import pandas as pd

            return scale.to_spark(pd.DataFrame({"embeddings": vectors}), keep_index=False)
        return vectors

    def __getattr__(self, name: str) -> Any:
        """NLU's pipe attributes nlu_lite has none of: an error that says what to use instead."""
        if name in NLU_ONLY_ATTRIBUTES:
            raise NotInNluLiteError(f"pipe.{name}", NLU_ONLY_ATTRIBUTES[name])
        raise AttributeError(f"'Pipeline' object has no attribute {name!r}")

    def __getitem__(self, key: Any) -> Any:
        """NLU's ``pipe['<component>'].setX(...)``: nlu_lite's models have no such parameters."""
        raise NotInNluLiteError(f"pipe[{key!r}]", NLU_ONLY_ATTRIBUTES["keys"])

    def __repr__(self) -> str:
        parts = ", ".join(f"{e.entry.spelling} ({e.components.origin}, {e.entry.dimension}-d)" for e in self.encoders)
        return f"nlu_lite.Pipeline({parts}; device={self.device}, dtype={self.dtype})"

    def predict(
        self,
        data: Any,
        output_level: str | None = None,
        output_path: str | os.PathLike[str] | None = None,
        positions: bool = False,
        keep_stranger_features: bool | None = None,
        metadata: bool = False,
        multithread: bool = True,
        drop_irrelevant_cols: bool = True,
        return_spark_df: bool = False,
        get_embeddings: bool = True,
        parser_output: bool = False,
        parser_config: Any = None,
        partition: int | None = None,
        *,
        pooling: str | None = None,
        word_pooling: str | None = None,
        layers: int | Sequence[int] = -1,
        layer_combine: LayerCombine = "mean",
        sentence_splitter: Splitter | None = None,
        prompt: str | None = None,
        embedding_format: EmbeddingFormat = "array",
        text_column: Hashable | None = None,
        keep_columns: bool = True,
        errors: Errors = "raise",
        token_budget: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        overlap: float = 0.25,
        progress: bool | None = None,
        index_column: str | None = None,
        convention: str | None = None,
        tokenizer: str | None = None,
    ) -> Any:
        """Embed ``data`` (string, list/tuple/array of strings, Series, DataFrame, dask or Spark
        DataFrame) into a DataFrame at ``output_level`` (token, sub_token, sentence, document; the
        model's own when None or ''), each row keeping its input's index label, nothing truncated.

        Positional keywords are NLU's, in NLU's order and meaning (``output_path`` writes the result
        too, ``keep_stranger_features`` keeps other columns, ``drop_irrelevant_cols=False`` adds the
        input as ``document``, ``get_embeddings=False`` drops vectors, ``return_spark_df`` gives a
        Spark DataFrame, ``partition`` repartitions Spark/dask input; ``multithread`` has no effect,
        ``parser_*`` are refused).  The keyword-only rest is nlu_lite's; ``print_info()`` lists all;
        ``convention='nlu5'`` gives NLU 5's layout and Spark NLP's tokens (docs/migration.md).
        """
        options = predict_options(locals())  # the arguments, as given: nothing else is bound yet
        check_index_column(data, index_column)
        if is_dask(data) or is_spark(data):
            return scale.predict_distributed(self, data, options, index_column)
        _check_output_path(options)
        return finish(self._predict(data, options), options)

    def _check(self, level: str, options: PredictOptions) -> None:
        """The checks that need the models: prompt names, layer ranges, sentence heads."""
        known_prompts = {"query", "passage"}.union(*(e.entry.prompt_table() for e in self.encoders))
        if options.prompt is not None and options.prompt not in known_prompts:
            raise InvalidOptionError("prompt", options.prompt, (None, *sorted(known_prompts)))
        if options.prompt is not None and not LEVELS[level].pooled:
            raise InvalidOptionError(
                "prompt", options.prompt, "None at token levels (prompts are for sentence/document vectors)"
            )
        for enc in self.encoders:
            enc.layer_indices(options.layers)  # validate before any work
        if LEVELS[level].pooled and options.pooling is None:
            check_sentence_head(self.encoders, options.prompt)

    def _predict(self, data: Any, options: PredictOptions) -> Any:
        level = options.level_for(self.encoders[0].entry.output_level)
        self._check(level, options)
        inputs = read_inputs(
            data, text_column=options.text_column, errors=options.errors, keep_columns=options.keep_columns
        )
        texts = inputs.texts
        # NLU 5's document level of word models is their token vectors, unpooled (see _nlu5): no
        # pooled forward for a pipeline of word models only
        word_only = all(e.entry.task == "embed" for e in self.encoders)
        skip = options.convention == "nlu5" and level == "document" and word_only
        # get_embeddings=False: the rows without running a model (NLU leaves the vectors out too)
        done = self._level(level, texts, options, self.encoders if options.get_embeddings and not skip else [])
        rows, extra = done.rows, done.extra
        if not options.drop_irrelevant_cols and level != "document":  # NLU keeps the input text too
            extra["document"] = np.asarray(texts, dtype=object)[rows.input]
        parts: dict[str, Any] = {
            "level": level,
            "texts": done.text,
            "index": inputs.index.take(rows.input),
            "begin": rows.begin,
            "end": rows.end,
            "positions": options.positions,
            "extra": extra,
            "meta": done.meta,
            "vectors": done.vectors,
            "carried": inputs.carried.iloc[rows.input] if inputs.carried is not None else None,
            "embedding_format": options.embedding_format,
            "attrs": self._provenance(level, options, inputs),
        }
        if options.convention == "nlu5":
            return self._nlu5(parts, inputs, done, options)
        return assemble(**parts)

    def _level(
        self, level: str, texts: list[str], options: PredictOptions, encoders: list[Encoder] | None = None
    ) -> Any:
        """The rows at ``level`` and the vectors of ``encoders`` (all models when None), with the
        metadata counts asked for (of the first model's pieces)."""
        first = self.encoders[0]
        planned = plan_units(level, texts, options.sentence_splitter)
        units = planned[0]
        # prompts (asked for, or the model's default from its files) apply to pooled levels only
        prefix = first.prefix_for(options.prompt) if LEVELS[level].pooled else ""
        pieces0 = first.tokenize(units.texts, prefix, spans=not LEVELS[level].pooled)
        ran = self.encoders if encoders is None else encoders
        tick = self._progress_bar(options.progress, len(pieces0.ids) if ran else 0)
        try:
            done = build_level(level, ran, texts, planned, pieces0, options, tick)
        finally:
            if tick is not None:
                tick.close()
        if options.metadata:
            rows = done.rows
            per_input = functools.partial(np.bincount, units.input, minlength=len(texts))
            done.meta["input_pieces"] = per_input(weights=np.diff(pieces0.unit_start)).astype(np.int64)[rows.input]
            windows = np.bincount(first.windows(pieces0, options.overlap).unit, minlength=len(units.texts))
            done.meta["input_windows"] = per_input(weights=windows).astype(np.int64)[rows.input]
        return done

    def _nlu5(self, parts: dict[str, Any], inputs: Inputs, done: Any, options: PredictOptions) -> Any:
        """The result in NLU 5's layout (see nlu_lite.conventions)."""
        refs = self.nlu_ref.split()
        if len(refs) != len(self.encoders):
            refs = [e.entry.spelling for e in self.encoders]
        tasks = [e.entry.task for e in self.encoders]
        names = dict(zip([e.entry.column for e in self.encoders], vector_names(refs, tasks), strict=True))
        if not options.get_embeddings:  # no vector columns, nor their positions (as NLU)
            names = {}
        level, rows = parts["level"], done.rows
        matrices = {}
        # NLU gives word models' token vectors, unpooled
        if level == "document" and "embed" in tasks and options.get_embeddings:
            tok = self._level("token", inputs.texts, replace(options, metadata=False))
            has_text = np.zeros(tok.rows.n, dtype=bool)
            has_text[tok.rows.of_item] = True  # the one empty row of an input without tokens is none
            for enc, task in zip(self.encoders, tasks, strict=True):
                if task == "embed":
                    block, has = tok.vectors[enc.entry.column]
                    per_input = token_matrices(tok.rows.input, has_text, block, has, len(inputs.texts))
                    matrices[names[enc.entry.column]] = [per_input[i] for i in rows.input.tolist()]
        row_text = np.asarray(inputs.texts, dtype=object)[rows.input] if inputs.carried is not None else None
        spans = (rows.begin, rows.end) if options.positions else None
        parts["vectors"], parts["extra"] = nlu5_parts(level, parts["vectors"], parts["extra"], names, spans, row_text)
        for name, values in matrices.items():  # built with the rest, so a user's column of that name is kept
            parts["extra"][name] = object_cells(values)
        parts["positions"] = False
        return nlu5_frame(assemble(**parts), list(names.values()))

    def predict_iter(self, data: Any, chunk_rows: int = 10_000, **options: Any) -> Iterator[Any]:
        """predict() in chunks of ``chunk_rows`` input rows, yielding one DataFrame per chunk.

        ``data`` may be anything predict() takes, or any iterable of strings (a generator, an open
        text file: one text per line, without its ``\n`` or ``\r\n``), so a corpus larger than
        memory streams through; rows of a plain iterable are labelled by their running position.
        Open a file with ``newline='\n'`` to end lines at ``\n`` only, as the command line does
        (Python's default also ends them at a lone ``\r``).  A dask collection comes a partition at
        a time, a Spark DataFrame streams to this process a partition at a time (its rows labelled
        by running position, or by ``index_column``).  Options are predict()'s, less
        ``output_path`` and ``return_spark_df``, which would act on each chunk alone; options are
        checked here, at the call, not when the first chunk is asked for.  At sentence and document
        level the pooled vectors of earlier chunks are remembered (up to 64 MB of vectors, least
        recently used first): a text that comes again in a later chunk is not run again.
        """
        index_column = self._streamed(options, "predict_iter")
        memory = PooledMemory()
        return (self._remembering(memory, part, options) for part in chunks(data, chunk_rows, index_column))

    def _remembering(self, memory: PooledMemory, part: Any, options: dict[str, Any]) -> Any:
        """predict() of one chunk of a streaming call, with the pooled vectors of the chunks before:
        at sentence and document level a text an earlier chunk embedded is not run again (within
        one predict, repeats are found anyway; see nlu_lite.batching.PooledMemory)."""
        token = pooled_memory.set(memory)
        try:
            return self.predict(part, **options)
        finally:
            pooled_memory.reset(token)

    def predict_to_parquet(
        self, data: Any, path: str | os.PathLike[str], chunk_rows: int = 10_000, **options: Any
    ) -> int:
        """Stream predict() into a parquet file chunk by chunk; returns the rows written.

        Memory stays that of one chunk, whatever the corpus size.  Vectors are stored as
        list<float32>; the index as a column (``origin_index`` unless it has a name).  Needs pyarrow.
        An interrupted run (an error, Ctrl-C, a full disk) keeps its finished chunks in a hidden
        folder beside ``path`` (``.NAME.chunks``) and leaves ``path`` as it was; the same call again
        continues from them, recomputing any chunk whose input, model or options changed.  The
        file appears, whole, when every chunk is done (see nlu_lite.checkpoint).  ``data`` is what
        predict_iter() takes: a dask or Spark DataFrame streams into the one file a partition at a
        time.  As in predict_iter(), a text an earlier chunk embedded at sentence or document level
        is not run again.
        """
        from nlu_lite._version import __version__
        from nlu_lite.checkpoint import ParquetChunks, callable_identity, fingerprint

        if options.get("embedding_format", "array") != "array":
            raise InvalidOptionError("embedding_format", options["embedding_format"], "'array' for parquet output")
        index_column = self._streamed(options, "predict_to_parquet")
        kept = {k: v for k, v in sorted(options.items()) if k != "progress"}
        if kept.get("sentence_splitter") is not None:  # by what it does, not where it lies in memory
            kept["sentence_splitter"] = callable_identity(kept["sentence_splitter"])
        job = {
            "nlu_lite": __version__,
            "models": self._identity(),
            "dtype": self.dtype,
            "chunk_rows": chunk_rows,
            "options": kept,
            "index_column": index_column,
        }
        parts = chunks(data, chunk_rows, index_column)
        memory = PooledMemory()
        with ParquetChunks(path, job) as out, _row_bar(options.get("progress"), data, chunk_rows, out.path) as bar:
            for k, part in enumerate(parts):
                key = fingerprint(part)
                if not out.done(k, key):
                    out.write(k, key, self._remembering(memory, part, options))
                bar.update(row_count(part) or 0)
            if not out.parts:  # no input rows: a file of no rows, with the columns predict([]) has
                out.write(0, "empty", self.predict([], **options))
            if out.reused:
                logger.info("%d of %d chunks of %s taken from an earlier run", out.reused, len(out.parts), out.path)
            return out.finish()

    def _identity(self) -> list[dict[str, Any]]:
        """What decides each model's numbers: its name, source, revision and files (name, size,
        modification time), so that a model saved again into the same folder counts as another."""
        models = []
        for e in self.encoders:
            folder = e.components.folder
            found = sorted(p for p in folder.iterdir() if p.is_file()) if folder is not None and folder.is_dir() else []
            files = [[p.name, st.st_size, st.st_mtime_ns] for p, st in ((p, p.stat()) for p in found)]
            models.append(
                {
                    "spelling": e.entry.spelling,
                    "source": e.components.repo or e.components.origin,
                    "revision": e.components.revision,
                    "files": files,
                }
            )
        return models

    def _streamed(self, options: dict[str, Any], call: str) -> str | None:
        """A chunked call's options checked at the call, every one as predict() checks it, the
        convention in force fixed for all its chunks (and its parquet job).  Takes out and returns
        ``index_column``."""
        index_column = _streamed_only(options, call)
        options["convention"] = resolve_convention(options.get("convention"))
        bound = _PREDICT_SIGNATURE.bind(self, [], **options)  # an unknown keyword: TypeError, as predict()
        bound.apply_defaults()
        checked = predict_options(bound.arguments)
        self._check(checked.level_for(self.encoders[0].entry.output_level), checked)
        return index_column

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
        flops = sum(24 * e.dimension**2 * e.n_layers for e in self.encoders)
        return pieces * flops / rate

    def _provenance(self, level: str, options: PredictOptions, inputs: Inputs) -> dict[str, Any]:
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
            "pooling": [options.pooling or e.entry.pooling for e in self.encoders],
            "word_pooling": [options.word_pooling or e.entry.word_pooling for e in self.encoders],
            **options.provenance(),
            "max_length": [e.max_length for e in self.encoders],
            "settings_from": [dict(e.entry.settings_from) for e in self.encoders],
            "dtype": self.dtype,
            "device": str(self.device),
            "engines": [e.engine for e in self.encoders],
            "inputs": len(inputs.texts),
            "versions": {
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "python": platform.python_version(),
            },
        }


_PREDICT_SIGNATURE = inspect.signature(Pipeline.predict)
_OPTION_NAMES = frozenset(f.name for f in dataclasses.fields(PredictOptions))


def predict_options(given: dict[str, Any]) -> PredictOptions:
    """predict()'s arguments (every one, by name) as the options they make, checked: NLU's parser
    keywords refused, ``keep_stranger_features`` as ``keep_columns``, the output path a string."""
    _refuse_parser(given["parser_output"], given["parser_config"])
    kwargs = {k: v for k, v in given.items() if k in _OPTION_NAMES}
    if given["keep_stranger_features"] is not None:
        kwargs["keep_columns"] = bool(given["keep_stranger_features"])
    if kwargs["output_path"] is not None:
        kwargs["output_path"] = os.fspath(kwargs["output_path"])
    return PredictOptions(**kwargs)


def _streamed_only(options: dict[str, Any], call: str) -> str | None:
    """The options of a chunked call (predict_iter, predict_to_parquet) checked: ``output_path`` and
    ``return_spark_df`` would act on each chunk alone (each chunk overwriting the file), so they
    are refused.  Takes out and returns ``index_column``, which chunks() applies to Spark input."""
    if options.get("output_path") is not None:
        raise InvalidOptionError(
            "output_path",
            options["output_path"],
            f"None in {call}: each chunk would overwrite it (write with predict_to_parquet)",
        )
    if options.get("return_spark_df"):
        raise InvalidOptionError(
            "return_spark_df", options["return_spark_df"], f"False in {call}, which gives pandas chunks"
        )
    return options.pop("index_column", None)


def _check_output_path(options: PredictOptions) -> None:
    """``output_path`` checked before the run: a typo fails now, not after every text was embedded."""
    if options.output_path is not None:
        from nlu_lite.output import check_frame_target

        check_frame_target(options.output_path)
        if options.embedding_format == "numpy":  # the vectors would be in the matrix only, not in the file
            raise InvalidOptionError("embedding_format", "numpy", "'array' or 'expand' with output_path")


def _refuse_parser(parser_output: bool, parser_config: Any) -> None:
    if parser_output or parser_config:
        raise InvalidOptionError(
            "parser_output",
            parser_output or parser_config,
            "False: NLU's parser output is for dependency parsers; embeddings have none (not applicable to embeddings)",
        )


def finish(result: Any, options: PredictOptions) -> Any:
    """NLU's after-steps on a pandas result: the file written (``output_path``), a Spark DataFrame
    made (``return_spark_df``)."""
    frame = result[0] if isinstance(result, tuple) else result
    if options.output_path is not None:
        from nlu_lite.output import write_frame

        write_frame(frame, options.output_path)
    if options.return_spark_df:
        return scale.to_spark(frame)
    return result


def build(
    entries: tuple[Entry, ...], device: str = "cpu", dtype: str = "float32", engine: str | None = None
) -> Pipeline:
    """A Pipeline for entries: the device and precision checked here, the components built.
    ``nlu_lite.load`` and workers that unpickle a pipeline both come through here."""
    dev = pick_device(device)
    precision = pick_dtype(dtype, dev)
    components = [load_components(e, device=dev) for e in _once(entries)]
    return Pipeline(components, device=dev, dtype=precision, engine=engine)


def _once(entries: tuple[Entry, ...]) -> list[Entry]:
    """Each model once (a spelling and its alias named together load one model, with a warning);
    two models whose output columns would be one are refused, before anything is loaded."""
    kept: dict[str, Entry] = {}
    for entry in entries:
        other = kept.get(entry.column)
        if other is None:
            kept[entry.column] = entry
        elif other == entry:
            warnings.warn(f"{entry.spelling!r} is named more than once; it is loaded once.", UserWarning, stacklevel=4)
        else:
            raise InvalidOptionError(
                "request",
                f"{other.spelling} {entry.spelling}",
                f"models with distinct output columns ({entry.column!r} would hold both): load them in two pipelines",
            )
    return list(kept.values())


def restore(entries: tuple[Entry, ...], device: str, dtype: str, engine: str = "auto") -> Pipeline:
    """The pipeline for a recipe: from this process's cache, else built (once) and kept."""
    key = scale.recipe_key(entries, device, dtype, engine)
    with scale.lock:
        pipe = scale.cached(key)
        if pipe is None:
            pipe = build(entries, device, dtype, engine)
            scale.keep_built(key, pipe)
        return pipe


def _row_bar(progress: bool | None, data: Any, chunk_rows: int, target: Path) -> Any:
    """One tqdm bar over the input rows of predict_to_parquet (each chunk's own bar over its word
    pieces comes and goes beneath it).  Shown when asked (progress=True), or (None) when the input
    holds more than one chunk or its size is unknown (a stream); disabled with progress=False."""
    from tqdm.auto import tqdm

    total = row_count(data)
    shown = progress is True or (progress is None and (total is None or total > chunk_rows))
    desc = f"nlu_lite -> {target.name}"
    return tqdm(total=total, desc=desc, unit="row", unit_scale=True, leave=False, disable=not shown)


class _Progress:
    """A tqdm bar (notebook-aware through tqdm.auto) counting word pieces through the model."""

    def __init__(self, total: int) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc="nlu_lite", unit="piece", unit_scale=True, leave=False)

    def __call__(self, pieces: int) -> None:
        self.bar.update(pieces)

    def close(self) -> None:
        self.bar.close()
