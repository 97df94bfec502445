"""predict() on Dask and Spark: the same output as pandas, computed where the data lives.

A Pipeline pickles as its *recipe* (registry entries, device, dtype), never its weights: a
worker that unpickles it builds the model once (:func:`nlu_lite.pipeline.restore`) and keeps it
in the per-process cache kept here, so every later task on that worker reuses it.  Neither Dask
nor Spark is imported by nlu_lite's core; install ``nlu_lite[dask]`` or ``nlu_lite[spark]``.
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from nlu_lite.errors import InvalidInputError, InvalidOptionError
from nlu_lite.frames.inputs import dask_kind, is_dask

if TYPE_CHECKING:
    import pandas as pd

    from nlu_lite.hub.registry import Entry
    from nlu_lite.options import PredictOptions
    from nlu_lite.pipeline import Pipeline

lock = threading.RLock()  # nlu_lite.pipeline.restore builds a Pipeline, whose __init__ calls remember()
# pipelines built in this process, by recipe: weakly held, so a notebook that loads many models
# does not keep them all alive; pipelines built from a recipe (in workers) are kept in _built
_cache: weakref.WeakValueDictionary[tuple[Any, ...], Pipeline] = weakref.WeakValueDictionary()
_built: dict[tuple[Any, ...], Pipeline] = {}
_loads: Counter[tuple[Any, ...]] = Counter()


def recipe_key(entries: tuple[Entry, ...], device: str, dtype: str, engine: str = "auto") -> tuple[Any, ...]:
    return (entries, device, dtype, engine)


def remember(pipe: Pipeline) -> None:
    """Register a pipeline built in this process, so that unpickling its recipe here reuses it."""
    with lock:
        _cache[pipe.recipe] = pipe


def cached(key: tuple[Any, ...]) -> Pipeline | None:
    """The pipeline built in this process for a recipe, if any."""
    return _cache.get(key)


def keep_built(key: tuple[Any, ...], pipe: Pipeline) -> None:
    """Keep a pipeline built from a recipe (in a worker) for every later task of this process."""
    _built[key] = pipe
    _loads[key] += 1


def loads() -> int:
    """How many pipelines this process has built from recipes (for tests and monitoring)."""
    return sum(_loads.values())


# ---------------------------------------------------------------- Dask


def _predict_partition(part: Any, pipe: Pipeline, options: dict[str, Any]) -> pd.DataFrame:
    return pipe.predict(part, **options)


def predict_distributed(pipe: Pipeline, data: Any, options: PredictOptions, index_column: str | None) -> Any:
    """predict() on a dask or Spark DataFrame: ``partition`` spreads it over that many partitions
    first; the result stays distributed (write it with the cluster's own writer)."""
    if options.output_path is not None:
        raise InvalidOptionError(
            "output_path", options.output_path, "None for dask or Spark input (write the result with its own writer)"
        )
    kwargs = {**options.as_kwargs(), "output_path": None, "return_spark_df": False, "partition": None}
    if is_dask(data):
        data = _dask_frame(data)
        if options.partition is not None:
            data = data.repartition(npartitions=options.partition)
        return dask_predict(pipe, data, kwargs)
    unpooled = options.convention == "nlu5" and any(e.entry.task == "embed" for e in pipe.encoders)
    if unpooled and options.level_for(pipe.encoders[0].entry.output_level) == "document":
        raise InvalidOptionError(
            "output_level",
            "document",
            "'token' or 'sentence' for Spark input with convention='nlu5': a word model's NLU-style document "
            "vectors are a tokens x dimension matrix per row, which nlu_lite does not map to a Spark column "
            "(convention='nlu_lite' gives one pooled vector per document)",
        )
    if options.partition is not None:
        data = data.repartition(options.partition)
    return spark_predict(pipe, data, kwargs, index_column)


def to_spark(frame: pd.DataFrame, keep_index: bool = True) -> Any:
    """A pandas result as a Spark DataFrame of the active (or a new local) session; vectors as
    array<float>, the index as columns."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InvalidOptionError(
            "return_spark_df", True, "False, or install pyspark (pip install 'nlu_lite[spark]')"
        ) from None
    from nlu_lite.frames.output import prepare_for_files, vector_columns

    flat = prepare_for_files(frame).reset_index() if keep_index else frame.reset_index(drop=True)
    for name in vector_columns(flat):
        flat[name] = [None if v is None else np.asarray(v, dtype=np.float32).tolist() for v in flat[name]]
    spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    return spark.createDataFrame(flat)


def _dask_frame(data: Any) -> Any:
    """A dask DataFrame or Series as it is; a 1-D dask array of texts as a dask Series labelled by
    position (``dask.dataframe.from_dask_array``).  Other dask collections get a typed error: a Bag
    (e.g. ``dask.bag.read_text``) has no labels to keep and may hold anything."""
    kind = dask_kind(data)
    if kind == "frame":
        return data
    if kind == "array":
        import dask.dataframe as dd

        return dd.from_dask_array(data)
    advice = (
        " Turn a Bag of texts into a DataFrame with bag.to_dataframe(columns=['text']), or stream it into a "
        "file with predict_to_parquet() (a partition at a time, rows labelled by running position)."
    )
    raise InvalidInputError(
        f"predict() takes a dask DataFrame, Series or 1-D array; got a dask {type(data).__name__}."
        + (advice if kind == "bag" else "")
    )


def _teach_dask() -> None:
    """Tell dask what a non-empty embedding column looks like.  dask makes a two-row stand-in of
    every column from its dtype to plan operations (``len``, ``head`` of an expression,
    ``to_parquet``); without this it fails on the embedding dtype (the documented extension point,
    ``dask.dataframe.extensions.make_array_nonempty``)."""
    from dask.dataframe.extensions import make_array_nonempty

    from nlu_lite.frames.vectors import EmbeddingDtype

    make_array_nonempty.register(EmbeddingDtype, _two_vectors)  # registering again replaces it


def _two_vectors(dtype: Any) -> Any:
    from nlu_lite.frames.vectors import EmbeddingArray

    return EmbeddingArray(np.ones((2, 1), np.float32))


def dask_predict(pipe: Pipeline, data: Any, options: dict[str, Any]) -> Any:
    """A lazy dask DataFrame: predict() per partition, with the pandas output's columns and dtypes."""
    if options.get("embedding_format") == "numpy":
        raise InvalidOptionError("embedding_format", "numpy", "'array' or 'expand' for dask input")
    _teach_dask()
    options = {**options, "progress": False}
    meta = pipe.predict(data._meta, **options)
    return data.map_partitions(_predict_partition, pipe, options, meta=meta, enforce_metadata=False)


# ---------------------------------------------------------------- Spark

ROW_ID = "__nlu_lite_row_id"


def _spark_type(dtype: Any, name: str, input_types: dict[str, Any]) -> Any:
    from pyspark.sql import types as T

    from nlu_lite.frames.vectors import EmbeddingDtype

    if name in input_types:
        return input_types[name]
    if isinstance(dtype, EmbeddingDtype) or name.endswith("_embeddings"):
        return T.ArrayType(T.FloatType())
    if dtype == np.float32:
        return T.FloatType()
    if dtype == np.float64:
        return T.DoubleType()
    if dtype == np.bool_:
        return T.BooleanType()
    if getattr(dtype, "kind", "") in "iu":
        return T.LongType()
    return T.StringType()


def spark_predict(pipe: Pipeline, sdf: Any, options: dict[str, Any], index_column: str | None) -> Any:
    """A Spark DataFrame through ``mapInPandas`` (Arrow batches); vectors as array<float>.

    Spark has no index: ``index_column`` names the column that plays its part (the output's
    ``origin_index``); without one, a unique (not consecutive) row id is added.
    """
    import pandas as pd
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    if options.get("embedding_format", "array") != "array":
        raise InvalidOptionError("embedding_format", options["embedding_format"], "'array' for Spark input")
    options = {**options, "progress": False}
    if index_column is None:
        sdf = sdf.withColumn(ROW_ID, F.monotonically_increasing_id())
        index_column = ROW_ID  # a named one was checked by predict (inputs.check_index_column)
    input_types = {f.name: f.dataType for f in sdf.schema.fields}
    empty = pd.DataFrame({name: pd.Series([], dtype=object) for name in sdf.columns})
    for f in sdf.schema.fields:
        if isinstance(f.dataType, (T.LongType, T.IntegerType, T.ShortType)):
            empty[f.name] = empty[f.name].astype("int64")
    meta = pipe.predict(empty.set_index(index_column), **options)
    out_name = "origin_index"
    fields = [T.StructField(out_name, input_types[index_column])]
    for name in meta.columns:
        fields.append(T.StructField(str(name), _spark_type(meta[name].dtype, str(name), input_types)))
    schema = T.StructType(fields)
    vec_cols = [c for c in meta.columns if str(c).endswith("_embeddings")]

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for pdf in batches:
            out = pipe.predict(pdf.set_index(index_column), **options)
            out.index.name = out_name
            out = out.reset_index()
            for col in vec_cols:
                out[col] = out[col].to_numpy()
            yield out

    return sdf.mapInPandas(run, schema)
