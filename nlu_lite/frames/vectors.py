"""A pandas extension array for embedding columns: one contiguous float32 block, no per-row objects.

Each cell reads as a 1-D float32 numpy array (a view into the block), ``None`` where a row has no
vector; the column itself costs the block plus one byte per row, where a column of ndarray objects
would add about 112 bytes per row.  It slices, takes, concatenates, pickles, prints and converts to
Arrow (``list<float32>``) like any pandas column.  ``series.array.to_matrix()`` hands the block to
scikit-learn without copying.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
from pandas.api.extensions import ExtensionArray, ExtensionDtype, register_extension_dtype


@register_extension_dtype
class EmbeddingDtype(ExtensionDtype):
    """Cells are 1-D float32 arrays (or None)."""

    name = "embedding"
    type = np.ndarray
    kind = "O"
    na_value = None

    @classmethod
    def construct_array_type(cls) -> builtins.type[EmbeddingArray]:
        return EmbeddingArray

    @property
    def _is_numeric(self) -> bool:
        return False


class EmbeddingArray(ExtensionArray):
    """Vectors of one model: ``block`` (n, d) float32 and ``valid`` (n,) bool."""

    _dtype = EmbeddingDtype()

    def __init__(self, block: np.ndarray, valid: np.ndarray | None = None) -> None:
        block = np.asarray(block)
        if block.ndim != 2:
            raise ValueError(f"an embedding block is 2-D (rows, dimensions), got shape {block.shape}")
        if block.dtype != np.float32:
            block = block.astype(np.float32)
        self._block = block
        self._valid = np.ones(len(block), dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
        if self._valid.shape != (len(block),):
            raise ValueError("valid must have one flag per row")

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def _from_sequence(cls, scalars: Any, *, dtype: Any = None, copy: bool = False) -> EmbeddingArray:
        if isinstance(scalars, EmbeddingArray):
            return scalars.copy() if copy else scalars
        cells = list(scalars)
        dims = {np.shape(v) for v in cells if v is not None and not _is_na(v)}
        if any(len(d) != 1 for d in dims):
            raise TypeError("an embedding column holds 1-D vectors (or None)")
        if len(dims) > 1:
            raise ValueError(f"vectors of different shapes cannot share a column: {sorted(dims)}")
        dim = dims.pop()[0] if dims else 0
        block = np.zeros((len(cells), dim), dtype=np.float32)
        valid = np.zeros(len(cells), dtype=bool)
        for i, v in enumerate(cells):
            if v is not None and not _is_na(v):
                block[i] = v
                valid[i] = True
        return cls(block, valid)

    @classmethod
    def _from_scalars(cls, scalars: Any, *, dtype: Any) -> EmbeddingArray:
        return cls._from_sequence(scalars, dtype=dtype)

    @classmethod
    def _from_factorized(cls, values: Any, original: EmbeddingArray) -> EmbeddingArray:
        return cls._from_sequence(values)

    @classmethod
    def _concat_same_type(cls, to_concat: Sequence[EmbeddingArray]) -> EmbeddingArray:
        dims = {a._block.shape[1] for a in to_concat if len(a)}
        if len(dims) > 1:
            raise ValueError(f"cannot concatenate embedding columns of dimensions {sorted(dims)}")
        dim = dims.pop() if dims else 0
        blocks = [a._block if len(a) else np.zeros((0, dim), np.float32) for a in to_concat]
        return cls(
            np.concatenate(blocks) if blocks else np.zeros((0, dim), np.float32),
            np.concatenate([a._valid for a in to_concat]) if to_concat else np.zeros(0, bool),
        )

    # -- the array protocol ----------------------------------------------------------------------
    @property
    def dtype(self) -> EmbeddingDtype:
        return self._dtype

    def __len__(self) -> int:
        return len(self._block)

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, (int, np.integer)):
            return self._block[item] if self._valid[item] else None
        if isinstance(item, tuple) and len(item) == 1:
            item = item[0]
        if isinstance(item, slice):
            return type(self)(self._block[item], self._valid[item])
        key = np.asarray(item)
        if key.dtype == bool:
            return type(self)(self._block[key], self._valid[key])
        return self.take(key)

    def __iter__(self) -> Iterator[np.ndarray | None]:
        block, valid = self._block, self._valid
        for i in range(len(block)):
            yield block[i] if valid[i] else None

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(key, (int, np.integer)):
            if value is None or _is_na(value):
                self._valid[key] = False
            else:
                self._block[key] = value
                self._valid[key] = True
            return
        idx = np.arange(len(self))[key]
        values = value if isinstance(value, (list, EmbeddingArray)) else [value] * len(idx)
        for i, v in zip(idx, values, strict=True):
            self[int(i)] = v

    @property
    def nbytes(self) -> int:
        return int(self._block.nbytes + self._valid.nbytes)

    def isna(self) -> np.ndarray:
        return ~self._valid

    def take(self, indices: Any, *, allow_fill: bool = False, fill_value: Any = None) -> EmbeddingArray:
        idx = np.asarray(indices, dtype=np.intp)
        if allow_fill:
            if (idx < -1).any():
                raise ValueError("take with allow_fill accepts -1 as the only negative index")
            missing = idx == -1
            safe = np.where(missing, 0, idx)
            if len(self) == 0 and missing.all():
                return type(self)(np.zeros((len(idx), self._block.shape[1]), np.float32), np.zeros(len(idx), bool))
            return type(self)(self._block[safe], self._valid[safe] & ~missing)
        return type(self)(self._block[idx], self._valid[idx])

    def copy(self) -> EmbeddingArray:
        return type(self)(self._block.copy(), self._valid.copy())

    def __eq__(self, other: Any) -> Any:
        if isinstance(other, EmbeddingArray) and len(other) == len(self):
            same = (self._block == other._block).all(axis=1) if self._block.shape == other._block.shape else False
            return np.asarray(same & self._valid & other._valid) | (~self._valid & ~other._valid)
        return np.zeros(len(self), dtype=bool)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.empty(len(self), dtype=object)
        out[:] = list(self)
        return out

    def to_numpy(self, dtype: Any = None, copy: bool = False, na_value: Any = None) -> np.ndarray:
        return self.__array__()

    def _values_for_factorize(self) -> tuple[np.ndarray, Any]:
        keys = np.array([None if v is None else v.tobytes() for v in self], dtype=object)
        return keys, None

    def _formatter(self, boxed: bool = False) -> Any:
        def show(v: Any) -> str:
            if v is None:
                return "None"
            head = ", ".join(f"{x:.4f}" for x in v[:4])
            return f"[{head}, …] ({len(v)})" if len(v) > 4 else f"[{head}]"

        return show

    def __arrow_array__(self, type: Any = None) -> Any:
        """list<float32>, sharing the block's memory where every row has a vector (else the rows
        with one are gathered first: a null list holds no values)."""
        lengths = np.where(self._valid, self._block.shape[1], 0)
        values = self._block if self._valid.all() else self._block[self._valid]
        return arrow_lists(lengths, values.reshape(-1), self._valid)

    def map(self, mapper: Any, na_action: Any = None) -> Any:
        """Each vector through ``mapper``, as an object column of arrays would map it: the results
        are whatever it returns (lists stay lists, a Series per row makes ``apply`` a DataFrame,
        numbers a numeric column), not vectors again."""
        from pandas.core.algorithms import map_array

        return map_array(self.__array__(), mapper, na_action=na_action)

    _REDUCTIONS: ClassVar[dict[str, Any]] = {
        "sum": np.sum,
        "mean": np.mean,
        "min": np.min,
        "max": np.max,
        "median": np.median,
    }

    def _reduce(self, name: str, *, skipna: bool = True, keepdims: bool = False, **kwargs: Any) -> Any:
        """sum, mean, min, max and median over the rows, one value per dimension (``df[col].mean()``
        is the centroid), as for an object column of arrays; rows without a vector are skipped
        (``skipna=False``: a NaN vector where one is missing)."""
        if name not in self._REDUCTIONS:
            return super()._reduce(name, skipna=skipna, keepdims=keepdims, **kwargs)
        rows = self._block[self._valid] if skipna else self.to_matrix()
        dim = self._block.shape[1]
        if len(rows) == 0 and name != "sum":  # no vector to take a mean (min, …) of: a missing one
            return type(self)(np.zeros((1, dim), np.float32), np.zeros(1, bool)) if keepdims else None
        out = (
            self._REDUCTIONS[name](rows, axis=0).astype(np.float32, copy=False)
            if len(rows)
            else np.zeros(dim, np.float32)
        )
        return type(self)(out[None, :]) if keepdims else out

    # -- extras ------------------------------------------------------------------------------------
    def to_matrix(self, fill: float = np.nan) -> np.ndarray:
        """The vectors as a 2-D float32 array; rows without a vector hold ``fill``.  No copy when
        every row has a vector."""
        if self._valid.all():
            return self._block
        out = self._block.copy()
        out[~self._valid] = fill
        return out


def _is_na(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def arrow_lists(lengths: np.ndarray, values: np.ndarray, valid: np.ndarray) -> Any:
    """A pyarrow list<float32> array: row i holds the next ``lengths[i]`` of ``values``, null where
    ``valid`` is False."""
    import pyarrow as pa

    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    flat = pa.array(np.asarray(values, dtype=np.float32))
    return pa.ListArray.from_arrays(pa.array(offsets), flat, mask=pa.array(~np.asarray(valid, dtype=bool)))
