"""A parquet file built chunk by chunk that survives an interruption (``predict_to_parquet``).

Each finished chunk is an Arrow IPC file of its own in a hidden folder beside the target,
``.NAME.chunks/``, written to a temporary there and renamed when complete (Arrow's own format
writes and maps back at memory speed, so a run that is never interrupted pays little for this:
the parquet encoding happens once, when the chunks are joined).  Its name holds the
chunk's number and a fingerprint of its input rows; the folder's ``job.json`` holds everything
else that decides the output (the models and their files, dtype, options, chunk size, nlu_lite's
version).  The same call again, after a crash, Ctrl-C or a full disk, reuses every chunk whose
input and job are unchanged and computes the rest; a chunk whose input changed is computed again,
and a different job starts the folder over.  When every chunk is there, they are joined into the
target (a temporary beside it, renamed over it) and the folder is removed.  Reading data never runs
code: ``job.json`` is JSON and the chunks are Arrow IPC.  Until the file is complete the chunks
take about as much disk again as the file will.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nlu_lite.errors import InvalidOptionError
from nlu_lite.frames.output import (
    ParquetStream,
    TableSchema,
    atomic_path,
    file_table,
    file_target,
    require_pyarrow,
)

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger("nlu_lite")

JOB = "job.json"


def fingerprint(part: Any) -> str:
    """A digest of one chunk of input: its values, labels, column names and dtypes."""
    import pandas as pd

    digest = hashlib.sha256()
    if isinstance(part, str):
        digest.update(b"str\0" + part.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()[:20]
    if not isinstance(part, (pd.Series, pd.DataFrame)):  # a lone value (None), or what predict() refuses
        return uuid.uuid4().hex[:20]
    frame = part.to_frame() if isinstance(part, pd.Series) else part
    digest.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    digest.update(repr(list(frame.index.names)).encode())
    try:
        digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    except (TypeError, UnicodeEncodeError):  # cells pandas cannot hash (lists, dicts, lone surrogates): pickled
        try:
            digest.update(pickle.dumps(frame, protocol=4))
        except Exception:  # cells that cannot be pickled either: a key no later run matches (run again)
            return uuid.uuid4().hex[:20]
    return digest.hexdigest()[:20]


def callable_identity(fn: Any) -> str:
    """A key for a callable option (a sentence splitter) that is the same in every process where
    the callable does the same: for a Python function, its module, name and code (bytecode,
    constants, defaults, the values it closes over); anything else (an object with ``__call__``,
    a builtin) gets a key no other run shares, so its chunks are never taken again: what it does
    cannot be read from it.  (What a function calls by name is not in its key.)"""
    import types

    if not isinstance(fn, types.FunctionType):
        return uuid.uuid4().hex[:20]
    parts = [fn.__module__, fn.__qualname__, _code_key(fn.__code__), repr(fn.__defaults__), repr(fn.__kwdefaults__)]
    for cell in fn.__closure__ or ():
        try:
            parts.append(repr(cell.cell_contents))
        except ValueError:  # a cell not filled yet
            parts.append("<empty>")
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:20]


def _code_key(code: Any) -> str:
    """A code object's bytecode, names and constants, nested functions' code included (whose repr
    would carry a memory address)."""
    consts = [_code_key(c) if hasattr(c, "co_code") else repr(c) for c in code.co_consts]
    return "|".join([code.co_code.hex(), repr(code.co_names), *consts])


class ParquetChunks:
    """The chunks of one parquet file (see the module docstring).  Use as a context manager:
    ``done(k, key)`` says whether chunk ``k`` with input fingerprint ``key`` is already there,
    ``write(k, key, df)`` adds it, ``finish()`` joins them into the target."""

    def __init__(self, path: str | os.PathLike[str], job: dict[str, Any]) -> None:
        self.path = file_target(path)
        self.folder = self.path.with_name(f".{self.path.name}.chunks")
        self.job = json.loads(json.dumps(job, default=repr))  # as it reads back from job.json
        self.schema = TableSchema(self.path)
        self.parts: list[Path] = []
        self.reused = 0

    def _part(self, k: int, key: str) -> Path:
        return self.folder / f"{k:07d}-{key}.arrow"

    def __enter__(self) -> ParquetChunks:
        require_pyarrow()  # before anything is written
        folder = self.folder
        foreign = folder.exists() and not (folder / JOB).is_file()
        if foreign and (not folder.is_dir() or any(folder.iterdir())):
            raise InvalidOptionError(
                "path",
                str(self.path),
                f"a target whose chunk folder {folder} is free: something that is not nlu_lite's is there",
            )
        if (folder / JOB).is_file():
            try:
                same = json.loads((folder / JOB).read_text()) == self.job
            except (OSError, ValueError):
                same = False
            if not same:
                logger.info("%s holds the chunks of another job (models, options or input): starting over", folder)
                shutil.rmtree(folder)
        if not (folder / JOB).is_file():  # a new folder (or an empty one left there)
            folder.mkdir(exist_ok=True)
            with atomic_path(folder / JOB) as tmp:
                tmp.write_text(json.dumps(self.job, indent=1, sort_keys=True))
        for stray in folder.glob(".*.part"):  # temporaries of a chunk cut off mid-write
            stray.unlink()
        return self

    def done(self, k: int, key: str) -> bool:
        """Is chunk ``k`` of this input already written (then it is taken as it is)?"""
        part = self._part(k, key)
        if not part.is_file():
            return False
        self.parts.append(part)
        self.reused += 1
        return True

    def write(self, k: int, key: str, df: pd.DataFrame) -> None:
        """Chunk ``k`` (input fingerprint ``key``), in the file's one schema, written atomically."""
        import pyarrow as pa

        table = file_table(df)
        if self.schema.schema is None and self.parts:  # the file's schema is its first chunk's
            self.schema.fit(_read(self.parts[0]).schema.empty_table())
        table = self.schema.fit(table)
        for stale in self.folder.glob(f"{k:07d}-*.arrow"):  # this chunk of an earlier input
            stale.unlink()
        part = self._part(k, key)
        with atomic_path(part) as tmp, pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as ipc:
            ipc.write_table(table)
        self.parts.append(part)

    def finish(self) -> int:
        """Join the chunks into the target; returns its rows."""
        with ParquetStream(self.path) as stream:
            for part in self.parts:
                stream.write_table(_read(part))
        shutil.rmtree(self.folder)
        return stream.rows

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None or not self.folder.is_dir():
            return
        kept = len(list(self.folder.glob("*.arrow")))
        if kept:
            logger.warning(
                "%d finished chunk(s) kept in %s: the same call continues from them (delete the folder to drop them)",
                kept,
                self.folder,
            )
        else:
            with contextlib.suppress(OSError):
                shutil.rmtree(self.folder)


def _read(part: Path) -> Any:
    """One chunk's table, mapped from its file."""
    import pyarrow as pa

    with pa.memory_map(str(part)) as source:
        return pa.ipc.open_file(source).read_all()
