"""DataFrame → file: parquet (vectors as list<float32>), CSV (vectors as JSON lists), JSON lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nlu_lite.errors import InvalidOptionError

if TYPE_CHECKING:
    import pandas as pd

FORMATS = (".parquet", ".csv", ".jsonl")


def vector_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if isinstance(c, str) and c.endswith("_embeddings")]


def write_frame(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` by the file's suffix; the index is kept as a column named ``origin_index``."""
    out = Path(path).expanduser()
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise InvalidOptionError("out", str(path), "a path ending in " + ", ".join(FORMATS))
    frame = df.copy()
    frame.index.name = frame.index.name or "origin_index"
    frame = frame.reset_index()
    vecs = vector_columns(frame)
    if suffix == ".parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise InvalidOptionError("out", str(path), "a .csv or .jsonl path, or pip install pyarrow") from None
        arrays = {}
        for name in frame.columns:
            if name in vecs:
                values = [None if v is None else np.asarray(v, dtype=np.float32) for v in frame[name]]
                arrays[name] = pa.array(values, type=pa.list_(pa.float32()))
            else:
                arrays[name] = pa.array(frame[name].tolist())
        pq.write_table(pa.table(arrays), out)
    else:
        for name in vecs:
            frame[name] = [None if v is None else np.asarray(v).tolist() for v in frame[name]]
        if suffix == ".csv":
            for name in vecs:
                frame[name] = [None if v is None else json.dumps(v) for v in frame[name]]
            frame.to_csv(out, index=False)
        else:
            frame.to_json(out, orient="records", lines=True, force_ascii=False)
    return out
