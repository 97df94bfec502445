"""Nothing a user has is lost at the edges: files written atomically, user columns never
overwritten, every pandas shape read, the registry never runs code.  Fault injection: failures
at many points while writing, a full disk, and random DataFrames."""

from __future__ import annotations

import errno
import os
import sys
import warnings
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nlu_lite
from nlu_lite.errors import InvalidInputError, ModelUnavailableError, RegistryError

COL = "en_embed_tests_tiny_embeddings"
LEVELS = ("token", "sub_token", "sentence", "document")


def _leftovers(folder: Path) -> list[str]:
    """Temporaries, and the chunks an interrupted predict_to_parquet keeps to continue from."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".part", ".chunks")))


def _chunks_kept(target: Path) -> list[int]:
    folder = target.with_name(f".{target.name}.chunks")
    return sorted(int(p.name.split("-")[0]) for p in folder.glob("*.arrow")) if folder.is_dir() else []


def _lines(n: int, fail_at: int | None = None, error: type[BaseException] = RuntimeError):
    for i in range(n):
        if i == fail_at:
            raise error(f"failed at row {i}")
        yield f"line {i} of the corpus. A second sentence."


# --- atomic outputs ----------------------------------------------------------------------


@pytest.mark.parametrize("fail_at", [0, 1, 4, 5, 9, 17, 29])
@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_integrity_interrupted_parquet_stream_leaves_the_old_file(tiny, tmp_path, fail_at, error):
    pytest.importorskip("pyarrow")
    target = tmp_path / "out.parquet"
    assert tiny.predict_to_parquet(_lines(30), target, chunk_rows=5, progress=False) > 0
    before = target.read_bytes()
    with pytest.raises(error):
        tiny.predict_to_parquet(_lines(30, fail_at, error), target, chunk_rows=5, progress=False)
    assert target.read_bytes() == before
    # the chunks finished before the failure are kept to continue from; nothing else is left
    assert _chunks_kept(target) == list(range(fail_at // 5))
    assert _leftovers(tmp_path) == ([] if fail_at < 5 else [".out.parquet.chunks"])
    tiny.predict_to_parquet(_lines(30), target, chunk_rows=5, progress=False)
    assert target.read_bytes() == before and _leftovers(tmp_path) == []


def _full_disk_at(cls, n: int):
    """``cls.write_table`` failing as a full disk does on its ``n``-th call."""
    calls = {"n": 0}
    original = cls.write_table

    def full_disk(self, table, *a, **k):
        calls["n"] += 1
        if calls["n"] == n:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, table, *a, **k)

    return full_disk


def test_integrity_full_disk_leaves_no_fragment(tiny, tmp_path, monkeypatch):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow.ipc

    target = tmp_path / "out.parquet"
    folder = target.with_name(".out.parquet.chunks")
    # the disk fills while the third chunk is written: the two written whole are kept, no fragment
    with monkeypatch.context() as m:
        m.setattr(pyarrow.ipc.RecordBatchFileWriter, "write_table", _full_disk_at(pa.ipc.RecordBatchFileWriter, 3))
        with pytest.raises(OSError, match="No space"):
            tiny.predict_to_parquet(_lines(30), target, chunk_rows=5, progress=False)
    assert not target.exists() and _chunks_kept(target) == [0, 1]
    assert _leftovers(tmp_path) == [".out.parquet.chunks"]
    assert not [p for p in folder.iterdir() if p.name.endswith(".part")]
    # then while the chunks are joined into the file: every chunk is kept, the file is not there
    with monkeypatch.context() as m:
        m.setattr(pq.ParquetWriter, "write_table", _full_disk_at(pq.ParquetWriter, 3))
        with pytest.raises(OSError, match="No space"):
            tiny.predict_to_parquet(_lines(30), target, chunk_rows=5, progress=False)
    assert not target.exists() and _chunks_kept(target) == [0, 1, 2, 3, 4, 5]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.parquet.chunks"]
    # space freed: the same call computes nothing again, and the file is a clean run's
    predicted: list[int] = []
    monkeypatch.setattr(type(tiny), "_compute", _counting(type(tiny)._compute, predicted))
    assert tiny.predict_to_parquet(_lines(30), target, chunk_rows=5, progress=False) > 0
    assert predicted == [] and _leftovers(tmp_path) == []
    clean = tmp_path / "clean.parquet"
    tiny.predict_to_parquet(_lines(30), clean, chunk_rows=5, progress=False)
    assert target.read_bytes() == clean.read_bytes()


def _counting(predict, calls: list):
    """A pipeline's per-chunk computation (Pipeline._compute), counting the input rows of each call."""

    def counted(self, data, *args, **kwargs):
        calls.append(len(data))
        return predict(self, data, *args, **kwargs)

    return counted


def test_integrity_parquet_chunks_follow_the_input_model_and_options(tiny, tmp_path, monkeypatch):
    """Chunks kept from an interrupted run are reused only for the same input rows, model and
    options: a changed chunk of input is computed again, other options start over."""
    pytest.importorskip("pyarrow")
    target = tmp_path / "out.parquet"
    texts = [f"line {i} of the corpus." for i in range(30)]
    with pytest.raises(KeyboardInterrupt):
        tiny.predict_to_parquet(_lines(30, 27, KeyboardInterrupt), target, chunk_rows=5, progress=False)
    assert _chunks_kept(target) == [0, 1, 2, 3, 4]
    predicted: list[int] = []
    monkeypatch.setattr(type(tiny), "_compute", _counting(type(tiny)._compute, predicted))
    changed = [f"line {i} of the corpus. A second sentence." for i in range(30)]
    changed[7] = "an edited line"  # chunk 1
    rows = tiny.predict_to_parquet(changed, target, chunk_rows=5, progress=False)
    assert predicted == [5, 5]  # chunk 1 again and chunk 5; chunks 0, 2, 3, 4 reused
    monkeypatch.undo()
    clean = tiny.predict(changed, progress=False)
    back = pd.read_parquet(target)
    assert rows == len(back) == len(clean)
    assert back["token"].tolist() == clean["token"].tolist()
    np.testing.assert_array_equal(np.stack(back[COL]), np.stack(clean[COL]))
    # other options (or another model, or another nlu_lite): nothing is reused
    with pytest.raises(KeyboardInterrupt):
        tiny.predict_to_parquet(_lines(30, 12, KeyboardInterrupt), target, chunk_rows=5, progress=False)
    predicted.clear()
    monkeypatch.setattr(type(tiny), "_compute", _counting(type(tiny)._compute, predicted))
    tiny.predict_to_parquet(texts, target, chunk_rows=5, output_level="document", progress=False)
    assert predicted == [5] * 6 and _leftovers(tmp_path) == []
    assert pd.read_parquet(target)["document"].tolist() == texts


def _first_sentence(text):
    return [text.split(". ")[0]]


def test_integrity_parquet_chunks_follow_the_splitter_and_the_convention(tiny, tmp_path, monkeypatch):
    """A sentence splitter is part of the job by its code, not its address: another splitter
    starts over (even at the address of the old one), the same code in a new process resumes;
    NLU_LITE_CONVENTION is part of the job as the convention in force."""
    pytest.importorskip("pyarrow")
    from nlu_lite.frames.resumable import callable_identity

    def whole(text):
        return [text]

    def again(text):  # the same code under another name and address: the same job only if the name is too
        return [text]

    assert callable_identity(_first_sentence) == callable_identity(_first_sentence)
    assert callable_identity(whole) != callable_identity(_first_sentence) != callable_identity(again)
    assert callable_identity(lambda t: [t]) == callable_identity(lambda t: [t])  # one line, one code
    assert callable_identity(str.split) != callable_identity(str.split)  # not readable: never reused
    target = tmp_path / "out.parquet"
    options = {"chunk_rows": 5, "output_level": "sentence", "progress": False}
    with pytest.raises(KeyboardInterrupt):
        tiny.predict_to_parquet(_lines(30, 12, KeyboardInterrupt), target, sentence_splitter=whole, **options)
    rows = tiny.predict_to_parquet(_lines(30), target, sentence_splitter=_first_sentence, **options)
    assert rows == 30 == len(tiny.predict(list(_lines(30)), output_level="sentence", sentence_splitter=_first_sentence))
    with pytest.raises(KeyboardInterrupt):
        tiny.predict_to_parquet(_lines(30, 12, KeyboardInterrupt), target, sentence_splitter=_first_sentence, **options)
    predicted: list[int] = []
    monkeypatch.setattr(type(tiny), "_compute", _counting(type(tiny)._compute, predicted))
    tiny.predict_to_parquet(_lines(30), target, sentence_splitter=_first_sentence, **options)
    assert predicted == [5] * 4  # chunks 0 and 1 taken again
    monkeypatch.undo()
    monkeypatch.setenv("NLU_LITE_CONVENTION", "nlu5")
    with pytest.raises(KeyboardInterrupt):
        tiny.predict_to_parquet(_lines(30, 12, KeyboardInterrupt), target, chunk_rows=5, progress=False)
    monkeypatch.delenv("NLU_LITE_CONVENTION")
    tiny.predict_to_parquet(_lines(30), target, chunk_rows=5, progress=False)
    assert COL in pd.read_parquet(target).columns and _leftovers(tmp_path) == []


def test_integrity_parquet_of_no_rows_replaces_the_file(tiny, tmp_path):
    """No input rows: a file of no rows with predict's columns (as predict([], output_path=...)
    writes), not an older file left in place."""
    pytest.importorskip("pyarrow")
    target = tmp_path / "out.parquet"
    tiny.predict_to_parquet(["old corpus text"], target, progress=False)
    assert tiny.predict_to_parquet([], target, progress=False) == 0
    back = pd.read_parquet(target)
    assert back.empty and list(back.columns) == ["origin_index", *tiny.predict([]).columns]
    assert tiny.predict_to_parquet(iter([]), tmp_path / "new.parquet", progress=False) == 0
    assert pd.read_parquet(tmp_path / "new.parquet").empty and _leftovers(tmp_path) == []


def test_integrity_streaming_options_are_checked_at_the_call(tiny, tmp_path):
    for options in ({"pooling": "bogus"}, {"layers": 99}, {"overlap": 2}, {"prompt": "nope"}, {"batch_size": 0}):
        with pytest.raises(nlu_lite.InvalidOptionError, match=next(iter(options))):
            tiny.predict_iter(["a b"], **options)  # before any chunk is asked for
        with pytest.raises(nlu_lite.InvalidOptionError, match=next(iter(options))):
            tiny.predict_to_parquet(["a b"], tmp_path / "x.parquet", **options)
    assert list(tmp_path.iterdir()) == []


def test_integrity_parquet_chunk_fingerprint_sees_values_labels_names_and_types():
    from nlu_lite.frames.resumable import fingerprint

    a = pd.DataFrame({"text": ["x", "y"], "n": [1, 2]})
    assert fingerprint(a) == fingerprint(a.copy())
    for other in (
        a.assign(n=[1, 3]),
        a.set_axis([5, 6]),
        a.rename(columns={"n": "m"}),
        a.astype({"n": "int32"}),
        a.rename_axis("id"),
        a["text"],
    ):
        assert fingerprint(other) != fingerprint(a)
    lists = pd.DataFrame({"text": ["x"], "l": [[1, 2]]})  # cells pandas cannot hash
    assert fingerprint(lists) == fingerprint(lists.copy())
    assert fingerprint(lists) != fingerprint(pd.DataFrame({"text": ["x"], "l": [[1, 3]]}))
    unpicklable = pd.DataFrame({"text": ["x"], "l": [[lambda: 1]]})  # never matches: run again
    assert fingerprint(unpicklable) != fingerprint(unpicklable)
    assert fingerprint("abc") != fingerprint("abd") and fingerprint("abc") == fingerprint("abc")


def test_integrity_parquet_chunk_folder_that_is_not_ours_is_left_alone(tiny, tmp_path):
    pytest.importorskip("pyarrow")
    target = tmp_path / "out.parquet"
    folder = tmp_path / ".out.parquet.chunks"
    folder.mkdir()
    (folder / "mine.txt").write_text("a user's file")
    with pytest.raises(nlu_lite.errors.InvalidOptionError, match="not nlu_lite's"):
        tiny.predict_to_parquet(["a b"], target, progress=False)
    assert [p.name for p in folder.iterdir()] == ["mine.txt"] and not target.exists()


def test_integrity_parquet_empty_chunk_folder_is_taken_and_resumable(tiny, tmp_path):
    """An empty chunk folder (left by hand, or by a crash before anything was written) is used,
    with its job recorded, so that an interruption there still continues."""
    pytest.importorskip("pyarrow")
    target = tmp_path / "out.parquet"
    target.with_name(".out.parquet.chunks").mkdir()
    with pytest.raises(KeyboardInterrupt):
        tiny.predict_to_parquet(_lines(30, 12, KeyboardInterrupt), target, chunk_rows=5, progress=False)
    assert _chunks_kept(target) == [0, 1]
    predicted: list[int] = []
    with pytest.MonkeyPatch.context() as m:
        m.setattr(type(tiny), "_compute", _counting(type(tiny)._compute, predicted))
        tiny.predict_to_parquet(_lines(30), target, chunk_rows=5, progress=False)
    assert predicted == [5] * 4 and _leftovers(tmp_path) == []


def test_integrity_chunked_calls_refuse_options_that_would_act_on_one_chunk(tiny, tmp_path):
    """output_path would be overwritten by every chunk (only the last one left), return_spark_df
    gives no pandas chunk to write, index_column names no index outside Spark: each is a typed
    error before anything is written."""
    data = [f"text {k}" for k in range(5)]
    target = tmp_path / "out.parquet"
    for options in ({"output_path": str(tmp_path / "x.csv")}, {"return_spark_df": True}, {"index_column": "id"}):
        with pytest.raises(nlu_lite.InvalidOptionError, match=next(iter(options))):
            tiny.predict_to_parquet(data, target, chunk_rows=2, **options)
        with pytest.raises(nlu_lite.InvalidOptionError, match=next(iter(options))):
            tiny.predict_iter(data, chunk_rows=2, **options)  # at the call, before any chunk is asked for
    with pytest.raises(nlu_lite.InvalidOptionError, match="chunk_rows"):
        tiny.predict_iter(data, chunk_rows=0)
    with pytest.raises(nlu_lite.InvalidOptionError, match="index_column"):
        tiny.predict(pd.DataFrame({"text": data, "id": range(5)}), index_column="id")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_integrity_output_path_is_checked_before_the_run(tiny, tmp_path, monkeypatch):
    """A wrong output_path (suffix, missing folder, a folder, parquet without pyarrow) is a typed
    error before any text is embedded, not after a long run whose result would be lost."""

    def never(*args, **kwargs):
        raise AssertionError("the texts ran before output_path was checked")

    monkeypatch.setattr(type(tiny), "_compute", never)
    bad = {"out.json": "ending in", "missing/out.csv": "does not exist", "folder.csv": "not a folder"}
    (tmp_path / "folder.csv").mkdir()
    for path, why in bad.items():
        with pytest.raises(nlu_lite.InvalidOptionError, match=f"Invalid output_path=.*{why}"):
            tiny.predict(["a b"], output_path=str(tmp_path / path))
    for name in [m for m in sys.modules if m == "pyarrow" or m.startswith("pyarrow.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(nlu_lite.InvalidOptionError, match="embedding_format"):  # the file would hold no vectors
        tiny.predict(["a b"], output_path=tmp_path / "out.csv", embedding_format="numpy")
    with pytest.raises(nlu_lite.InvalidOptionError, match="pip install pyarrow"):
        tiny.predict(["a b"], output_path=tmp_path / "out.parquet")
    assert [p.name for p in tmp_path.iterdir()] == ["folder.csv"]


def test_integrity_parquet_without_pyarrow_says_what_to_install(tiny, tmp_path, monkeypatch):
    from nlu_lite.errors import InvalidOptionError

    for name in [m for m in sys.modules if m == "pyarrow" or m.startswith("pyarrow.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow fails
    with pytest.raises(InvalidOptionError, match="pip install pyarrow"):
        tiny.predict_to_parquet(["a b"], tmp_path / "out.parquet", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_integrity_saved_pipelines_edge_cases(tiny, tmp_path, monkeypatch):
    """A hand-edited manifest is a typed error; a folder that cannot be written is named (not a
    temporary's name); an interrupted swap points at the earlier copy; path='' is refused."""
    import json

    from nlu_lite.errors import ModelLoadError, ModelUnavailableError

    folder = tiny.save(tmp_path / "saved")
    manifest = folder / "nlu_lite.json"
    good = json.loads(manifest.read_text())
    entry = good["components"][0]["entry"]
    for edit, why in [
        ({"components": 5}, "not a list"),
        ({"prompts": ["a"]}, "prompts"),
        ({"prompts": {"query": 5}}, "prompts"),
        ({"prompts": {"query": "q: "}, "default_prompt": 3}, "default_prompt"),
    ]:
        bad = (
            {**good, **edit}
            if "components" in edit
            else {**good, "components": [{**good["components"][0], "entry": {**entry, **edit}}]}
        )
        manifest.write_text(json.dumps(bad))
        with pytest.raises(ModelLoadError, match=why):
            nlu_lite.load(path=folder)
    manifest.write_text(json.dumps(good))

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkdtemp", refuse)
    with pytest.raises(nlu_lite.InvalidOptionError, match=r"can write in .*Permission denied"):
        tiny.save(tmp_path / "saved")
    monkeypatch.undo()
    aside = tmp_path / ".gone.x1.old"
    aside.mkdir()
    folder.rename(aside / "saved")  # what a kill between save's two renames leaves
    with pytest.raises(ModelUnavailableError, match=r"interrupted: its earlier copy is .*\.gone\.x1\.old/saved"):
        nlu_lite.load(path=tmp_path / "gone")
    with pytest.raises(nlu_lite.InvalidOptionError, match="model folder"):
        nlu_lite.load(path="")


def test_integrity_parquet_job_names_the_models_files(tiny, tmp_path):
    """A model saved again into the same folder (other files, or the same names rewritten) is
    another job: its chunks are not reused."""
    pytest.importorskip("pyarrow")
    pipe = nlu_lite.load(path=tiny.save(tmp_path / "model"))
    before = pipe._identity()
    weights = next(p for p in sorted((tmp_path / "model").rglob("*.safetensors")))
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert pipe._identity() != before


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "parquet"])
@pytest.mark.parametrize("fail_at_byte", [0, 1, 100, 1000])
def test_integrity_writer_failing_at_byte_k_keeps_the_target(tiny, tmp_path, monkeypatch, suffix, fail_at_byte):
    """A writer that dies after k bytes (a full disk mid-file): the earlier result survives whole."""
    pytest.importorskip("pyarrow")
    from nlu_lite.frames.output import write_frame

    df = tiny.predict(["I love NLP", "Second text here."])
    target = tmp_path / f"out.{suffix}"
    write_frame(df, target)
    before = target.read_bytes()
    real_open = open

    class Failing:
        def __init__(self, fh):
            self.fh, self.written = fh, 0

        def write(self, data):
            if self.written + len(data) > fail_at_byte:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.written += len(data)
            return self.fh.write(data)

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    def failing_open(file, mode="r", *a, **k):
        fh = real_open(file, mode, *a, **k)
        return Failing(fh) if ("w" in mode and str(file).endswith(".part")) else fh

    monkeypatch.setattr("builtins.open", failing_open)
    if suffix == "parquet":
        import pyarrow.parquet as pq

        real_writer = pq.ParquetWriter.write_table

        def failing_write(self, table, *a, **k):
            if fail_at_byte < 10_000:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_writer(self, table, *a, **k)

        monkeypatch.setattr(pq.ParquetWriter, "write_table", failing_write)
    with pytest.raises(OSError):
        write_frame(tiny.predict(["other", "texts", "entirely"]), target)
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_integrity_parquet_schema_from_first_chunk(tiny, tmp_path):
    """A column that is all null in the first chunk, or mixes ints and strings, streams whole."""
    pq = pytest.importorskip("pyarrow.parquet")
    n = 12
    frame = pd.DataFrame(
        {
            "text": [f"text {i}" for i in range(n)],
            "late": [None] * 5 + [f"v{i}" for i in range(5, n)],
            "mixed": [i if i % 2 else f"s{i}" for i in range(n)],
        }
    )
    target = tmp_path / "out.parquet"
    rows = tiny.predict_to_parquet(frame, target, chunk_rows=5, output_level="document", progress=False)
    table = pq.read_table(target)
    assert rows == table.num_rows == n
    assert table.column("late").to_pylist() == [None] * 5 + [f"v{i}" for i in range(5, n)]
    assert table.column("mixed").to_pylist() == [str(i) if i % 2 else f"s{i}" for i in range(n)]
    # a later chunk that cannot be cast is refused by name, and nothing reaches the target
    bad = pd.DataFrame({"text": [f"t{i}" for i in range(10)], "num": [1.5] * 5 + [[1, 2]] * 5})
    with pytest.raises(InvalidInputError, match="'num'"):
        tiny.predict_to_parquet(bad, tmp_path / "bad.parquet", chunk_rows=5, output_level="document", progress=False)
    assert not (tmp_path / "bad.parquet").exists() and _chunks_kept(tmp_path / "bad.parquet") == [0]
    bad["num"] = bad["num"].astype(str)  # as the message says; the changed first chunk is computed again
    assert tiny.predict_to_parquet(bad, tmp_path / "bad.parquet", chunk_rows=5, output_level="document") == 10
    assert pq.read_table(tmp_path / "bad.parquet").column("num").to_pylist() == ["1.5"] * 5 + ["[1, 2]"] * 5
    assert _leftovers(tmp_path) == []
    # a mixed column reads the same whatever the chunk size: each value through str()
    mixed = pd.DataFrame({"text": list("abcd"), "m": pd.Series(["s", 1, "s", 2.0], dtype=object)})
    for n in (1, 2, 4):
        tiny.predict_to_parquet(
            mixed, tmp_path / f"m{n}.parquet", chunk_rows=n, output_level="document", progress=False
        )
        assert pq.read_table(tmp_path / f"m{n}.parquet").column("m").to_pylist() == ["s", "1", "s", "2.0"]
    # a first chunk whose rows have no vector (a blank first line): the vectors keep their list type
    for level in ("token", "document"):
        target = tmp_path / f"blank_{level}.parquet"
        assert tiny.predict_to_parquet([None, "", "a b"], target, chunk_rows=1, output_level=level, progress=False)
        vectors = pq.read_table(target).column("en_embed_tests_tiny_embeddings")
        assert str(vectors.type) == "list<element: float>" and vectors.to_pylist()[:2] == [None, None]
        tiny.predict([None], output_path=tmp_path / "none.parquet", output_level=level)


# --- user columns and index ----------------------------------------------------------------


def _output_columns(tiny, level: str, **options) -> list[str]:
    df = tiny.predict("I love NLP. Yes.", output_level=level, **options)
    return list(df.columns)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("extras", [{}, {"positions": True}, {"metadata": True}, {"positions": True, "metadata": True}])
def test_integrity_carried_columns_are_never_overwritten(tiny, level, extras):
    from nlu_lite.frames.output import free_names

    outputs = _output_columns(tiny, level, **extras)
    user = {name: [f"mine-{name}-0", f"mine-{name}-1"] for name in outputs}
    user.update({f"{name}_input": [f"also-{name}-0", f"also-{name}-1"] for name in outputs})
    frame = pd.DataFrame({"text": ["I love NLP. Yes.", "Another one."], **user}, index=["a", "b"])
    with pytest.warns(UserWarning, match="kept under new names"):
        df = tiny.predict(frame, output_level=level, **extras)
    renamed = dict(zip(user, free_names(list(user), set(outputs)), strict=True))
    assert renamed[outputs[0]] == f"{outputs[0]}_input2"  # '<name>_input' is the user's too
    for name, values in user.items():
        got = df[renamed[name]].groupby(level=0).first()
        assert list(got.loc[["a", "b"]]) == values, name
    # the output columns hold nlu_lite's values, not the user's
    assert list(df.columns[: len(outputs)]) == outputs
    assert not df[level].astype(str).str.startswith("mine-").any()


def test_integrity_index_named_like_an_output_column(tiny, tmp_path):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"text": ["a b", "c"]}, index=pd.Index([10, 20], name="token"))
    with pytest.warns(UserWarning, match="token_input"):
        df = tiny.predict(frame)
    assert df.index.name == "token_input" and list(df.index) == [10, 10, 20]
    from nlu_lite.frames.output import write_frame

    for suffix in ("parquet", "csv", "jsonl"):
        write_frame(df, tmp_path / f"o.{suffix}")
    both = pd.DataFrame({"id": [7, 8], "text": ["a b", "c"]}).set_index("id", drop=False)
    df = tiny.predict(both)
    assert list(df["id"]) == [7, 7, 8] and list(df.index) == [7, 7, 8]
    for suffix in ("parquet", "csv", "jsonl"):
        write_frame(df, tmp_path / f"p.{suffix}")
    back = pd.read_parquet(tmp_path / "p.parquet")
    assert list(back["id"]) == [7, 7, 8] and "id_input" in back.columns
    # an unnamed index is nlu_lite's to name: a column called origin_index moves it aside, silently
    # (a warning about "your index names" would speak of a name the user never gave)
    mine = pd.DataFrame({"text": ["a b", "c"], "origin_index": ["u", "v"]}, index=[5, 6])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = tiny.predict(mine)
    assert df.index.name == "origin_index_input" and list(df["origin_index"]) == ["u", "u", "v"]
    write_frame(df, tmp_path / "q.parquet")
    assert list(pd.read_parquet(tmp_path / "q.parquet")["origin_index_input"]) == [5, 5, 6]


def test_integrity_multiindex_rows_are_kept(tiny):
    index = pd.MultiIndex.from_tuples([("x", 1), ("y", 2)], names=["doc", "part"])
    series = pd.Series(["a b", "c"], index=index)
    df = tiny.predict(series)
    assert list(df.index) == [("x", 1), ("x", 1), ("y", 2)] and list(df.index.names) == ["doc", "part"]
    frame = pd.DataFrame({"text": ["a b", None], "n": [1, 2]}, index=index)
    out = tiny.predict(frame, output_level="document")
    assert list(out.index) == [("x", 1), ("y", 2)] and list(out["n"]) == [1, 2]


@pytest.mark.parametrize("suffix", ["parquet", "csv", "jsonl"])
def test_integrity_multiindex_rows_without_names_are_written(tiny, tmp_path, suffix):
    """Unnamed levels of a MultiIndex become origin_index_<k> in a file, clear of the user's
    columns (pandas would call them level_0, level_1 and refuse a column of that name)."""
    pytest.importorskip("pyarrow")
    index = pd.MultiIndex.from_tuples([("x", 1), ("y", 2)])
    frame = pd.DataFrame({"text": ["a b", "c"], "level_0": [1, 2], "origin_index_1": [3, 4]}, index=index)
    out = tmp_path / f"o.{suffix}"
    df = tiny.predict(frame, output_level="document", output_path=out)
    assert list(df.index.names) == [None, None]  # the result in memory keeps the user's index as it was
    back = {"parquet": pd.read_parquet, "csv": pd.read_csv, "jsonl": lambda p: pd.read_json(p, lines=True)}[suffix](out)
    assert list(back["origin_index_0"]) == ["x", "y"] and list(back["origin_index_1_input"]) == [1, 2]
    assert list(back["level_0"]) == [1, 2] and list(back["origin_index_1"]) == [3, 4]


def test_integrity_multiindex_columns(tiny):
    """A 'text' at the top of MultiIndex columns is not one column: the first column of strings is
    taken, and text_column must give a whole label."""
    columns = pd.MultiIndex.from_tuples([("text", "a"), ("meta", "b")])
    frame = pd.DataFrame([["hello world", "x"], ["foo", "y"]], columns=columns)
    df = tiny.predict(frame, output_level="document")
    assert list(df["document"]) == ["hello world", "foo"] and list(df[("meta", "b")]) == ["x", "y"]
    assert list(tiny.predict(frame, text_column=("meta", "b"), output_level="document")["document"]) == ["x", "y"]
    with pytest.raises(nlu_lite.InvalidOptionError, match=r"text_column.*whole label"):
        tiny.predict(frame, text_column="text")


def test_integrity_lone_surrogates_reach_every_file(tiny, tmp_path):
    """Python's str holds lone surrogates (bytes decoded with surrogateescape, a split emoji);
    UTF-8 files cannot.  The DataFrame keeps them, object columns stay object; each file has
    U+FFFD in their place, with a warning that counts them; predict_to_parquet fingerprints them."""
    pytest.importorskip("pyarrow")
    index = pd.Index(["i\ud800", "j"], dtype=object)
    frame = pd.DataFrame(
        {"text": pd.Series(["ok a\ud800b", "fine"], index=index, dtype=object),
         "note": pd.Series(["x\udcff", "y"], index=index, dtype=object)}
    )  # fmt: skip
    readers = {"parquet": pd.read_parquet, "csv": pd.read_csv, "jsonl": lambda p: pd.read_json(p, lines=True)}
    for suffix, read in readers.items():
        with pytest.warns(UserWarning, match="5 text value.*lone surrogates"):
            df = tiny.predict(frame, output_path=tmp_path / f"o.{suffix}")
        assert df["token"].tolist() == ["ok", "a\ud800b", "fine"] and df["note"].dtype == object
        assert df["note"].tolist() == ["x\udcff", "x\udcff", "y"] and list(df.index) == ["i\ud800", "i\ud800", "j"]
        back = read(tmp_path / f"o.{suffix}")
        assert back["token"].tolist() == ["ok", "a\ufffdb", "fine"] and back["note"].tolist()[0] == "x\ufffd"
        assert back["origin_index"].tolist() == ["i\ufffd", "i\ufffd", "j"]
    with pytest.warns(UserWarning, match="lone surrogates"):
        assert tiny.predict_to_parquet(frame, tmp_path / "p.parquet", chunk_rows=1, progress=False) == 3
    assert pd.read_parquet(tmp_path / "p.parquet")["token"].tolist() == ["ok", "a\ufffdb", "fine"]
    plain = tiny.predict(pd.DataFrame({"text": ["a b"], "note": pd.Series(["x"], dtype=object)}))
    assert plain["note"].dtype == object  # a user's object column is not turned into str


def test_integrity_column_labels_of_any_kind(tiny):
    df = tiny.predict(pd.DataFrame([["a b", 1]]))  # integer labels: the first string column
    assert list(df["token"]) == ["a", "b"] and list(df[1]) == [1, 1]
    with pytest.raises(InvalidInputError, match="more than one column named 'text'"):
        tiny.predict(pd.DataFrame([["a", "b"]], columns=["text", "text"]))


@pytest.mark.parametrize("dtype", ["category", "string", "string[pyarrow]", object])
def test_integrity_text_dtypes(tiny, dtype):
    if dtype == "string[pyarrow]":
        pytest.importorskip("pyarrow")
    series = pd.Series(["a b", None, "c"], dtype=dtype)
    df = tiny.predict(series)
    assert list(df.index) == [0, 0, 1, 2] and list(df["token"]) == ["a", "b", "", "c"]


@pytest.mark.parametrize("level", LEVELS)
def test_integrity_two_models_when_one_makes_no_pieces(family_pair, level):
    """A byte-level BPE model and a BERT model on text that BERT's normaliser removes whole."""
    bpe = family_pair.encoders[0]
    assert len(bpe.tokenize(["\u200b"]).ids) > 0 and len(family_pair.encoders[1].tokenize(["\u200b"]).ids) == 0
    df = family_pair.predict(["\u200b", "\u200b\u200b"], output_level=level)
    assert sorted(set(df.index)) == [0, 1]
    assert df[COL].isna().all()  # the BERT model has no vector for text it reads as nothing


# --- the command line reads lines as predict_iter does -------------------------------------

BREAKS = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\r"]


def test_integrity_cli_lines_are_rows(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    from nlu_lite.cli import main, split_lines

    lines = [f"line{i} with{b}inside" for i, b in enumerate(BREAKS)] + ["last\r"]
    data = ("\n".join(lines[:-1]) + "\r\n" + lines[-1] + "\n").encode()
    assert split_lines(data, "x") == [*lines[:-2], lines[-2], "last\r"[:-1]]
    (tmp_path / "in.txt").write_bytes(data)
    out = tmp_path / "o.parquet"
    assert main(["predict", "--file", str(tmp_path / "in.txt"), "--level", "document", "--out", str(out)]) == 0
    back = pd.read_parquet(out)
    assert list(back["origin_index"]) == list(range(len(lines)))
    for i, b in enumerate(BREAKS):
        assert back["document"][i] == f"line{i} with{b}inside"
    with (tmp_path / "in.txt").open(newline="\n") as fh:  # predict_iter over the same file agrees
        frames = list(nlu_lite.load().predict_iter(fh, output_level="document", progress=False))
    together = pd.concat(frames)
    assert list(together.index) == list(range(len(lines)))
    assert list(together["document"]) == list(back["document"])


def test_integrity_binary_file_lines_lose_their_ends(tiny, tmp_path):
    """A file opened in binary mode, read with errors='coerce': each line decoded, without its line
    end, as from a text file."""
    (tmp_path / "in.txt").write_bytes(b"first line\r\nsecond\n")
    with (tmp_path / "in.txt").open("rb") as fh:
        frames = list(tiny.predict_iter(fh, output_level="document", errors="coerce", progress=False))
    assert pd.concat(frames)["document"].tolist() == ["first line", "second"]


def test_integrity_cli_drops_a_byte_order_mark(tmp_path, capsys):
    """A file saved with a BOM (Notepad, Excel's CSV UTF-8): line 1 is its text, offsets as an
    editor shows them; a BOM later in the file is text and stays."""
    from nlu_lite.cli import main, split_lines

    data = "\ufeffHello world\r\nSecond \ufeffline\r\n".encode()
    assert split_lines(data, "x") == ["Hello world", "Second \ufeffline"]
    (tmp_path / "in.txt").write_bytes(data)
    out = tmp_path / "o.csv"
    assert main(["predict", "--file", str(tmp_path / "in.txt"), "--positions", "--out", str(out)]) == 0
    back = pd.read_csv(out)
    assert back["token"].tolist()[:2] == ["Hello", "world"] and back["begin"].tolist()[:2] == [0, 6]


def test_integrity_cli_parquet_streams_and_continues(tiny_registry, tmp_path, capsys, monkeypatch):
    """--out .parquet reads the lines a chunk at a time: a bad line 8 stops the run after the
    chunks before it are written; the same command on the mended file continues from them."""
    pytest.importorskip("pyarrow")
    from nlu_lite.cli import main

    monkeypatch.setenv("NLU_LITE_REGISTRY", str(tiny_registry))
    lines = [f"line {i} of the file" for i in range(10)]
    source = tmp_path / "in.txt"
    source.write_bytes(("\n".join(lines[:7]) + "\n\xff broken\n" + "\n".join(lines[8:]) + "\n").encode("latin1"))
    out = tmp_path / "o.parquet"
    command = ["predict", "--file", str(source), "--model", "en.embed.tests.tiny", "--level", "document"]
    assert main([*command, "--out", str(out), "--chunk-rows", "3"]) == 2
    assert "line 8" in capsys.readouterr().err
    assert not out.exists() and _chunks_kept(out) == [0, 1]
    source.write_text("\n".join(lines) + "\n")
    predicted: list[int] = []
    monkeypatch.setattr(nlu_lite.Pipeline, "_compute", _counting(nlu_lite.Pipeline._compute, predicted))
    assert main([*command, "--out", str(out), "--chunk-rows", "3"]) == 0
    assert predicted == [3, 1]  # lines 7-9 and 10; the first six were kept
    assert pd.read_parquet(out)["document"].tolist() == lines and _leftovers(tmp_path) == []


def test_integrity_cli_invalid_utf8_is_one_line(tmp_path, capsys):
    from nlu_lite.cli import main

    (tmp_path / "bad.txt").write_bytes(b"fine\n\xff\xfe broken\n")
    assert main(["predict", "--file", str(tmp_path / "bad.txt")]) == 2
    err = capsys.readouterr().err
    assert "bad.txt is not UTF-8" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


# --- the registry is data ------------------------------------------------------------------

EVIL_ENTRY = """\
family: evil
defaults: {{language: en, licence: mit, description: d, dimension: 32, layers: 3, task: embed}}
models:
  - {{spelling: en.embed.evil.{name}, source: {{package: {name}/model}}}}
"""


@pytest.mark.parametrize("kind", ["module", "package"])
def test_integrity_listing_never_imports_a_named_package(tmp_path, monkeypatch, kind):
    marker = tmp_path / "imported"
    code = f"open({str(marker)!r}, 'w').write('ran')\n"
    name = f"nlu_lite_evil_{kind}"
    if kind == "module":
        (tmp_path / f"{name}.py").write_text(code)
    else:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(code)
        (tmp_path / name / "model").mkdir()
    reg = tmp_path / "reg"
    reg.mkdir()
    (reg / "evil.yaml").write_text(EVIL_ENTRY.format(name=name))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("NLU_LITE_REGISTRY", str(reg))
    listing = nlu_lite.models(f"*{name}*")
    assert len(listing) == 1 and not listing["cached"].item()
    nlu_lite.info(f"en.embed.evil.{name}")
    with pytest.raises(ModelUnavailableError):
        nlu_lite.load(f"en.embed.evil.{name}")
    assert not marker.exists()
    assert name not in sys.modules


def test_integrity_yaml_alias_bomb_is_refused_quickly(tmp_path):
    from nlu_lite.hub.registry import parse_file

    bomb = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        bomb.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 9) + "]")
    bomb.append("models: [*j]")
    (tmp_path / "bomb.yaml").write_text("\n".join(bomb))
    assert (tmp_path / "bomb.yaml").stat().st_size < 1000
    with pytest.raises(RegistryError, match="aliases") as info:
        parse_file(tmp_path / "bomb.yaml")
    assert len(str(info.value)) < 1000


def test_integrity_registry_errors_cut_values_and_name_bad_bytes(tmp_path):
    from nlu_lite.hub.registry import parse_file

    long_value = "x" * 10_000
    (tmp_path / "long.yaml").write_text(
        "family: f\nmodels:\n  - {spelling: en.embed.f.g, task: embed, language: en, licence: m, "
        f"description: d, dimension: {long_value}, layers: 1, source: {{hf: a/b, revision: {'0' * 40}}}}}\n"
    )
    with pytest.raises(RegistryError) as info:
        parse_file(tmp_path / "long.yaml")
    assert len(str(info.value)) < 400
    (tmp_path / "bytes.yaml").write_bytes(b"family: f\nmodels: []\n# \xff\xfe\n")
    with pytest.raises(RegistryError, match=r"bytes\.yaml.*UTF-8"):
        parse_file(tmp_path / "bytes.yaml")


@pytest.mark.parametrize("revision", ["../../..", "main/../../x", "x:y", "..", "x" * 300, "refs/../../etc"])
def test_integrity_hf_revisions_cannot_leave_the_cache(revision):
    with pytest.raises(ModelUnavailableError, match="commit hash"):
        nlu_lite.load(f"hf:org/name@{revision}")


def test_integrity_a_path_without_a_model_is_not_cached(tmp_path, monkeypatch):
    reg = tmp_path / "reg"
    reg.mkdir()
    (reg / "p.yaml").write_text(
        "family: p\ndefaults: {language: en, licence: m, description: d, dimension: 8, layers: 1, task: embed}\n"
        "models:\n  - {spelling: en.embed.p.etc, source: {path: /etc}}\n"
    )
    monkeypatch.setenv("NLU_LITE_REGISTRY", str(reg))
    assert not nlu_lite.models("en.embed.p.etc")["cached"].item()


# --- random DataFrames ----------------------------------------------------------------------

OUTPUT_NAMES = ["token", "sentence_id", "begin", "end", "pieces", "input_pieces", COL, "token_input", "origin_index"]
names = st.one_of(st.sampled_from(OUTPUT_NAMES), st.text(min_size=1, max_size=6), st.integers(0, 3))
cell_text = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["I love NLP", "a b. c d", " "]))
cell_other = st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=4), st.floats(allow_nan=True))


@st.composite
def frames(draw):
    n = draw(st.integers(1, 5))
    extra = draw(st.lists(names, max_size=4, unique_by=lambda x: (type(x).__name__, x)))
    extra = [c for c in extra if c not in ("text", "row_id")]
    data = {"text": draw(st.lists(cell_text, min_size=n, max_size=n)), "row_id": list(range(n))}
    for c in extra:
        data[c] = draw(st.lists(cell_other, min_size=n, max_size=n))
    frame = pd.DataFrame(data)
    kind = draw(st.sampled_from(["range", "str", "dup", "multi", "named"]))
    if kind == "str":
        frame.index = [f"r{i}" for i in range(n)]
    elif kind == "dup":
        frame.index = [0] * n
    elif kind == "multi":
        frame.index = pd.MultiIndex.from_arrays([list(range(n)), ["k"] * n], names=["i", draw(names)])
    elif kind == "named":
        frame.index = pd.Index(range(n), name=draw(names))
    if draw(st.booleans()):
        frame["text"] = frame["text"].astype(draw(st.sampled_from(["string", "category", object])))
    return frame


def _same(a, b) -> bool:
    if not isinstance(b, str) and pd.isna(b):
        return not isinstance(a, str) and pd.isna(a)
    return a == b


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(frame=frames(), level=st.sampled_from(LEVELS), positions=st.booleans(), metadata=st.booleans())
def test_integrity_random_frames_keep_every_row_and_value(tiny, frame, level, positions, metadata):
    from nlu_lite.frames.output import free_names

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        df = tiny.predict(frame, output_level=level, positions=positions, metadata=metadata)
    carried = [c for c in frame.columns if c != "text"]
    outputs = set(_output_columns(tiny, level, positions=positions, metadata=metadata))
    renamed = dict(zip(carried, free_names(carried, outputs), strict=True))
    rows = df[renamed["row_id"]].tolist()
    # every input row comes back, in input order, with its own index labels
    assert sorted(set(rows)) == list(range(len(frame))) and rows == sorted(rows)
    assert list(df.index) == [frame.index[r] for r in rows]
    # carried values unchanged, under their own name or the documented new one
    for original, name in renamed.items():
        got = df[name].tolist()
        want = [frame[original].iloc[r] for r in rows]
        assert all(_same(a, b) for a, b in zip(got, want, strict=True)), (original, name)
    # nlu_lite's own columns are nlu_lite's
    assert set(outputs) <= set(df.columns)


@pytest.fixture(scope="module")
def family_pair(tmp_path_factory, tiny):
    """A byte-level BPE (RoBERTa-style) model first, the tiny BERT second."""
    from model_families import _write_family

    folder = tmp_path_factory.mktemp("roberta")
    _write_family(folder, "roberta")
    from nlu_lite.factory import path_entry
    from nlu_lite.hub.loading import load_components
    from nlu_lite.pipeline import Pipeline

    return Pipeline([load_components(path_entry(folder)), tiny.encoders[0].components])


def test_integrity_umask_respected(tiny, tmp_path):
    """Files come out with the usual permissions, not a temporary file's 0600."""
    from nlu_lite.frames.output import write_frame

    target = tmp_path / "o.csv"
    write_frame(tiny.predict("a"), target)
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


# --- long texts: tokenized in segments, the same pieces ---------------------------------------


def _backends():
    from conftest import minilm_dir
    from model_families import _bpe_tokenizer, _unigram_tokenizer
    from transformers import AutoTokenizer

    from nlu_lite.engine.encoder import _private_backend

    toks = {
        "bert": AutoTokenizer.from_pretrained(minilm_dir()),
        "bpe": _bpe_tokenizer(),
        "xlnet": _unigram_tokenizer("xlnet"),
        "albert": _unigram_tokenizer("albert"),
    }
    return {name: _private_backend(t.backend_tokenizer) for name, t in toks.items()}


@pytest.mark.parametrize("segment_chars", [8, 40, 1000])
def test_integrity_segmented_tokenization_gives_the_same_pieces(segment_chars):
    from nlu_lite.engine.pieces import segments_agree, tokenize

    text = " ".join(["I love NLP, don't you?", "New-York  has   spaces.", "Ünïcode café 東京.", "x" * 50, "end"] * 20)
    texts = [text, "", "short one", text[:333], "\u200b" + text]
    for name, backend in _backends().items():
        assert segments_agree(backend), name
        whole = tokenize(backend, texts, segment_chars=None)
        cut = tokenize(backend, texts, segment_chars=segment_chars)
        for field in ("ids", "begin", "end", "unit_start", "word_start", "word_unit", "unit_word_start"):
            np.testing.assert_array_equal(getattr(whole, field), getattr(cut, field), err_msg=f"{name} {field}")


def test_integrity_cut_points_fall_between_words():
    from nlu_lite.engine.pieces import cut_points

    text = "alpha beta  gamma\tdelta " + "x" * 100 + " omega end"
    for size in (5, 10, 30):
        for cut in cut_points(text, size):
            assert text[cut] == " " and not text[cut - 1].isspace() and not text[cut + 1].isspace()
    assert cut_points("y" * 500, 10) == []  # no space: the text stays whole


def test_integrity_long_text_is_tokenized_in_bounded_calls(tiny):
    """A very long text never reaches the tokenizer whole (its per-character bookkeeping is
    ~200 bytes a character): each call gets at most about GROUP_CHARS characters."""
    from nlu_lite.engine.pieces import GROUP_CHARS, SEGMENT_CHARS

    enc = tiny.encoders[0]
    assert enc.segment_chars == SEGMENT_CHARS
    sizes = []
    real = enc.backend

    class Recording:
        def encode_batch(self, texts, **kw):
            sizes.append(sum(map(len, texts)))
            return real.encode_batch(texts, **kw)

    text = "word " * 200_000  # 1 M characters
    enc.backend = Recording()
    try:
        pieces = enc.tokenize([text, "short"])
    finally:
        enc.backend = real
    assert len(sizes) > 10 and max(sizes) <= GROUP_CHARS + SEGMENT_CHARS // 2
    assert len(pieces.ids) == 200_001 and pieces.n_words == 200_001


def test_integrity_chunked_calls_refuse_what_predict_refuses(tiny, tmp_path):
    """A mapping (iterating it would give its keys) or a non-iterable reaches predict() whole and
    gets its typed error, instead of being read as texts."""
    for data in ({"a": "first text", "b": "second"}, 3.5):
        with pytest.raises(InvalidInputError, match="predict\\(\\) takes"):
            list(tiny.predict_iter(data, chunk_rows=2))
        with pytest.raises(InvalidInputError, match="predict\\(\\) takes"):
            tiny.predict_to_parquet(data, tmp_path / "out.parquet")
    assert _leftovers(tmp_path) == []


class _Bars:
    """Stands in for tqdm.auto.tqdm: records each bar shown (not disabled): its unit, total and
    updates, and whether it was closed."""

    made: ClassVar[list[dict]] = []

    def __init__(self, total=None, unit="it", disable=False, **kwargs):
        self.record = {"unit": unit, "total": total, "done": 0, "closed": False}
        if not disable:
            _Bars.made.append(self.record)

    def update(self, n=1):
        self.record["done"] += n

    def close(self):
        self.record["closed"] = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def test_integrity_parquet_shows_one_bar_over_the_input_rows(tiny, tmp_path, monkeypatch):
    """A job of several chunks shows one bar over its input rows (chunks taken from an earlier run
    count too); none with progress=False; a stream (size unknown) gets a bar without a total."""
    import tqdm.auto

    pytest.importorskip("pyarrow")
    monkeypatch.setattr(tqdm.auto, "tqdm", _Bars)
    _Bars.made = []
    texts = [f"text number {k}." for k in range(7)]
    tiny.predict_to_parquet(texts, tmp_path / "a.parquet", chunk_rows=3, progress=None)
    rows = [b for b in _Bars.made if b["unit"] == "row"]
    assert rows == [{"unit": "row", "total": 7, "done": 7, "closed": True}]
    _Bars.made = []
    tiny.predict_to_parquet(texts, tmp_path / "b.parquet", chunk_rows=3, progress=False)
    tiny.predict_to_parquet(texts, tmp_path / "c.parquet", chunk_rows=10, progress=None)  # one chunk: no bar
    assert [b for b in _Bars.made if b["unit"] == "row"] == []
    tiny.predict_to_parquet(iter(texts), tmp_path / "d.parquet", chunk_rows=3, progress=None)
    assert [b for b in _Bars.made if b["unit"] == "row"] == [{"unit": "row", "total": None, "done": 7, "closed": True}]
