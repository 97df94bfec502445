"""Arrays → the output DataFrame, and DataFrame → file.

Vectors stay float32 in one contiguous block per model; the ``array`` format wraps that block in
an :class:`~nlu_lite.frames.vectors.EmbeddingArray` column (cells read as 1-D float32 arrays, never lists
of floats), ``expand`` makes one float32 column per dimension, ``numpy`` hands the block itself
back for scikit-learn.  Files: parquet (vectors as list<float32>), CSV (vectors as JSON lists),
JSON lines.

What the user has is never lost here:

- every file is written to a temporary file beside its target and renamed over it only when
  complete; on any failure (an exception, Ctrl-C, a full disk) the temporary is removed and an
  existing target is left as it was;
- a carried column (or an index level) whose name an output column takes keeps its values under
  the name with ``_input`` appended (``_input2``, … where that is taken too), with a warning.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nlu_lite.errors import InvalidInputError, InvalidOptionError
from nlu_lite.frames.vectors import EmbeddingArray, arrow_lists

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


@dataclass
class FrameParts:
    """Everything one result frame is made of, row-aligned: the rows' text (named after the
    level), their index labels and spans, extra columns, metadata counts, vector columns as
    (block, has-vector) pairs, the user's carried columns, and ``df.attrs``."""

    level: str
    texts: list[str] | np.ndarray
    index: pd.Index
    begin: np.ndarray
    end: np.ndarray
    positions: bool = False
    extra: dict[str, np.ndarray] = dataclass_field(default_factory=dict)
    meta: dict[str, np.ndarray] = dataclass_field(default_factory=dict)
    vectors: dict[str, tuple[np.ndarray, np.ndarray]] = dataclass_field(default_factory=dict)
    carried: pd.DataFrame | None = None
    embedding_format: str = "array"
    attrs: dict[str, Any] = dataclass_field(default_factory=dict)


def assemble(parts: FrameParts) -> Any:
    """Build the output DataFrame (and, for ``numpy``, the matrix) in one go."""
    import pandas as pd

    try:
        text_values: Any = pd.array(parts.texts, dtype=_text_dtype())
    except UnicodeEncodeError:  # lone surrogates: Arrow strings cannot hold them, Python objects can
        text_values = pd.Series(parts.texts, dtype=object, index=parts.index, copy=False)
    columns = _columns(parts, text_values)
    carried = parts.carried
    index = _name_index(parts.index, [*columns, *(carried.columns if carried is not None else ())])
    if isinstance(text_values, pd.Series):
        text_values.index = index
    frame = pd.DataFrame(columns, index=index, copy=False)
    if parts.embedding_format == "expand":
        frame = _expanded(frame, parts.vectors)
    if carried is not None:
        _carry(frame, carried)
    frame.attrs.update(parts.attrs)
    if parts.embedding_format == "numpy":
        blocks = [_with_nan(block, has) for block, has in parts.vectors.values()]
        matrix = np.hstack(blocks).astype(np.float32, copy=False) if blocks else np.zeros((len(frame), 0), np.float32)
        return frame, matrix
    return frame


def _columns(parts: FrameParts, text_values: Any) -> dict[str, Any]:
    """The frame's own columns in order: the text, extras, positions, metadata, vectors (as
    EmbeddingArray columns; ``expand`` and ``numpy`` add theirs afterwards)."""
    columns: dict[str, Any] = {parts.level: text_values}
    columns.update(parts.extra)
    if parts.positions:
        columns["begin"] = parts.begin
        columns["end"] = parts.end
    columns.update(parts.meta)
    if parts.embedding_format == "array":
        for name, (block, has) in parts.vectors.items():
            columns[name] = EmbeddingArray(block, has)
    return columns


def _expanded(frame: pd.DataFrame, vectors: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """``embedding_format='expand'``: one float column per dimension (``<name>_<i>``)."""
    import pandas as pd

    blocks = [frame]
    for name, (block, has) in vectors.items():
        names = [f"{name}_{i}" for i in range(block.shape[1])]
        blocks.append(pd.DataFrame(_with_nan(block, has), index=frame.index, columns=names))
    return pd.concat(blocks, axis=1)


def _carry(frame: pd.DataFrame, carried: pd.DataFrame) -> None:
    """The user's columns after the frame's own, renamed (with a warning) where a name is taken."""
    import pandas as pd

    renamed = free_names(carried.columns, set(frame.columns))
    for name, key in zip(carried.columns, renamed, strict=True):
        # the user's own dtype (str, category, Int64, object: not inferred again as str), on the
        # frame's own index (no alignment of repeated labels)
        column = carried[name]
        frame[key] = pd.Series(column.array, index=frame.index, dtype=column.dtype, copy=False)
    _warn_renamed("column", carried.columns, renamed)


@functools.lru_cache(maxsize=1)
def _text_dtype() -> Any:
    """The default string dtype of this pandas (pyarrow-backed "str" in pandas 3), also for no rows."""
    import pandas as pd

    return pd.Series(["x"]).dtype


def free_names(names: Iterable[Hashable], taken: set[Hashable]) -> list[Hashable]:
    """The user's names, each kept unless an output column (``taken``) has it; then ``_input`` is
    appended, with a number after it where that is taken too (by output or user columns)."""
    names = list(names)
    used = set(taken) | set(names)
    out: list[Hashable] = []
    for name in names:
        if name not in taken:
            out.append(name)
            continue
        candidate, n = f"{name}_input", 2
        while candidate in used:
            candidate, n = f"{name}_input{n}", n + 1
        used.add(candidate)
        out.append(candidate)
    return out


def _warn_renamed(what: str, before: Iterable[Hashable], after: Iterable[Hashable]) -> None:
    pairs = [f"{a!r} → {b!r}" for a, b in zip(before, after, strict=True) if a != b]
    if pairs:
        warnings.warn(
            f"Your {what} names that the output already uses were kept under new names: {', '.join(pairs)}.",
            UserWarning,
            stacklevel=4,
        )


def _name_index(index: pd.Index, columns: list[Hashable]) -> pd.Index:
    """The output index: ``origin_index`` where it has no name; a level whose name a column has is
    renamed by the rule of :func:`free_names`, so the frame can be written and reset (with a
    warning where the name was the user's; ``origin_index`` is nlu_lite's own)."""
    names = list(index.names)
    unnamed = index.nlevels == 1 and names[0] is None
    if unnamed:
        names = [INDEX_NAME]
    given = [n for n in names if n is not None]
    fixed = iter(free_names(given, set(columns)))
    new = [next(fixed) if n is not None else None for n in names]
    if not unnamed:
        _warn_renamed("index", given, [n for n in new if n is not None])
    return index.set_names(new) if new != list(index.names) else index


def vector_columns(df: pd.DataFrame) -> list[str]:
    """The vector columns: those a result records (NLU 5's layout names them its own way), else
    nlu_lite's ``*_embeddings``."""
    recorded = df.attrs.get("vector_columns")
    if recorded is not None:
        return [c for c in recorded if c in df.columns]
    return [c for c in df.columns if isinstance(c, str) and c.endswith("_embeddings")]


def require_pyarrow() -> Any:
    """pyarrow, or an error saying how to install it."""
    try:
        import pyarrow
    except ImportError:
        raise InvalidOptionError(
            "out", "parquet", "pip install pyarrow (or nlu_lite[parquet]) for parquet output"
        ) from None
    return pyarrow


def to_arrow(df: pd.DataFrame) -> Any:
    """``df`` as a pyarrow Table: the index becomes a column, vectors become list<float32>."""
    pa = require_pyarrow()
    frame = df.reset_index()
    arrays = {}
    vecs = set(vector_columns(frame))
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.array, EmbeddingArray):
            arrays[str(name)] = pa.array(column.array)
        elif name in vecs:
            # an object column of vectors (a frame built or edited by hand), or of tokens x
            # dimension matrices (NLU 5's document level of word models): list<float32> or
            # list<list<float32>>
            arrays[str(name)] = _arrow_vectors(pa, column.tolist())
        else:
            arrays[str(name)] = _arrow_column(pa, column)
    return pa.table(arrays)


def _arrow_vectors(pa: Any, cells: list[Any]) -> Any:
    present = np.array([v is not None for v in cells], dtype=bool)
    lengths = np.array([len(v) if v is not None else 0 for v in cells], dtype=np.int64)
    kept = [np.asarray(v, dtype=np.float32) for v in cells if v is not None]
    if kept and kept[0].ndim == 2:  # one matrix per row: a list of its rows' vectors
        rows = np.concatenate(kept)
        inner = arrow_lists(np.full(len(rows), rows.shape[1]), rows.reshape(-1), np.ones(len(rows), dtype=bool))
        offsets = np.zeros(len(cells) + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
        return pa.ListArray.from_arrays(pa.array(offsets), inner, mask=pa.array(~present))
    values = np.concatenate(kept) if kept else np.zeros(0, dtype=np.float32)
    return arrow_lists(lengths, values, present)


def _arrow_column(pa: Any, column: pd.Series) -> Any:
    """A user column as Arrow: as it is where Arrow can hold it; an object column of mixed kinds
    (ints and strings, say) as strings, each value through str(), nulls kept."""
    if column.dtype != object:
        return pa.array(column)
    values = column.tolist()
    try:
        return pa.array(values, from_pandas=True)  # NaN in an object column is a missing value
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        from nlu_lite.frames.inputs import is_null

        return pa.array([None if is_null(v) else str(v) for v in values], type=pa.string())


def prepare_for_files(df: pd.DataFrame) -> pd.DataFrame:
    """A shallow copy whose index can become columns: named (``origin_index`` where it has no name)
    by the same rule as the output's, so no level shares a column's name.  Shallow: the columns'
    data is shared, never written to (callers replace columns, which leaves ``df`` as it was); a
    deep copy of a chunk's vectors took 1.8 s of a 26 s run writing 20,000 sentences' token
    vectors (small_L2_256) to parquet."""
    frame = df.copy(deep=False)
    frame.index = _name_index(frame.index, list(frame.columns))
    names = list(frame.index.names)
    if None in names:  # unnamed levels of a MultiIndex: origin_index_<k>, clear of every column and level
        used = {*frame.columns, *(n for n in names if n is not None)}
        fresh = iter(free_names([f"{INDEX_NAME}_{k}" for k, n in enumerate(names) if n is None], used))
        frame.index = frame.index.set_names([next(fresh) if n is None else n for n in names])
    return frame


def file_table(df: pd.DataFrame) -> Any:
    """``df`` as the Arrow table a file holds (see :func:`to_arrow`), text that is not valid
    Unicode mended as :func:`valid_text` says."""
    return _with_valid_text(lambda frame: to_arrow(prepare_for_files(frame)), df)


def _with_valid_text(write: Callable[[pd.DataFrame], Any], df: pd.DataFrame) -> Any:
    """``write(df)``; where UTF-8 cannot hold its text (lone surrogates), ``write`` of the mended copy."""
    try:
        return write(df)
    except UnicodeEncodeError:
        return write(valid_text(df))


def valid_text(df: pd.DataFrame) -> pd.DataFrame:
    """A shallow copy of ``df`` whose strings (columns and index) can be written as UTF-8: a lone
    surrogate (bytes decoded with ``surrogateescape``, a split emoji) becomes U+FFFD, with a
    warning that counts them.  The DataFrame itself keeps them; Python's str can hold them, files
    cannot."""
    import pandas as pd

    mended = 0

    def fix(values: Any) -> Any:
        nonlocal mended
        out = list(values)
        for i, v in enumerate(out):
            if isinstance(v, str):
                try:
                    v.encode("utf-8")
                except UnicodeEncodeError:
                    out[i] = v.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
                    mended += 1
        return out

    frame = df.copy(deep=False)
    for k in range(frame.shape[1]):
        column = frame.iloc[:, k]
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            frame.isetitem(k, pd.Series(fix(column), index=frame.index, dtype=object))
    if frame.index.nlevels == 1:
        if frame.index.dtype == object:
            frame.index = pd.Index(fix(frame.index), dtype=object, name=frame.index.name)
    else:
        frame.index = frame.index.set_levels(
            [pd.Index(fix(lv), dtype=object) if lv.dtype == object else lv for lv in frame.index.levels]
        )
    if mended:
        warnings.warn(
            f"{mended} text value(s) held lone surrogates, which are not valid Unicode (bytes decoded with "
            "surrogateescape, a split emoji); the file has U+FFFD in their place, the DataFrame keeps them.",
            UserWarning,
            stacklevel=3,
        )
    return frame


@functools.lru_cache(maxsize=1)
def _umask() -> int:
    """The process's umask, read without changing it where Linux says it (/proc), else by the
    classic set-and-restore."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_target(target: str | os.PathLike[str], option: str = "path") -> Path:
    """``target`` as a path a file can be written to: not a folder, in a folder that exists."""
    out = Path(target).expanduser()
    if out.is_dir():
        raise InvalidOptionError(option, str(target), "a file path, not a folder")
    if not out.parent.is_dir():
        raise InvalidOptionError(option, str(target), f"a path in an existing folder ({out.parent} does not exist)")
    return out


def _temp_beside(target: str | os.PathLike[str]) -> tuple[Path, Path]:
    """(the target, a new empty temporary file in its folder)."""
    out = file_target(target)
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    os.close(fd)
    return out, Path(name)


def _commit(tmp: Path, out: Path) -> None:
    """Rename the finished temporary over the target (keeping an existing target's permissions)."""
    mode = out.stat().st_mode & 0o777 if out.exists() else 0o666 & ~_umask()
    os.chmod(tmp, mode)
    os.replace(tmp, out)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside ``target``; renamed over it when the block ends normally, removed
    (and ``target`` left as it was) when it raises, whatever it raises."""
    out, tmp = _temp_beside(target)
    try:
        yield tmp
        _commit(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


class TableSchema:
    """The one schema of a parquet file written in chunks: the first table fixes it (a column of
    Arrow's null type is declared as nullable strings), each later one is cast to it or refused with an
    :class:`InvalidInputError` naming the column.  ``path`` is named in the messages."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.schema: Any = None

    def fit(self, table: Any) -> Any:
        """``table`` in the file's schema (the first table fixes it)."""
        import pyarrow as pa

        if self.schema is None:
            # a column with no value and no type yet (Arrow's null type: all None in an object
            # column) says nothing of its type: nullable strings; a typed one (vectors that are all
            # missing in this chunk, nullable ints) keeps its type
            fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
            self.schema = pa.schema(fields, metadata=table.schema.metadata)
            return table.cast(self.schema)
        if table.schema == self.schema:
            return table
        if table.schema.names != self.schema.names:
            raise InvalidInputError(
                f"This chunk has the columns {table.schema.names}, the first had {self.schema.names}; every chunk "
                f"written to {self.path} must have the same columns. Nothing was written there."
            )
        columns = []
        for field, column in zip(self.schema, table.columns, strict=True):
            if (
                pa.types.is_string(field.type)
                and not pa.types.is_string(column.type)
                and not pa.types.is_null(column.type)
            ):
                # text through str(), as a first chunk of mixed values was written: 2.0 is '2.0' in every chunk
                columns.append(pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string()))
                continue
            try:
                columns.append(column.cast(field.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                raise InvalidInputError(
                    f"Column {field.name!r} holds {column.type} values in this chunk but {field.type} in the first; "
                    f"parquet needs one type per column. Convert it first (e.g. df[{field.name!r}].astype(str)). "
                    f"Nothing was written to {self.path}."
                ) from None
        return pa.Table.from_arrays(columns, schema=self.schema)


class ParquetStream:
    """Writes DataFrames to one parquet file as they come, a row group each, into a temporary
    file that replaces ``path`` only when the stream closes without an error.  One schema for
    all (see :class:`TableSchema`): nothing reaches ``path`` when a frame does not fit it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self.writer: Any = None
        self.schema = TableSchema(self.path)
        self.rows = 0
        self._tmp: Path | None = None

    def write(self, df: pd.DataFrame) -> None:
        self.write_table(file_table(df))

    def write_table(self, table: Any) -> None:
        import pyarrow.parquet as pq

        table = self.schema.fit(table)
        if self.writer is None:
            assert self._tmp is not None, "use ParquetStream as a context manager"
            self.writer = pq.ParquetWriter(self._tmp, self.schema.schema)
        self.writer.write_table(table)
        self.rows += table.num_rows

    def __enter__(self) -> ParquetStream:
        self.path, self._tmp = _temp_beside(self.path)
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        """Complete: the temporary replaces the target.  An error, or no frame at all: the
        temporary goes, and the target stays as it was."""
        assert self._tmp is not None
        try:
            if self.writer is not None:
                self.writer.close()
            if exc_type is None and self.writer is not None:
                _commit(self._tmp, self.path)
        finally:
            with contextlib.suppress(OSError):
                self._tmp.unlink()


def check_frame_target(path: str | os.PathLike[str], option: str = "output_path") -> Path:
    """The path ``write_frame`` will write, checked before any work is done: a known suffix, not a
    folder, in a folder that exists, and pyarrow there for parquet."""
    out = Path(path).expanduser()
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise InvalidOptionError(option, os.fspath(path), "a path ending in " + ", ".join(FORMATS))
    if suffix == ".parquet":
        require_pyarrow()
    return file_target(out, option)


def write_frame(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` by the file's suffix (atomically); the index is kept as columns
    (``origin_index`` where it has no name)."""
    out = check_frame_target(path, "out")
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        with ParquetStream(out) as stream:
            stream.write(df)
        return out
    _with_valid_text(lambda frame: _write_text_file(frame, out, suffix), df)
    return out


def _write_text_file(df: pd.DataFrame, out: Path, suffix: str) -> None:
    frame = prepare_for_files(df).reset_index()
    for name in vector_columns(frame):
        values = [None if v is None else np.asarray(v).tolist() for v in frame[name]]
        if suffix == ".csv":
            frame[name] = [None if v is None else json.dumps(v) for v in values]
        else:
            frame[name] = values
    with atomic_path(out) as tmp:
        if suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_json(tmp, orient="records", lines=True, force_ascii=False)
