"""The faster paths' behaviour (speed itself is measured in benchmarks/, never asserted here):
precision, devices, streaming, progress, batching options."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

import nlu_lite
from nlu_lite.errors import InvalidOptionError

COL = "en_embed_tests_tiny_embeddings"


def test_speed_bfloat16_close_to_float32(use_tiny, tiny):
    low = nlu_lite.load("en.embed.tests.tiny", dtype="bfloat16")
    texts = ["I love NLP", "bfloat16 keeps the vectors close to float32, doesn't it?"]
    a = np.stack(tiny.predict(texts)[COL])
    b = np.stack(low.predict(texts)[COL])
    assert b.dtype == np.float32
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() > 0.99
    assert low.predict("x").attrs["dtype"] == "bfloat16"


def test_speed_dtype_and_device_checks(use_tiny):
    with pytest.raises(InvalidOptionError, match="GPU"):
        nlu_lite.load("en.embed.tests.tiny", dtype="float16")
    with pytest.raises(InvalidOptionError, match="dtype"):
        nlu_lite.load("en.embed.tests.tiny", dtype="int8")
    auto = nlu_lite.load("en.embed.tests.tiny", device="auto")
    assert auto.device.type in ("cpu", "cuda", "mps")
    with pytest.raises(InvalidOptionError, match="dtype"):
        nlu_lite.Pipeline([auto.encoders[0].components], dtype="int8")


def _vectors(df: pd.DataFrame) -> np.ndarray:
    dim = next(len(v) for v in df[COL] if v is not None)
    return np.stack([np.full(dim, np.nan, np.float32) if v is None else v for v in df[COL]])


def _count_rows_run(monkeypatch, runner) -> list[int]:
    """The rows of every batch ``runner`` runs from now on (its forward and selected forward)."""
    seen: list[int] = []

    def counting(method):
        def run(ids, *args, **kwargs):
            seen.append(int(ids.shape[0]))
            return method(ids, *args, **kwargs)

        return run

    monkeypatch.setattr(runner, "forward", counting(runner.forward))
    monkeypatch.setattr(runner, "forward_selected", counting(runner.forward_selected))
    return seen


@pytest.mark.parametrize("level", ["token", "sub_token", "sentence", "document"])
@pytest.mark.parametrize("word_pooling", ["first", "mean"])
def test_speed_repeated_texts_run_once(tiny, monkeypatch, level, word_pooling):
    """A text that comes again (a whole window: the same pieces) is not run again; its rows get the
    vectors the model gives it, as if it had been run."""
    from nlu_lite.engine import encoder
    from nlu_lite.engine.batches import Repeats

    long = " ".join(["tokenization"] * 20)  # several windows: always run
    texts = ["I love NLP. Yes.", "Other text.", "I love NLP. Yes.", "", long, "Yes.", long, "I love NLP. Yes."]
    seen = _count_rows_run(monkeypatch, tiny.encoders[0].runner)
    deduped = tiny.predict(texts, output_level=level, word_pooling=word_pooling, positions=True)
    once = sum(seen)
    seen.clear()

    def no_repeats(pieces, windows, wanted):
        none = np.zeros(0, dtype=np.int64)
        return Repeats(np.ones(len(windows), dtype=bool), none, none, none, none)

    monkeypatch.setattr(encoder, "find_repeats", no_repeats)
    every = tiny.predict(texts, output_level=level, word_pooling=word_pooling, positions=True)
    pd.testing.assert_frame_equal(deduped.drop(columns=COL), every.drop(columns=COL))
    np.testing.assert_allclose(_vectors(deduped), _vectors(every), atol=1e-5, equal_nan=True)
    # whole inputs: "I love NLP. Yes." twice again; sentences: "I love NLP." twice, "Yes." three times
    repeated = 5 if level == "sentence" else 2
    assert sum(seen) - once == repeated


def test_speed_repeats_are_checked_piece_by_piece(tiny, monkeypatch):
    """Windows are matched by a hash of their pieces, then compared: with every hash the same (all
    collide with the first window), only true repeats of it are left out; the rest run."""
    from nlu_lite.engine import batches as batching

    enc = tiny.encoders[0]
    pieces = enc.tokenize(["a b", "c d e", "a b", "a b c", "c d e", "", "a b"], spans=False)
    windows = enc.windows(pieces, 0.25)
    monkeypatch.setattr(batching, "hash", lambda key: 0, raising=False)
    found = batching.find_repeats(pieces, windows, None)
    assert found.unit.tolist() == [2, 6] and found.source_unit.tolist() == [0, 0]
    assert found.run.tolist() == [True, True, False, True, True, False]  # unit 5 is empty: no window
    assert np.array_equal(pieces.ids[found.piece], pieces.ids[found.source_piece])
    wanted = np.ones(len(pieces.ids), dtype=bool)
    wanted[pieces.unit_start[6]] = False  # the last "a b" keeps other pieces: it is run
    assert batching.find_repeats(pieces, windows, wanted).unit.tolist() == [2]
    monkeypatch.undo()
    assert batching.find_repeats(pieces, windows, None).unit.tolist() == [2, 4, 6]


@pytest.mark.parametrize("level", ["sentence", "document"])
def test_speed_streaming_runs_a_text_once_across_chunks(tiny, monkeypatch, tmp_path, level):
    """predict_iter and predict_to_parquet remember the pooled vectors of earlier chunks: a text
    that comes again in a later chunk is not run again, and every row gets the vector predict()
    gives it.  A plain predict() remembers nothing between calls."""
    from nlu_lite.engine.batches import pooled_memory

    long = " ".join(["tokenization"] * 20)  # several windows: always run
    texts = ["I love NLP. Yes.", "Other text.", "", long] * 3 + ["A new one.", "Other text."]
    seen = _count_rows_run(monkeypatch, tiny.encoders[0].runner)
    first = tiny.predict(texts[:4], output_level=level)
    alone = sum(seen)
    seen.clear()
    expected = tiny.predict(texts, output_level=level)
    seen.clear()
    streamed = pd.concat(tiny.predict_iter(texts, chunk_rows=4, output_level=level))
    # the first chunk runs as predict() does; later chunks run only the long text's windows and
    # "A new one." (the long text is more than one window, so it is never remembered)
    long_windows = len(tiny.encoders[0].windows(tiny.encoders[0].tokenize([long], spans=False), 0.25))
    assert sum(seen) == alone + 2 * long_windows + 1
    pd.testing.assert_frame_equal(streamed.drop(columns=COL), expected.drop(columns=COL))
    np.testing.assert_allclose(_vectors(streamed), _vectors(expected), atol=1e-5, equal_nan=True)
    assert pooled_memory.get() is None  # set for each chunk's predict only
    seen.clear()
    tiny.predict(texts[:4], output_level=level)
    assert sum(seen) == alone  # nothing carried into a later plain call
    pd.testing.assert_frame_equal(first.drop(columns=COL), expected.iloc[: len(first)].drop(columns=COL))
    np.testing.assert_allclose(_vectors(first), _vectors(expected)[: len(first)], atol=1e-5, equal_nan=True)
    if importlib.util.find_spec("pyarrow"):
        seen.clear()
        assert tiny.predict_to_parquet(texts, tmp_path / "o.parquet", chunk_rows=4, output_level=level) == len(expected)
        assert sum(seen) == alone + 2 * long_windows + 1
        back = pd.read_parquet(tmp_path / "o.parquet")
        np.testing.assert_allclose(
            np.stack([np.full(len(expected[COL].dropna().iloc[0]), np.nan) if v is None else v for v in back[COL]]),
            _vectors(expected),
            atol=1e-5,
            equal_nan=True,
        )


def test_speed_pooled_memory_is_bounded():
    """The memory keeps at most max_bytes of vectors, dropping the least recently used first."""
    from nlu_lite.engine.batches import PooledMemory

    memory = PooledMemory(max_bytes=3 * 16)  # three 4-d float32 vectors
    for k in range(3):
        memory.put(k, np.full(4, k, np.float32))
    assert memory.get(0) is not None  # 0 is now the most recent
    memory.put(3, np.full(4, 3, np.float32))
    assert len(memory) == 3 and memory.get(1) is None and memory.bytes == 48
    assert memory.get(0).tolist() == [0, 0, 0, 0] and memory.get(3).tolist() == [3, 3, 3, 3]
    vector = np.ones(4, np.float32)
    memory.put(9, vector)
    vector[:] = 7  # kept as a copy
    assert memory.get(9).tolist() == [1, 1, 1, 1]
    memory.put(10, np.ones(100, np.float32))  # larger than the whole memory: not kept
    assert memory.get(10) is None and memory.hits == 4


def test_speed_predict_iter_chunks(tiny):
    series = pd.Series([f"text {i}" for i in range(25)], index=[f"r{i}" for i in range(25)])
    chunks = list(tiny.predict_iter(series, chunk_rows=10))
    assert [c.index.nunique() for c in chunks] == [10, 10, 5]
    whole = tiny.predict(series)
    joined = pd.concat(chunks)
    assert list(joined.index) == list(whole.index) and list(joined["token"]) == list(whole["token"])
    np.testing.assert_allclose(np.stack(joined[COL]), np.stack(whole[COL]), atol=1e-5)
    # any iterable of strings streams: labels are running positions
    gen = (f"line {i}\n" for i in range(7))
    labels = [sorted(set(c.index)) for c in tiny.predict_iter(gen, chunk_rows=3, output_level="document")]
    assert labels == [[0, 1, 2], [3, 4, 5], [6]]
    with pytest.raises(InvalidOptionError):
        next(tiny.predict_iter(["x"], chunk_rows=0))


def test_speed_predict_iter_file(tiny, tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("first line\nsecond line\n\nfourth\n")
    with open(path) as fh:
        frames = list(tiny.predict_iter(fh, chunk_rows=2, output_level="document"))
    doc = pd.concat(frames)
    assert list(doc["document"]) == ["first line", "second line", "", "fourth"]
    assert doc[COL].isna().tolist() == [False, False, True, False]


def test_speed_predict_to_parquet(tiny, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    texts = [f"sentence number {i}. And more." if i % 5 else None for i in range(23)]
    path = tmp_path / "out.parquet"
    rows = tiny.predict_to_parquet(texts, path, chunk_rows=5, positions=True)
    whole = tiny.predict(texts, positions=True)
    assert rows == len(whole)
    assert pq.ParquetFile(path).num_row_groups == 5
    back = pd.read_parquet(path)
    assert list(back["origin_index"]) == list(whole.index)
    assert list(back["token"]) == list(whole["token"])
    for got, exp in zip(back[COL], whole[COL], strict=True):
        if exp is None:
            assert got is None
        else:
            np.testing.assert_allclose(np.asarray(got, dtype=np.float32), exp, atol=1e-6)


def test_speed_progress_bar(tiny, capsys):
    tiny.predict(["a b c"] * 3, progress=True)
    assert "nlu_lite" in capsys.readouterr().err
    tiny.predict(["a b c"] * 3, progress=False)
    tiny.predict(["a b c"] * 3)  # small work: no bar by default
    assert "nlu_lite" not in capsys.readouterr().err
    assert tiny.estimate_seconds(10_000_000) > 2 > tiny.estimate_seconds(100)


@pytest.mark.parametrize("budget", [1, 16, 100, 100_000])
def test_speed_token_budget_does_not_change_results(tiny, budget):
    texts = ["a b c d e f g h", "short", "a longer text that needs several windows " * 3]
    ref = tiny.predict(texts)
    got = tiny.predict(texts, token_budget=budget)
    np.testing.assert_allclose(np.stack(got[COL]), np.stack(ref[COL]), atol=1e-5)
    with pytest.raises(InvalidOptionError):
        tiny.predict("x", token_budget=0)


def test_speed_thread_count_follows_omp_num_threads():
    """torch sizes its pool from OMP_NUM_THREADS; loading and predicting must not override it."""
    import os
    import subprocess
    import sys

    code = (
        "import torch, nlu_lite\n"
        "pipe = nlu_lite.load('en.embed.all_minilm_l6_v2')\n"
        "pipe.predict(['I love NLP', 'Threads stay as the user set them.'], output_level='token')\n"
        "print(torch.get_num_threads())\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split()[-1] == "1"


def test_speed_predict_leaves_the_process_thread_setting_alone(tiny):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        tiny.predict(["one thread, as set by the caller"] * 20, output_level="sentence")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
