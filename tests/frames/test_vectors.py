"""The embedding column: one float32 block behind ordinary pandas operations."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from nlu_lite.frames.vectors import EmbeddingArray, EmbeddingDtype


@pytest.fixture
def arr():
    block = np.arange(12, dtype=np.float32).reshape(4, 3)
    return EmbeddingArray(block, np.array([True, False, True, True]))


def test_vectors_cells_are_views_or_none(arr):
    assert arr[0].dtype == np.float32 and np.shares_memory(arr[0], arr._block)
    assert arr[1] is None
    assert list(arr.isna()) == [False, True, False, False]
    assert [None if v is None else v.tolist() for v in arr] == [[0, 1, 2], None, [6, 7, 8], [9, 10, 11]]


def test_vectors_take_slice_mask_concat(arr):
    taken = arr.take([3, -1, 0], allow_fill=True)
    assert taken[0].tolist() == [9, 10, 11] and taken[1] is None and taken[2].tolist() == [0, 1, 2]
    assert arr.take([-1])[0].tolist() == [9, 10, 11]  # no fill: python-style negative index
    assert len(arr[1:3]) == 2 and arr[1:3][0] is None
    assert len(arr[np.array([True, False, False, True])]) == 2
    both = EmbeddingArray._concat_same_type([arr, arr[:1]])
    assert len(both) == 5 and both[4].tolist() == [0, 1, 2]
    with pytest.raises(ValueError):
        EmbeddingArray._concat_same_type([arr, EmbeddingArray(np.zeros((1, 5), np.float32))])


def test_vectors_in_pandas(arr):
    s = pd.Series(arr, index=list("abcd"))
    assert isinstance(s.dtype, EmbeddingDtype) and s.dtype == "embedding"
    assert s.loc["c"].tolist() == [6, 7, 8]
    assert s.isna().tolist() == [False, True, False, False]
    assert s.dropna().index.tolist() == ["a", "c", "d"]
    df = pd.DataFrame({"token": ["w", "x", "y", "z"], "vec": arr, "g": [0, 0, 1, 1]})
    assert len(pd.concat([df, df])) == 8
    rows = list(df.iterrows())
    assert rows[0][1]["vec"].tolist() == [0, 1, 2] and rows[1][1]["vec"] is None
    norms = df["vec"].dropna().map(np.linalg.norm)
    assert norms.iloc[0] == pytest.approx(np.sqrt(5))
    assert df.groupby("g")["token"].count().tolist() == [2, 2]
    assert "[0.0000, 1.0000, 2.0000]" in repr(df)
    assert df.copy()["vec"].array._block is not arr._block
    assert np.stack(df["vec"].dropna()).shape == (3, 3)


def test_vectors_pickle_and_from_sequence(arr):
    back = pickle.loads(pickle.dumps(arr))
    assert back[2].tolist() == [6, 7, 8] and back[1] is None
    seq = EmbeddingArray._from_sequence([np.ones(2), None, [3, 4]])
    assert seq[0].dtype == np.float32 and seq[1] is None and seq[2].tolist() == [3, 4]
    with pytest.raises(ValueError):
        EmbeddingArray._from_sequence([np.ones(2), np.ones(3)])
    assert pd.Series([np.ones(2), None], dtype="embedding").isna().tolist() == [False, True]


def test_vectors_arrow_and_matrix(arr):
    pa = pytest.importorskip("pyarrow")
    table = pa.table({"vec": pa.array(arr)})
    assert table.schema.field("vec").type == pa.list_(pa.float32())
    assert table.column("vec").to_pylist() == [[0, 1, 2], None, [6, 7, 8], [9, 10, 11]]
    m = arr.to_matrix()
    assert m.shape == (4, 3) and np.isnan(m[1]).all() and m.dtype == np.float32
    full = EmbeddingArray(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert full.to_matrix() is full._block  # no copy when every row has a vector
    shared = pa.array(full)  # nor for Arrow (parquet chunks): its values are the block's memory
    assert shared.values.buffers()[1].address == full._block.ctypes.data
    assert shared.to_pylist() == [[0, 1, 2], [3, 4, 5]]
    assert arr.nbytes == 4 * 3 * 4 + 4


def test_vectors_files_share_the_frame_data(tmp_path):
    """Writing a result prepares a shallow copy (index named for the file): the vectors are not
    copied, and the caller's frame keeps its columns and index."""
    from nlu_lite.frames.output import prepare_for_files

    df = pd.DataFrame({"token": ["a", "b"], "v": EmbeddingArray(np.ones((2, 3), np.float32))}, index=[4, 5])
    ready = prepare_for_files(df)
    assert ready.index.name == "origin_index" and df.index.name is None
    assert np.shares_memory(ready["v"].array._block, df["v"].array._block)
    ready["v"] = None  # what writers do to a column of the copy leaves the caller's frame alone
    assert df["v"].array._block.sum() == 6 and list(df.columns) == ["token", "v"]


def test_vectors_setitem(arr):
    arr[1] = np.array([1, 1, 1], dtype=np.float32)
    arr[0] = None
    assert arr[1].tolist() == [1, 1, 1] and arr[0] is None


def test_vectors_predict_output_memory(minilm):
    df = minilm.predict(["I love NLP"] * 100)
    col = df["en_embed_all_minilm_l6_v2_embeddings"]
    assert isinstance(col.array, EmbeddingArray)
    assert col.array.nbytes == len(df) * (384 * 4 + 1)


def test_vectors_object_column_writes_the_same_arrow(arr):
    """A frame whose vector column was turned into objects by hand writes the same list<float32>."""
    pytest.importorskip("pyarrow")
    from nlu_lite.frames.output import to_arrow

    typed = pd.DataFrame({"token": list("abcd"), "x_embeddings": arr})
    objects = typed.assign(x_embeddings=typed["x_embeddings"].to_numpy())
    assert objects["x_embeddings"].dtype == object
    assert to_arrow(objects).equals(to_arrow(typed))


def test_vectors_reduce_and_map_as_an_object_column_of_arrays(arr):
    """NLU's vector columns are object columns of arrays; the idioms that work there work here:
    .sum()/.mean()/… give one value per dimension (rows without a vector skipped), groupby means
    per group, .apply(list) gives lists, .apply(pd.Series) a DataFrame, numbers a numeric column."""
    s = pd.Series(arr)
    rows = np.stack([v for v in arr if v is not None])
    np.testing.assert_allclose(s.mean(), rows.mean(0), rtol=1e-6)
    np.testing.assert_allclose(s.sum(), rows.sum(0), rtol=1e-6)
    np.testing.assert_array_equal(s.max(), rows.max(0))
    assert np.isnan(s.mean(skipna=False)).all()
    groups = s.groupby([0] * (len(s) - 1) + [1]).mean()
    np.testing.assert_allclose(groups.iloc[0], np.stack([v for v in arr[:-1] if v is not None]).mean(0), rtol=1e-6)
    assert pd.Series(EmbeddingArray(np.zeros((2, 3)), np.zeros(2, bool))).mean() is None
    kept = s.dropna()
    listed = kept.apply(list)
    assert listed.dtype == object and all(isinstance(v, list) for v in listed)
    wide = kept.apply(pd.Series)
    assert isinstance(wide, pd.DataFrame) and wide.shape == (len(kept), rows.shape[1])
    np.testing.assert_allclose(kept.map(lambda v: float(v.sum())), rows.sum(1), rtol=1e-5)
