"""Pictures of embeddings for notebooks: a 2-D map of vectors and a cosine-similarity heat map.

Needs matplotlib (``pip install 'nlu_lite[plot]'``); the projection is a PCA computed with numpy,
so scikit-learn is not needed.  Every function returns a matplotlib ``Figure``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nlu_lite.errors import InvalidOptionError
from nlu_lite.frames.output import vector_columns
from nlu_lite.frames.vectors import EmbeddingArray
from nlu_lite.options import OUTPUT_LEVELS

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

TEXT_COLUMNS = OUTPUT_LEVELS  # each level's text column is named after it


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise InvalidOptionError("plot", "matplotlib", "pip install 'nlu_lite[plot]' (matplotlib)") from None
    return plt


def _vectors(df: pd.DataFrame, column: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    """The rows that have a vector, as a matrix, and which rows they are."""
    cols = vector_columns(df)
    if column is None:
        if not cols:
            raise InvalidOptionError(
                "column", column, "a DataFrame from predict() with a vector column (embedding_format='array')"
            )
        column = cols[0]
    elif column not in df.columns:
        raise InvalidOptionError("column", column, f"one of {cols}")
    series = df[column]
    if isinstance(series.array, EmbeddingArray):
        has = ~series.isna().to_numpy()
        matrix = series.array.to_matrix()[has]
    else:  # an object column of vectors: each a 1-D array of one length
        has = np.array([v is not None and np.ndim(v) == 1 and len(v) > 0 for v in series], dtype=bool)
        cells = [np.asarray(v) for v in series[has]]
        if (
            len(cells) < has.size - int(series.isna().sum())
            or len({c.shape for c in cells}) > 1
            or any(not np.issubdtype(c.dtype, np.number) for c in cells)
        ):
            raise InvalidOptionError(
                "column",
                column,
                f"a column of one vector per row ({cols or 'no such column here'}); "
                "NLU 5's document level of a word model holds token matrices: use output_level='sentence' or pooling",
            )
        matrix = np.stack(cells).astype(np.float32) if cells else np.zeros((0, 0), np.float32)
    if not has.any():
        raise InvalidOptionError("column", column, "a column with at least one vector")
    return matrix, np.flatnonzero(has), column


def _text_column(df: pd.DataFrame) -> str | None:
    return next((c for c in TEXT_COLUMNS if c in df.columns), None)


def pca_2d(matrix: np.ndarray) -> np.ndarray:
    """Project rows onto their first two principal components (numpy SVD)."""
    centred = matrix.astype(np.float64) - matrix.mean(axis=0, keepdims=True)
    if len(centred) < 2:
        return np.zeros((len(centred), 2))
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    comps = vt[:2]
    out = centred @ comps.T
    if out.shape[1] < 2:
        out = np.pad(out, ((0, 0), (0, 2 - out.shape[1])))
    return out


def plot_embeddings(
    df: pd.DataFrame,
    color_by: str | None = "sentence_id",  # used where the frame has it (token level); else no colours
    method: str = "pca",
    column: str | None = None,
    annotate: bool | None = None,
    ax: Any = None,
) -> Figure:
    """Scatter the vectors of ``df`` in 2-D, one point per row with a vector.

    ``color_by``: a column (``sentence_id``, ``origin_index`` for the index, any carried column) or
    None.  ``annotate`` writes each row's text next to its point (default: when 60 points or fewer).
    """
    if method != "pca":
        raise InvalidOptionError("method", method, ("pca",))
    plt = _pyplot()
    matrix, rows, column = _vectors(df, column)
    xy = pca_2d(matrix)
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 5))
    else:
        fig = ax.figure
    if color_by == "sentence_id" and "sentence_id" not in df.columns:  # the default, at a level without it
        color_by = None
    groups, names = _groups(df, color_by, rows)
    cmap = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    for g, name in enumerate(names):
        sel = groups == g
        label = None if name is None else f"{color_by} {name}"
        ax.scatter(xy[sel, 0], xy[sel, 1], s=28, color=cmap(g % cmap.N), label=label, alpha=0.85)
    text_col = _text_column(df)
    if annotate is None:
        annotate = len(rows) <= 60
    if annotate and text_col is not None:
        texts = df[text_col].to_numpy()[rows]
        for (x, y), t in zip(xy, texts, strict=True):
            ax.annotate(str(t)[:24], (x, y), fontsize=8, xytext=(3, 3), textcoords="offset points")
    if color_by is not None and len(names) <= 20:
        ax.legend(fontsize=8, loc="best")
    ax.set_title(f"{column} — PCA to 2-D ({len(rows)} points)")
    ax.set_xlabel("component 1")
    ax.set_ylabel("component 2")
    fig.tight_layout()
    return fig


def _groups(df: pd.DataFrame, color_by: str | None, rows: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """Each plotted row's colour group and the groups' names (missing values are one group)."""
    import pandas as pd

    if color_by is None:
        return np.zeros(len(rows), dtype=int), [None]
    if color_by == "origin_index" or color_by in [n for n in df.index.names if n is not None]:
        keys = pd.Series(df.index.get_level_values(0 if color_by == "origin_index" else color_by)[rows])
    elif color_by in df.columns:
        keys = df[color_by].iloc[rows].reset_index(drop=True)
    else:
        raise InvalidOptionError("color_by", color_by, f"None, 'origin_index' or one of {list(df.columns)}")
    try:
        codes, uniques = pd.factorize(keys, use_na_sentinel=False)
    except TypeError:  # unhashable values (lists): not something to colour by
        raise InvalidOptionError("color_by", color_by, "a column of labels (numbers, strings)") from None
    return np.asarray(codes), list(uniques)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


def cosine_matrix(matrix: np.ndarray) -> np.ndarray:
    unit = _unit_rows(matrix)
    return unit @ unit.T


def plot_similarity(df: pd.DataFrame, column: str | None = None, max_label: int = 30, ax: Any = None) -> Figure:
    """Heat map of cosine similarity between every pair of rows with a vector (sentences, documents)."""
    plt = _pyplot()
    matrix, rows, column = _vectors(df, column)
    sim = cosine_matrix(matrix)
    if ax is None:
        size = min(12, 3 + 0.35 * len(rows))
        fig, ax = plt.subplots(figsize=(size + 1.5, size))
    else:
        fig = ax.figure
    image = ax.imshow(sim, vmin=-1, vmax=1, cmap="RdBu_r")
    text_col = _text_column(df)
    if text_col is not None and len(rows) <= 40:
        labels = [str(t)[:max_label] for t in df[text_col].to_numpy()[rows]]
        ax.set_xticks(range(len(rows)), labels, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(rows)), labels, fontsize=8)
    fig.colorbar(image, ax=ax, label="cosine similarity")
    ax.set_title(f"cosine similarity — {column}")
    fig.tight_layout()
    return fig


def nearest(df: pd.DataFrame, query: str, k: int = 5, column: str | None = None) -> pd.DataFrame:
    """The ``k`` rows most similar (cosine) to the first row whose text is ``query``."""
    import pandas as pd

    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise InvalidOptionError("k", k, "a number of rows, 0 or more")

    matrix, rows, column = _vectors(df, column)
    text_col = _text_column(df)
    if text_col is None:
        raise InvalidOptionError("df", "DataFrame", "a predict() result with a token/sentence/document column")
    texts = df[text_col].to_numpy()[rows]
    hits = np.flatnonzero(texts == query)
    if not len(hits):
        raise InvalidOptionError("query", query, f"a value of the {text_col!r} column that has a vector")
    unit = _unit_rows(matrix)
    sims = unit @ unit[hits[0]]  # one row of the cosine matrix, not all n x n
    order = [i for i in np.argsort(-sims) if i != hits[0]][:k]
    return pd.DataFrame({text_col: texts[order], "cosine": sims[order]}, index=np.asarray(df.index)[rows][order])
