"""Arrays → the output DataFrame, and DataFrame → file.

Vectors stay float32 in one contiguous block per model; the ``array`` format wraps that block in
an :class:`~nlu_lite.vectors.EmbeddingArray` column (cells read as 1-D float32 arrays, never lists
of floats), ``expand`` makes one float32 column per dimension, ``numpy`` hands the block itself
back for scikit-learn.  Files: parquet (vectors as
list<float32>), CSV (vectors as JSON lists), JSON lines.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nlu_lite.errors import InvalidOptionError
from nlu_lite.vectors import EmbeddingArray, arrow_lists

if TYPE_CHECKING:
    import pandas as pd

FORMATS = (".parquet", ".csv", ".jsonl")

INDEX_NAME = "origin_index"


def _with_nan(block: np.ndarray, has: np.ndarray) -> np.ndarray:
    if has.all():
        return block
    out = block.copy()
    out[~has] = np.nan
    return out


def assemble(
    *,
    level: str,
    texts: list[str] | np.ndarray,
    index: pd.Index,
    begin: np.ndarray,
    end: np.ndarray,
    positions: bool,
    extra: dict[str, np.ndarray],
    meta: dict[str, np.ndarray],
    vectors: dict[str, tuple[np.ndarray, np.ndarray]],
    carried: pd.DataFrame | None,
    embedding_format: str,
    attrs: dict[str, Any],
) -> Any:
    """Build the output DataFrame (and, for ``numpy``, the matrix) in one go."""
    import pandas as pd

    # the default string dtype of this pandas (pyarrow-backed "str" in pandas 3), also when empty
    text_dtype = pd.Series(["x"]).dtype
    try:
        text_values: Any = pd.array(texts, dtype=text_dtype)
    except UnicodeEncodeError:  # lone surrogates: Arrow strings cannot hold them, Python objects can
        text_values = pd.Series(texts, dtype=object, index=index, copy=False)
    columns: dict[str, Any] = {level: text_values}
    columns.update(extra)
    if positions:
        columns["begin"] = begin
        columns["end"] = end
    columns.update(meta)
    if embedding_format == "array":
        for name, (block, has) in vectors.items():
            columns[name] = EmbeddingArray(block, has)
    if index.name is None:
        index = index.rename(INDEX_NAME)
    if isinstance(text_values, pd.Series):
        text_values.index = index
    frame = pd.DataFrame(columns, index=index, copy=False)
    if embedding_format == "expand":
        parts = [frame]
        for name, (block, has) in vectors.items():
            parts.append(
                pd.DataFrame(_with_nan(block, has), index=index, columns=[f"{name}_{i}" for i in range(block.shape[1])])
            )
        frame = pd.concat(parts, axis=1)
    if carried is not None:
        for name in carried.columns:
            key = name if name not in frame.columns else f"{name}_input"
            frame[key] = carried[name].to_numpy()
    frame.attrs.update(attrs)
    if embedding_format == "numpy":
        matrix = np.hstack([_with_nan(block, has) for block, has in vectors.values()]).astype(np.float32, copy=False)
        return frame, matrix
    return frame


def vector_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if isinstance(c, str) and c.endswith("_embeddings")]


def to_arrow(df: pd.DataFrame) -> Any:
    """``df`` as a pyarrow Table: the index becomes a column, vectors become list<float32>."""
    try:
        import pyarrow as pa
    except ImportError:
        raise InvalidOptionError(
            "out", "parquet", "pip install pyarrow (or nlu_lite[parquet]) for parquet output"
        ) from None
    frame = df.reset_index()
    arrays = {}
    vecs = set(vector_columns(frame))
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.array, EmbeddingArray):
            arrays[str(name)] = pa.array(column.array)
        elif name in vecs:
            # an object column of vectors (a frame built or edited by hand)
            cells = column.tolist()
            present = np.array([v is not None for v in cells], dtype=bool)
            lengths = np.array([len(v) if v is not None else 0 for v in cells], dtype=np.int64)
            kept = [np.asarray(v, dtype=np.float32) for v in cells if v is not None]
            values = np.concatenate(kept) if kept else np.zeros(0, dtype=np.float32)
            arrays[str(name)] = arrow_lists(lengths, values, present)
        else:
            arrays[str(name)] = pa.array(column.tolist()) if column.dtype == object else pa.array(column)
    return pa.table(arrays)


def _prepare(df: pd.DataFrame) -> pd.DataFrame:
    frame = df.copy()
    frame.index.name = frame.index.name or INDEX_NAME
    return frame


class ParquetStream:
    """Writes DataFrames to one parquet file as they come, a row group each."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self.writer: Any = None
        self.schema: Any = None
        self.rows = 0

    def write(self, df: pd.DataFrame) -> None:
        import pyarrow.parquet as pq

        table = to_arrow(_prepare(df))
        if self.writer is None:
            self.schema = table.schema
            self.writer = pq.ParquetWriter(self.path, self.schema)
        elif table.schema != self.schema:
            table = table.cast(self.schema)
        self.writer.write_table(table)
        self.rows += table.num_rows

    def __enter__(self) -> ParquetStream:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.writer is not None:
            self.writer.close()


def write_frame(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` by the file's suffix; the index is kept as a column named ``origin_index``."""
    out = Path(path).expanduser()
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise InvalidOptionError("out", str(path), "a path ending in " + ", ".join(FORMATS))
    if suffix == ".parquet":
        with ParquetStream(out) as stream:
            stream.write(df)
        return out
    frame = _prepare(df).reset_index()
    for name in vector_columns(frame):
        values = [None if v is None else np.asarray(v).tolist() for v in frame[name]]
        if suffix == ".csv":
            frame[name] = [None if v is None else json.dumps(v) for v in values]
        else:
            frame[name] = values
    if suffix == ".csv":
        frame.to_csv(out, index=False)
    else:
        frame.to_json(out, orient="records", lines=True, force_ascii=False)
    return out
