"""Whatever the user hands predict() → a list of texts, their index labels, columns to carry.

Accepted: a string; a list or tuple of strings; a numpy array of strings; a pandas Series; a
pandas DataFrame (column ``text``, or ``text_column=``, else the first column holding strings).
Null and blank values (None, NaN, '', whitespace only) are kept as rows with nothing to embed,
so every input row shows up in the output.  Any other non-string value is refused with the row
named, unless ``errors='coerce'`` (bytes are decoded as UTF-8, other values go through str()).
"""

from __future__ import annotations

import importlib
import itertools
import math
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from nlu_lite.errors import InvalidInputError, InvalidOptionError
from nlu_lite.options import Errors


@dataclass(frozen=True)
class Inputs:
    texts: list[str]  # '' for null or blank rows
    index: pd.Index
    carried: pd.DataFrame | None  # other columns of a DataFrame input
    single: bool  # one string came in

    @property
    def present(self) -> np.ndarray:
        """True where the row has text to embed (not null, not blank)."""
        return np.fromiter((bool(t.strip()) for t in self.texts), dtype=bool, count=len(self.texts))


def is_null(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, np.floating) and bool(np.isnan(value))


def _clean(values: Iterable[Any], labels: pd.Index, errors: Errors) -> list[str]:
    out: list[str] = []
    for pos, value in enumerate(values):
        if isinstance(value, str):
            out.append(value)
        elif is_null(value):
            out.append("")
        elif errors == "coerce":
            if isinstance(value, (bytes, bytearray)):
                out.append(bytes(value).decode("utf-8", errors="replace"))
            else:
                out.append(str(value))
        else:
            raise InvalidInputError(
                f"Row {labels[pos]!r} (position {pos}) holds {type(value).__name__} {str(value)[:50]!r}, not text. "
                "Convert it first, or pass errors='coerce' to read bytes as UTF-8 and other values with str()."
            )
    return out


def _holds_strings(col: pd.Series) -> bool:
    """A column with at least one string in it.  pandas calls every ``object`` column a string
    dtype, so an object column (all None, Decimals, dicts) counts only when a value is a str."""
    if col.dtype != object and pd.api.types.is_string_dtype(col.dtype):
        return bool(col.notna().any())
    return bool(col.map(lambda v: isinstance(v, str)).any())


def _text_column(frame: pd.DataFrame, text_column: Hashable | None) -> Hashable:
    duplicated = sorted({repr(c) for c in frame.columns[frame.columns.duplicated()]})
    if duplicated:
        raise InvalidInputError(
            f"The DataFrame has more than one column named {', '.join(duplicated)}; the output could not say "
            "which is which. Rename them first (for example df.columns = [...])."
        )
    if text_column is not None:
        if text_column not in frame.columns:
            raise InvalidOptionError("text_column", text_column, f"one of the columns {list(frame.columns)}")
        return text_column
    if any(name == "text" for name in frame.columns):  # the label itself: not a MultiIndex's top level
        return "text"
    for name in frame.columns:
        if _holds_strings(frame[name]):
            return name  # the label itself, whatever its type (0, ('a', 'b'), …)
    raise InvalidInputError(
        f"The DataFrame has no 'text' column and no column of strings (columns: {list(frame.columns)}). "
        "Name the column with text_column='...'."
    )


def read_inputs(
    data: Any,
    text_column: Hashable | None = None,
    errors: Errors = "raise",
    keep_columns: bool = True,
) -> Inputs:
    """Normalise ``data`` (see module docs); the options were checked by PredictOptions."""
    if isinstance(data, str):
        return Inputs([data], pd.RangeIndex(1), None, True)
    if isinstance(data, pd.DataFrame):
        column = _text_column(data, text_column)
        selected = data[column]
        if isinstance(selected, pd.DataFrame):  # the top level of MultiIndex columns: several columns
            whole = f"one column's whole label, e.g. {selected.columns[0]!r} (the columns are a MultiIndex)"
            raise InvalidOptionError("text_column", column, whole)
        texts = _clean(selected.tolist(), data.index, errors)
        carried = data.drop(columns=[column]) if keep_columns and data.shape[1] > 1 else None
        return Inputs(texts, data.index, carried, False)
    if isinstance(data, pd.Series):
        return Inputs(_clean(data.tolist(), data.index, errors), data.index, None, False)
    if isinstance(data, np.ndarray):
        if data.ndim != 1:
            raise InvalidInputError(f"A numpy array of texts must be 1-D, got shape {data.shape}.")
        values = data.tolist()
        return Inputs(_clean(values, pd.RangeIndex(len(values)), errors), pd.RangeIndex(len(values)), None, False)
    if isinstance(data, (list, tuple)):
        index = pd.RangeIndex(len(data))
        return Inputs(_clean(data, index, errors), index, None, False)
    if is_null(data):
        return Inputs([""], pd.RangeIndex(1), None, True)
    if errors == "coerce" and isinstance(data, (bytes, bytearray, int, float, np.number)):
        return Inputs(_clean([data], pd.RangeIndex(1), errors), pd.RangeIndex(1), None, True)
    raise InvalidInputError(
        f"predict() takes a string, a list/tuple/numpy array of strings, a pandas Series or DataFrame; "
        f"got {type(data).__name__}."
    )


def is_dask(data: Any) -> bool:
    """A dask collection (DataFrame, Series, array, Bag, ...)."""
    module = type(data).__module__
    return module.startswith("dask.") or module.startswith("dask_expr")


def dask_kind(data: Any) -> str | None:
    """What a dask collection is: 'frame' (a DataFrame or Series), 'array' (1-D; other arrays get a
    typed error), 'bag', or None (another kind, e.g. a Delayed, whose attributes all exist lazily,
    so they cannot be asked about)."""
    kinds = {
        "frame": ("dask.dataframe", "DataFrame", "Series"),
        "array": ("dask.array", "Array"),
        "bag": ("dask.bag", "Bag"),
    }
    for kind, (module, *names) in kinds.items():
        try:
            found = importlib.import_module(module)
        except ImportError:  # that part of dask is not installed: data cannot be of it
            continue
        if isinstance(data, tuple(getattr(found, name) for name in names)):
            dims = getattr(data, "ndim", 1)
            if kind == "array" and dims != 1:
                raise InvalidInputError(f"A dask array of texts must be 1-D, got {dims}-D.")
            return kind
    return None


def is_spark(data: Any) -> bool:
    """A Spark DataFrame."""
    module = type(data).__module__
    return module.startswith("pyspark.sql") and type(data).__name__ == "DataFrame"


def chunks(data: Any, chunk_rows: int, index_column: str | None = None) -> Iterator[Any]:
    """``data`` (anything predict() takes, or any iterable of strings) in pieces of ``chunk_rows``
    input rows: slices of a pandas object (their own labels), a list, tuple or array as a Series
    labelled by position, a plain iterable (a generator, an open text file: one text per line
    without its line end) read lazily into Series labelled by running position; a string whole.

    A dask collection comes one partition at a time (computed where its scheduler runs it), cut
    into slices with the partition's labels.  A Spark DataFrame streams to this process one
    partition at a time (``toLocalIterator``) as pandas DataFrames of its columns, labelled by
    running position, or by the column ``index_column`` names (Spark has no index).  The options
    are checked at the call, before the first chunk is asked for."""
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise InvalidOptionError("chunk_rows", chunk_rows, "a positive int")
    check_index_column(data, index_column)
    return _chunks(data, chunk_rows, index_column)


def check_index_column(data: Any, index_column: str | None) -> None:
    """``index_column`` names a column of Spark input (Spark has no index); anything else has none."""
    if index_column is None:
        return
    if not is_spark(data):
        raise InvalidOptionError("index_column", index_column, "None: it names the index of Spark input only")
    if index_column not in data.columns:
        raise InvalidOptionError("index_column", index_column, f"one of the columns {list(data.columns)}")


# inputs whose rows are all in memory and counted: sliced into chunks, not iterated
_SIZED = (pd.DataFrame, pd.Series, np.ndarray, list, tuple)


def row_count(data: Any) -> int | None:
    """How many input rows ``data`` holds where that is known without reading it (pandas, lists,
    tuples, arrays; a string is one), else None (a generator, a file, dask, Spark)."""
    if isinstance(data, _SIZED):
        return len(data)
    return 1 if isinstance(data, str) else None


def _chunks(data: Any, chunk_rows: int, index_column: str | None) -> Iterator[Any]:
    if isinstance(data, _SIZED):
        for start in range(0, len(data), chunk_rows):
            if isinstance(data, (pd.DataFrame, pd.Series)):
                yield data.iloc[start : start + chunk_rows]
            else:
                values = list(data[start : start + chunk_rows])
                yield pd.Series(values, index=pd.RangeIndex(start, start + len(values)), dtype=object)
        return
    if isinstance(data, str):
        yield data
        return
    if is_dask(data):  # iterating a dask DataFrame gives its column names; a Bag computes it whole
        yield from _dask_chunks(data, chunk_rows)
        return
    if is_spark(data):
        yield from _spark_chunks(data, chunk_rows, index_column)
        return
    if isinstance(data, Mapping) or not isinstance(data, Iterable):  # e.g. a dict: its keys are no texts
        yield data  # whole: predict() says what it takes
        return
    iterator = iter(data)
    start = 0
    while True:
        values = [strip_line_end(v) for v in itertools.islice(iterator, chunk_rows)]
        if not values:
            return
        yield pd.Series(values, index=pd.RangeIndex(start, start + len(values)), dtype=object)
        start += len(values)


def _dask_chunks(data: Any, chunk_rows: int) -> Iterator[Any]:
    """A dask collection one partition at a time: a DataFrame's or Series' partitions keep their
    labels; the texts of a 1-D array or a Bag are labelled by running position, a Bag's lines (as
    ``dask.bag.read_text`` gives them) without their line ends, as the lines of a file."""
    kind = dask_kind(data)
    if kind == "frame":
        for k in range(data.npartitions):
            yield from _chunks(data.partitions[k].compute(), chunk_rows, None)
        return
    if kind is None:  # e.g. a Delayed: whole, and predict() says what it takes
        yield data
        return
    start = 0
    for part in data.to_delayed().ravel() if kind == "array" else data.to_delayed():
        values = list(part.compute()) if kind == "array" else [strip_line_end(v) for v in part.compute()]
        for at in range(0, len(values), chunk_rows):
            piece = values[at : at + chunk_rows]
            yield pd.Series(piece, index=pd.RangeIndex(start + at, start + at + len(piece)), dtype=object)
        start += len(values)


def _spark_chunks(sdf: Any, chunk_rows: int, index_column: str | None) -> Iterator[pd.DataFrame]:
    columns = list(sdf.columns)
    rows = sdf.toLocalIterator(prefetchPartitions=False)
    start = 0
    while True:
        records = [tuple(r) for r in itertools.islice(rows, chunk_rows)]
        if not records:
            return
        part = pd.DataFrame.from_records(records, columns=columns)
        if index_column is None:
            part.index = pd.RangeIndex(start, start + len(records))
        else:
            part = part.set_index(index_column)
        yield part
        start += len(records)


def strip_line_end(value: Any) -> Any:
    """A line read from a file (text or binary) without its line end (``\n`` or ``\r\n``); other
    values as they are."""
    if isinstance(value, str) and value.endswith("\n"):
        return value[:-2] if value.endswith("\r\n") else value[:-1]
    if isinstance(value, bytes) and value.endswith(b"\n"):
        return value[:-2] if value.endswith(b"\r\n") else value[:-1]
    return value
