"""predict() on Dask (LocalCluster, two worker processes) and Spark (local[2]): exactly the pandas
result, with the model built once per worker process."""

from __future__ import annotations

import importlib.util
import os
import pickle
import sys

import numpy as np
import pandas as pd
import pytest

import nlu_lite
from nlu_lite.clusters import distributed as scale

COL = "en_embed_tests_tiny_embeddings"
TEXTS = [
    "I love NLP.",
    "Dask and Spark run the same predict.",
    None,
    "",
    "A third text, somewhat longer than the others, to fill a partition.",
    "Zürich café",
    "The end! Really.",
    "x",
]


@pytest.fixture(scope="module")
def frame():
    return pd.DataFrame(
        {"text": TEXTS, "doc_id": [f"d{i}" for i in range(len(TEXTS))], "n": list(range(len(TEXTS)))},
        index=pd.Index([f"k{i}" for i in range(len(TEXTS))], name="key"),
    )


def assert_same(got: pd.DataFrame, expected: pd.DataFrame, level: str) -> None:
    assert list(got.columns) == list(expected.columns)
    assert list(got.index) == list(expected.index)
    assert list(got[level]) == list(expected[level])
    for a, b in zip(got[COL], expected[COL], strict=True):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(np.asarray(a, dtype=np.float32), b, atol=1e-6)


def test_scale_pipeline_pickles_as_recipe(tiny):
    data = pickle.dumps(tiny)
    assert len(data) < 20_000  # the recipe, not the weights
    restored = pickle.loads(data)
    assert restored.recipe == tiny.recipe and pickle.loads(data) is restored  # built at most once here
    np.testing.assert_allclose(restored.predict("a b")[COL].iloc[0], tiny.predict("a b")[COL].iloc[0], atol=1e-6)


@pytest.fixture(scope="module")
def dask_client(tiny_registry):
    pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    env = {"NLU_LITE_REGISTRY": str(tiny_registry), "HF_HOME": os.environ["HF_HOME"], "HF_HUB_OFFLINE": "1"}
    os.environ.update(env)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, worker_dashboard_address=None
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.mark.parametrize("level", ["token", "document"])
def test_scale_dask_equals_pandas(dask_client, tiny, frame, level):
    import dask.dataframe as dd

    ddf = dd.from_pandas(frame, npartitions=4)
    lazy = tiny.predict(ddf, output_level=level, positions=True)
    assert isinstance(lazy, dd.DataFrame)
    expected = tiny.predict(frame, output_level=level, positions=True)
    assert list(lazy.columns) == list(expected.columns)
    produced = [c for c in expected.columns if c not in frame.columns]  # carried columns keep dask's dtypes
    assert dict(lazy.dtypes[produced]) == dict(expected.dtypes[produced])
    got = lazy.compute()
    assert dict(got.dtypes[produced]) == dict(expected.dtypes[produced])
    assert_same(got, expected, level)
    series = tiny.predict(dd.from_pandas(frame["text"], npartitions=3), output_level=level).compute()
    assert_same(series, tiny.predict(frame["text"], output_level=level), level)


def test_scale_dask_loads_once_per_worker(dask_client, tiny, frame):
    import dask.dataframe as dd

    big = pd.concat([frame] * 6, ignore_index=True)
    tiny.predict(dd.from_pandas(big, npartitions=12), output_level="document").compute()
    loads = dask_client.run(scale.loads)
    assert len(loads) == 2 and all(n == 1 for n in loads.values()), loads


@pytest.fixture(scope="module")
def spark(tiny_registry):
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["NLU_LITE_REGISTRY"] = str(tiny_registry)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("nlu_lite-tests")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.executorEnv.NLU_LITE_REGISTRY", str(tiny_registry))
        .getOrCreate()
    )
    try:
        yield session
    finally:
        session.stop()


@pytest.mark.parametrize("level", ["token", "sentence"])
def test_scale_spark_equals_pandas(spark, tiny, frame, level):
    sdf = spark.createDataFrame(frame.reset_index()).repartition(3)
    out = tiny.predict(sdf, output_level=level, index_column="key", positions=True)
    rows = out.toPandas().set_index("origin_index")
    expected = tiny.predict(frame, output_level=level, positions=True)
    # Spark returns rows in partition order: put them back in input order, words in text order
    order = {k: i for i, k in enumerate(frame.index)}
    rows = rows.assign(_o=[order[k] for k in rows.index]).sort_values(["_o", "begin"], kind="stable").drop(columns="_o")
    rows.index.name = "key"
    assert_same(rows, expected, level)


def test_scale_spark_loads_once_per_worker(spark, tiny, frame):
    big = pd.concat([frame] * 5, ignore_index=True).reset_index(names="rid")
    sdf = spark.createDataFrame(big).repartition(8)
    assert tiny.predict(sdf, output_level="document", index_column="rid").count() == len(big)
    counts = (
        spark.sparkContext.parallelize(range(8), 8).mapPartitions(lambda _: [(os.getpid(), scale.loads())]).collect()
    )
    per_pid = dict(counts)
    assert sum(per_pid.values()) <= 2 and all(v <= 1 for v in per_pid.values()), per_pid


def test_scale_spark_without_index_column(spark, tiny):
    sdf = spark.createDataFrame(pd.DataFrame({"text": ["a b", "c"]}))
    out = tiny.predict(sdf, output_level="token").toPandas()
    assert sorted(out["token"]) == ["a", "b", "c"] and out["origin_index"].nunique() == 2


def test_scale_nlu_return_spark_df_and_partition(spark, tiny, frame):
    """NLU's return_spark_df (a Spark DataFrame from pandas input too) and partition."""
    out = tiny.predict(frame, output_level="document", return_spark_df=True)
    assert out.count() == len(frame)
    rows = out.toPandas().set_index("key")
    assert_same(rows, tiny.predict(frame, output_level="document"), "document")
    sdf = spark.createDataFrame(frame.reset_index())
    assert tiny.predict(sdf, output_level="document", index_column="key", partition=3).rdd.getNumPartitions() == 3
    embeds = tiny.predict_embeds(frame, return_spark_df=True)
    assert embeds.columns == ["embeddings"] and embeds.count() == len(frame)


def test_scale_nlu_partition_for_dask(dask_client, tiny, frame):
    import dask.dataframe as dd

    from nlu_lite.errors import InvalidOptionError

    lazy = tiny.predict(dd.from_pandas(frame, npartitions=1), output_level="document", partition=3)
    assert lazy.npartitions == 3
    assert len(lazy.compute()) == len(frame)
    with pytest.raises(InvalidOptionError, match="output_path"):
        tiny.predict(dd.from_pandas(frame, npartitions=1), output_path="x.parquet")


def test_scale_spark_nlu5_document_of_word_models_is_refused(spark, tiny):
    """NLU 5's unpooled document vectors (a matrix per row) have no Spark column here: a typed
    error saying what works, not a failure inside a Spark worker."""
    from nlu_lite.errors import InvalidOptionError

    sdf = spark.createDataFrame(pd.DataFrame({"text": ["a b", "c"]}))
    with pytest.raises(InvalidOptionError, match=r"with convention='nlu5'"):
        tiny.predict(sdf, output_level="document", convention="nlu5")
    out = tiny.predict(sdf, output_level="token", convention="nlu5").toPandas()
    assert sorted(out["token"]) == ["a", "b", "c"]


def test_scale_dask_nlu5_document_of_word_models_matches_pandas(dask_client, tiny, frame):
    """NLU 5's unpooled document vectors (a tokens x dimension matrix per row) pass through dask:
    the same rows, each matrix as pandas gives it (within float rounding of other batchings)."""
    import dask.dataframe as dd

    expected = tiny.predict(frame, output_level="document", convention="nlu5")
    got = tiny.predict(dd.from_pandas(frame, npartitions=3), output_level="document", convention="nlu5").compute()
    assert list(got.columns) == list(expected.columns) and list(got.index) == list(expected.index)
    col = next(c for c in expected.columns if c.startswith("word_embedding_"))
    for a, b in zip(got[col], expected[col], strict=True):
        assert np.asarray(a).shape == np.asarray(b).shape and np.asarray(a).ndim == 2
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)


def test_scale_dask_result_counts_and_writes_with_dask(dask_client, tiny, frame, tmp_path):
    """The lazy result works with dask's own operations that plan on a stand-in of each column
    (len, to_parquet): dask is told what a non-empty embedding column looks like.  Without that,
    both failed inside dask on the embedding dtype."""
    import dask.dataframe as dd

    pytest.importorskip("pyarrow")
    lazy = tiny.predict(dd.from_pandas(frame, npartitions=3), output_level="token")
    expected = tiny.predict(frame, output_level="token")
    assert len(lazy) == len(expected)
    lazy.to_parquet(tmp_path / "out")
    back = dd.read_parquet(tmp_path / "out").compute()
    assert_same(back, expected, "token")


def test_scale_dask_array_and_bag(dask_client, tiny, tmp_path):
    """A 1-D dask array of texts is embedded like a numpy array (labelled by position), lazily; a
    Bag (dask.bag.read_text's lines) streams through predict_iter / predict_to_parquet a partition
    at a time without its line ends, and predict() says how to turn it into a DataFrame; anything
    else gets a typed error, not a failure inside dask."""
    import dask
    import dask.array as da
    import dask.bag as db

    texts = ["I love NLP.", "Dask arrays too.", "", "x y z"]
    expected = tiny.predict(texts, output_level="token")
    lazy = tiny.predict(da.from_array(np.array(texts, dtype=object), chunks=3), output_level="token")
    assert_same(lazy.compute(), expected, "token")
    streamed = list(tiny.predict_iter(da.from_array(np.array(texts, dtype=object), chunks=3), chunk_rows=2))
    assert [len(p.index.unique()) for p in streamed] == [2, 1, 1]  # chunks never span partitions
    assert_same(pd.concat(streamed), tiny.predict(texts), "token")

    lines = db.from_sequence([t + "\n" for t in texts[:2]] + [t + "\r\n" for t in texts[2:]], npartitions=2)
    with pytest.raises(nlu_lite.InvalidInputError, match=r"bag.to_dataframe"):
        tiny.predict(lines)
    parts = list(tiny.predict_iter(lines, chunk_rows=10, output_level="token"))
    assert len(parts) == lines.npartitions  # a partition at a time, not the whole Bag computed at once
    assert_same(pd.concat(parts), expected, "token")
    if importlib.util.find_spec("pyarrow"):
        assert tiny.predict_to_parquet(lines, tmp_path / "bag.parquet", output_level="token") == len(expected)
        assert_same(_read_parquet(tmp_path / "bag.parquet").set_index("origin_index"), expected, "token")

    flat = da.from_array(np.array([texts], dtype=object), chunks=1)
    for bad in (flat, dask.delayed(texts)):
        with pytest.raises(nlu_lite.InvalidInputError, match=r"1-D|dask"):
            tiny.predict(bad)
        with pytest.raises(nlu_lite.InvalidInputError):
            list(tiny.predict_iter(bad))


def _read_parquet(path):
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pandas()


def test_scale_dask_streams_into_one_parquet_file(dask_client, tiny, frame, tmp_path):
    """A dask DataFrame goes through predict_to_parquet and predict_iter a partition at a time,
    with its labels: the file holds exactly the pandas result (iterating it would have given its
    column names as texts)."""
    import dask.dataframe as dd

    pytest.importorskip("pyarrow")
    ddf = dd.from_pandas(frame, npartitions=3)
    expected = tiny.predict(frame, output_level="token", positions=True)
    path = tmp_path / "out.parquet"
    assert tiny.predict_to_parquet(ddf, path, chunk_rows=2, output_level="token", positions=True) == len(expected)
    got = _read_parquet(path).set_index("key")
    assert_same(got, expected, "token")
    parts = list(tiny.predict_iter(ddf["text"], chunk_rows=2, output_level="token"))
    assert len(parts) == sum(-(-n // 2) for n in ddf.map_partitions(len).compute())
    assert_same(pd.concat(parts), tiny.predict(frame["text"], output_level="token"), "token")


def test_scale_spark_streams_into_one_parquet_file(spark, tiny, frame, tmp_path):
    """A Spark DataFrame streams to this process a partition at a time; rows labelled by
    index_column (or by running position), every column carried."""
    pytest.importorskip("pyarrow")
    sdf = spark.createDataFrame(frame.reset_index())
    expected = tiny.predict(frame, output_level="sentence")
    path = tmp_path / "out.parquet"
    n = tiny.predict_to_parquet(sdf, path, chunk_rows=3, output_level="sentence", index_column="key")
    got = _read_parquet(path).set_index("key")
    assert n == len(expected)
    assert_same(got, expected, "sentence")
    parts = list(tiny.predict_iter(sdf.select("text"), chunk_rows=3, output_level="document"))
    whole = pd.concat(parts)
    assert list(whole.index) == list(range(len(frame)))
    assert_same(whole, tiny.predict(frame["text"].reset_index(drop=True), output_level="document"), "document")
    with pytest.raises(nlu_lite.InvalidOptionError, match="index_column"):
        tiny.predict_to_parquet(sdf, tmp_path / "bad.parquet", index_column="nope")
    with pytest.raises(nlu_lite.InvalidOptionError, match="index_column"):
        tiny.predict_iter(sdf, index_column="nope")  # at the call
    with pytest.raises(nlu_lite.InvalidOptionError, match="one of the columns"):
        tiny.predict(sdf, index_column="nope")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]  # nothing left by the refusals


@pytest.mark.parametrize(("model", "level"), [("sentiment", "document"), ("ner", "token"), ("ner", "chunk")])
def test_scale_dask_classifiers_and_taggers_equal_pandas(dask_client, task_pipes, frame, model, level):
    """Classifiers and taggers on Dask give pandas' frame: the workers rebuild each model with its
    task's head from the pickled recipe."""
    import dask.dataframe as dd

    pipe = task_pipes[model]
    expected = pipe.predict(frame, output_level=level, positions=True)
    got = pipe.predict(dd.from_pandas(frame, npartitions=3), output_level=level, positions=True).compute()
    assert list(got.columns) == list(expected.columns) and list(got.index) == list(expected.index)
    for column in expected.columns:
        if pd.api.types.is_float_dtype(expected[column]):
            np.testing.assert_allclose(got[column].astype(float), expected[column], atol=1e-6, equal_nan=True)
        else:
            assert got[column].fillna("").astype(str).tolist() == expected[column].fillna("").astype(str).tolist()


def test_scale_spark_classifier_equals_pandas(spark, task_pipes, frame):
    """A classifier on Spark gives pandas' labels and confidences, row for row."""
    pipe = task_pipes["sentiment"]
    sdf = spark.createDataFrame(frame.reset_index()).repartition(3)
    rows = pipe.predict(sdf, output_level="document", index_column="key").toPandas().set_index("origin_index")
    expected = pipe.predict(frame, output_level="document")
    rows = rows.loc[list(expected.index)]
    label, confidence = "en_classify_tests_sentiment_label", "en_classify_tests_sentiment_confidence"
    assert rows[label].fillna("").tolist() == expected[label].fillna("").tolist()
    np.testing.assert_allclose(rows[confidence].astype(float), expected[confidence], atol=1e-6, equal_nan=True)
