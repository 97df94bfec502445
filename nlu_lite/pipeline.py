"""Pipeline: texts in, a pandas DataFrame of aligned tokens, sentences or documents and vectors out.

``predict`` = preprocess (read inputs, split sentences, tokenize, plan windows) → forward
(:mod:`nlu_lite.engine.encoder`: length-sorted, token-budget batches under ``torch.inference_mode``) →
postprocess (scatter vectors to words or pool them, vectorised; one DataFrame at the end).
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nlu_lite.clusters import distributed as scale
from nlu_lite.engine.batches import PooledMemory, pooled_memory
from nlu_lite.engine.devices import compute_dtype, pick_device, pick_dtype, pick_engine
from nlu_lite.engine.encoder import Encoder
from nlu_lite.errors import InvalidOptionError, NotInNluLiteError
from nlu_lite.frames.inputs import Inputs, check_index_column, chunks, is_dask, is_spark, read_inputs, row_count
from nlu_lite.frames.output import FrameParts
from nlu_lite.hub.loading import Components, load_components
from nlu_lite.hub.registry import Entry
from nlu_lite.nlu.layout import NLU_ONLY_ATTRIBUTES, NLU_ONLY_FUNCTIONS
from nlu_lite.options import OUTPUT_LEVELS, PredictOptions, describe_options, options_doc
from nlu_lite.tasks.base import TASKS, task_for
from nlu_lite.tasks.levels import Level, plan_level

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from nlu_lite.options import NluLiteOptions, StreamOptions

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
        compute = compute_dtype(dtype)
        self.engine = pick_engine(engine)
        self.task = task_for([c.entry.task for c in components])  # what the models are for (tasks.base)
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
        from nlu_lite.hub.saving import save_pipeline

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

    def viz(
        self,
        text_to_viz: str | Sequence[str],
        viz_type: str = "ner",
        labels_to_viz: Sequence[str] | None = None,
        viz_colors: Mapping[str, str] | None = None,
        return_html: bool = False,
    ) -> Any:
        """NLU's ``pipe.viz``: the entities a NER tagger finds in a text (or a list of texts),
        highlighted with their class, as HTML that Jupyter shows (plain HTML and inline styles: no
        extra dependency).  ``labels_to_viz`` keeps only those classes, ``viz_colors`` maps a class
        to a CSS colour, ``return_html=True`` gives the HTML as a string.  Only ``viz_type='ner'``
        exists here."""
        from nlu_lite.frames.viz import HTML, entities_html
        from nlu_lite.tasks.base import TOKEN_CLASSIFICATION

        if viz_type not in ("ner", ""):
            raise NotInNluLiteError(f"pipe.viz(viz_type={viz_type!r})", "viz_type='ner' for a NER tagger's entities")
        if self.task is not TOKEN_CLASSIFICATION:
            raise NotInNluLiteError(
                "pipe.viz",
                "pipe.viz highlights the entities of a NER tagger (nlu_lite.load('ner'))"
                "; for embeddings, " + NLU_ONLY_FUNCTIONS["viz"],
            )
        texts = [text_to_viz] if isinstance(text_to_viz, str) else list(text_to_viz)
        frame = self.predict(texts, output_level="chunk", positions=True, progress=False)
        labels = None if labels_to_viz is None else set(labels_to_viz)
        html = entities_html(frame, texts, colors=viz_colors, labels=labels)
        return html if return_html else HTML(html)

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
        **options: Unpack[NluLiteOptions],
    ) -> Any:
        """Embed ``data`` (string, list/tuple/array of strings, Series, DataFrame, dask or Spark
        DataFrame) into a DataFrame at ``output_level`` (token, sub_token, sentence, document; the
        model's own when None or ''), each row keeping its input's index label, nothing truncated.

        The positional parameters are NLU's, in NLU's order and meaning (``output_path`` writes the
        result too, ``keep_stranger_features`` keeps other columns, ``drop_irrelevant_cols=False``
        adds the input as ``document``, ``get_embeddings=False`` drops vectors,
        ``return_spark_df`` gives a Spark DataFrame, ``partition`` repartitions Spark/dask input;
        ``multithread`` has no effect, ``parser_*`` are refused).  The keyword-only rest is
        nlu_lite's; ``convention='nlu5'`` gives NLU 5's layout and Spark NLP's tokens
        (docs/migration.md).  Every option:
        """
        checked = PredictOptions.create(
            output_level=output_level,
            output_path=output_path,
            positions=positions,
            keep_stranger_features=keep_stranger_features,
            metadata=metadata,
            multithread=multithread,
            drop_irrelevant_cols=drop_irrelevant_cols,
            return_spark_df=return_spark_df,
            get_embeddings=get_embeddings,
            parser_output=parser_output,
            parser_config=parser_config,
            partition=partition,
            **options,
        )
        check_index_column(data, checked.index_column)
        if is_dask(data) or is_spark(data):
            return scale.predict_distributed(self, data, checked, checked.index_column)
        _check_output_path(checked)
        return finish(self._compute(data, checked, self._check(checked)), checked)

    def _check(self, options: PredictOptions) -> str:
        """The output level in force, once the task has checked the options against the models."""
        level = options.level_for(self.encoders[0].entry.output_level)
        if level not in self.task.levels:
            raise InvalidOptionError("output_level", level, self.task.levels)
        self.task.check(level, self.encoders, options)
        return level

    def _compute(self, data: Any, options: PredictOptions, level: str) -> Any:
        """One predict() of checked options, in one direction: inputs → the level's rows and
        columns (the task: plan, tokenize every model once, forward, rows) → the frame."""
        inputs = read_inputs(
            data, text_column=options.text_column, errors=options.errors, keep_columns=options.keep_columns
        )
        # NLU 5's document level of word models is their token vectors, unpooled (the task's
        # frame): no pooled forward for a pipeline of word models only
        word_only = all(e.entry.task == "embed" for e in self.encoders)
        skip = options.convention == "nlu5" and level == "document" and word_only
        # get_embeddings=False: the rows without running a model (NLU leaves the vectors out too)
        done = self._run_level(level, inputs.texts, options, options.get_embeddings and not skip)
        rows = done.rows
        if not options.drop_irrelevant_cols and level != "document":  # NLU keeps the input text too
            done.extra["document"] = np.asarray(inputs.texts, dtype=object)[rows.input]
        parts = FrameParts(
            level=level,
            texts=done.text,
            index=inputs.index.take(rows.input),
            begin=rows.begin,
            end=rows.end,
            positions=options.positions,
            extra=done.extra,
            meta=done.meta,
            vectors=done.vectors,
            carried=inputs.carried.iloc[rows.input] if inputs.carried is not None else None,
            embedding_format=options.embedding_format,
            attrs=self._provenance(level, options, inputs),
        )
        return self.task.frame(parts, done, _FrameContext(self, inputs, options))

    def _run_level(self, level: str, texts: list[str], options: PredictOptions, compute: bool = True) -> Level:
        """The task's rows and columns at ``level`` (``compute=False``: the rows alone)."""
        return self.task.run(plan_level(level, texts, options), self.encoders, compute, self._progress_for(options))

    def predict_iter(self, data: Any, chunk_rows: int = 10_000, **options: Unpack[StreamOptions]) -> Iterator[Any]:
        """predict() in chunks of ``chunk_rows`` input rows, yielding one DataFrame per chunk.

        ``data`` may be anything predict() takes, or any iterable of strings (a generator, an open
        text file: one text per line, without its ``\\n`` or ``\\r\\n``), so a corpus larger than
        memory streams through; rows of a plain iterable are labelled by their running position.
        Open a file with ``newline='\\n'`` to end lines at ``\\n`` only, as the command line does
        (Python's default also ends them at a lone ``\\r``).  A dask collection comes a partition at
        a time, a Spark DataFrame streams to this process a partition at a time (its rows labelled
        by running position, or by ``index_column``).  Options are predict()'s, less
        ``output_path`` and ``return_spark_df``, which would act on each chunk alone; they are
        checked once, here, at the call, not when the first chunk is asked for.  At sentence and
        document level the pooled vectors of earlier chunks are remembered (up to 64 MB of vectors,
        least recently used first): a text that comes again in a later chunk is not run again.
        Every option:
        """
        checked, level = self._streamed(options, "predict_iter")
        memory = PooledMemory()
        parts = chunks(data, chunk_rows, checked.index_column)
        return (self._remembering(memory, part, checked, level) for part in parts)

    def _remembering(self, memory: PooledMemory, part: Any, options: PredictOptions, level: str) -> Any:
        """One chunk of a streaming call, with the pooled vectors of the chunks before: at sentence
        and document level a text an earlier chunk embedded is not run again (within one predict,
        repeats are found anyway; see nlu_lite.engine.batches.PooledMemory)."""
        token = pooled_memory.set(memory)
        try:
            return self._compute(part, options, level)
        finally:
            pooled_memory.reset(token)

    def predict_to_parquet(
        self, data: Any, path: str | os.PathLike[str], chunk_rows: int = 10_000, **options: Unpack[StreamOptions]
    ) -> int:
        """Stream predict() into a parquet file chunk by chunk; returns the rows written.

        Memory stays that of one chunk, whatever the corpus size.  Vectors are stored as
        list<float32>; the index as a column (``origin_index`` unless it has a name).  Needs pyarrow.
        An interrupted run (an error, Ctrl-C, a full disk) keeps its finished chunks in a hidden
        folder beside ``path`` (``.NAME.chunks``) and leaves ``path`` as it was; the same call again
        continues from them, recomputing any chunk whose input, model or options changed.  The
        file appears, whole, when every chunk is done (see nlu_lite.frames.resumable).  ``data`` is
        what predict_iter() takes: a dask or Spark DataFrame streams into the one file a partition
        at a time.  As in predict_iter(), a text an earlier chunk embedded at sentence or document
        level is not run again.  Options are predict_iter()'s (``embedding_format`` 'array' only).
        Every option:
        """
        from nlu_lite.frames.resumable import ParquetChunks, fingerprint

        if options.get("embedding_format", "array") != "array":
            raise InvalidOptionError("embedding_format", options["embedding_format"], "'array' for parquet output")
        checked, level = self._streamed(options, "predict_to_parquet")
        job = self._job(options, checked, chunk_rows)
        parts = chunks(data, chunk_rows, checked.index_column)
        memory = PooledMemory()
        with ParquetChunks(path, job) as out, _row_bar(checked.progress, data, chunk_rows, out.path) as bar:
            for k, part in enumerate(parts):
                key = fingerprint(part)
                if not out.done(k, key):
                    out.write(k, key, self._remembering(memory, part, checked, level))
                bar.update(row_count(part) or 0)
            if not out.parts:  # no input rows: a file of no rows, with the columns predict([]) has
                out.write(0, "empty", self._compute([], checked, level))
            if out.reused:
                logger.info("%d of %d chunks of %s taken from an earlier run", out.reused, len(out.parts), out.path)
            return out.finish()

    def _job(self, given: Mapping[str, Any], checked: PredictOptions, chunk_rows: int) -> dict[str, Any]:
        """What decides a parquet file's contents (a resumed run reuses a chunk only if its job is
        the same): the version, the models, the precision, the chunking and the options given (the
        convention in force filled in; a sentence splitter by what it does, not where it lies)."""
        from nlu_lite._version import __version__
        from nlu_lite.frames.resumable import callable_identity

        kept = {k: v for k, v in sorted(given.items()) if k not in ("progress", "index_column")}
        kept["convention"] = checked.convention
        if kept.get("sentence_splitter") is not None:
            kept["sentence_splitter"] = callable_identity(kept["sentence_splitter"])
        return {
            "nlu_lite": __version__,
            "models": self._identity(),
            "dtype": self.dtype,
            "chunk_rows": chunk_rows,
            "options": dict(sorted(kept.items())),
            "index_column": checked.index_column,
        }

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

    def _streamed(self, given: StreamOptions, call: str) -> tuple[PredictOptions, str]:
        """A chunked call's options, checked once at the call as predict() checks them (an unknown
        keyword is a TypeError), the convention in force fixed for all its chunks; and the level.
        ``output_path`` and ``return_spark_df`` would act on each chunk alone (each chunk
        overwriting the file): refused."""
        checked = PredictOptions.create(**given)
        if checked.output_path is not None:
            raise InvalidOptionError(
                "output_path",
                checked.output_path,
                f"None in {call}: each chunk would overwrite it (write with predict_to_parquet)",
            )
        if checked.return_spark_df:
            raise InvalidOptionError("return_spark_df", True, f"False in {call}, which gives pandas chunks")
        return checked, self._check(checked)

    def _progress_for(self, options: PredictOptions) -> Callable[[int], Any]:
        """For a task: given the pieces of work, a context manager that yields a progress tick (a
        bar when asked, True, or when the work looks longer than about two seconds, None) or None."""

        @contextlib.contextmanager
        def progress(pieces: int) -> Iterator[Callable[[int], Any] | None]:
            bar = self._progress_bar(options.progress, pieces)
            try:
                yield bar
            finally:
                if bar is not None:
                    bar.close()

        return progress

    def _progress_bar(self, progress: bool | None, pieces: int) -> _Progress | None:
        """A bar when asked (True), or when the work looks longer than about two seconds (None)."""
        if progress is False or pieces == 0:
            return None
        if progress is None and self.estimate_seconds(pieces) < PROGRESS_MIN_SECONDS:
            return None
        return _Progress(pieces)

    def estimate_seconds(self, pieces: int) -> float:
        """A rough forward time for ``pieces`` word pieces: about 24·H² FLOPs per layer and piece, at a
        fixed rate per device kind (CPU or not), doubled below float32.  Rough on purpose: it only
        decides whether a progress bar shows (measured rates: docs/speed.md)."""
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
            # NLU names answered with a model of the same task (hub.registry.StandIn)
            "stand_ins": {
                s.name: {"nlu_model": s.nlu_model, "loaded": s.spelling}
                for s in (e.entry.stand_in for e in self.encoders)
                if s is not None
            },
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


for _method in (Pipeline.predict, Pipeline.predict_iter, Pipeline.predict_to_parquet):
    _method.__doc__ = (_method.__doc__ or "") + options_doc(indent=8)


class _FrameContext:
    """What a task's ``frame`` may ask of the pipeline (see tasks.base.FrameContext)."""

    def __init__(self, pipe: Pipeline, inputs: Inputs, options: PredictOptions) -> None:
        self.pipe = pipe
        self.encoders = pipe.encoders
        self.nlu_ref = pipe.nlu_ref
        self.inputs = inputs
        self.options = options

    def run_level(self, level: str, options: PredictOptions) -> Level:
        return self.pipe._run_level(level, self.inputs.texts, options)


def _check_output_path(options: PredictOptions) -> None:
    """``output_path`` checked before the run: a typo fails now, not after every text was embedded."""
    if options.output_path is not None:
        from nlu_lite.frames.output import check_frame_target

        check_frame_target(options.output_path)
        if options.embedding_format == "numpy":  # the vectors would be in the matrix only, not in the file
            raise InvalidOptionError("embedding_format", "numpy", "'array' or 'expand' with output_path")


def finish(result: Any, options: PredictOptions) -> Any:
    """NLU's after-steps on a pandas result: the file written (``output_path``), a Spark DataFrame
    made (``return_spark_df``)."""
    frame = result[0] if isinstance(result, tuple) else result
    if options.output_path is not None:
        from nlu_lite.frames.output import write_frame

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
    # each model with the head its task loads (tasks.base.TASKS)
    components = [load_components(e, device=dev, head=TASKS[e.task].head) for e in _once(entries)]
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
