"""The nlu-lite command, run as a user would: a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "nlu_lite", *args], input=stdin, capture_output=True, text=True, env=env, timeout=300
    )


def test_cli_predict_prints_tokens():
    out = run("predict", "I love NLP", "--positions")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:4] == ["token", "sentence_id", "begin", "end"]
    assert lines[1].split() == ["origin_index"]
    assert [line.split()[1] for line in lines[2:]] == ["I", "love", "NLP"]
    assert [line.split()[3:5] for line in lines[2:]] == [["0", "1"], ["2", "6"], ["7", "10"]]
    assert "(384)" in lines[2]


def test_cli_stdin_and_outputs(tmp_path):
    for suffix in ("parquet", "csv", "jsonl"):
        path = tmp_path / f"out.{suffix}"
        out = run("predict", "-", "--level", "document", "--out", str(path), stdin="first line\nsecond line\n")
        assert out.returncode == 0, out.stderr
        if suffix == "parquet":
            df = pd.read_parquet(path)
            vec = df["en_embed_all_minilm_l6_v2_embeddings"].iloc[0]
            assert len(vec) == 384 and vec.dtype == "float32"
        elif suffix == "csv":
            df = pd.read_csv(path)
            assert len(json.loads(df["en_embed_all_minilm_l6_v2_embeddings"].iloc[0])) == 384
        else:
            df = pd.read_json(path, lines=True)
        assert list(df["document"]) == ["first line", "second line"]
        assert list(df["origin_index"]) == [0, 1]


def test_cli_unknown_model_is_one_line():
    out = run("predict", "x", "--model", "en.embed.bert.small_L2_265")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert "en.embed.bert.small_L2_256" in out.stderr


# the same commands in-process (fast, and measured by coverage)


def test_cli_inprocess_predict_formats(tmp_path, capsys, monkeypatch):
    import io

    from nlu_lite.cli import main

    assert main(["predict", "I love NLP", "--positions"]) == 0
    assert "NLP" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("one\ntwo\n"))
    for suffix in ("parquet", "csv", "jsonl"):
        monkeypatch.setattr("sys.stdin", io.StringIO("one\ntwo\n"))
        assert main(["predict", "-", "--level", "sentence", "--out", str(tmp_path / f"o.{suffix}")]) == 0
    assert "wrote 2 rows" in capsys.readouterr().err
    (tmp_path / "in.txt").write_text("a b\nc\n")
    assert main(["predict", "--file", str(tmp_path / "in.txt"), "--level", "document"]) == 0
    assert main(["predict", "x", "--out", str(tmp_path / "o.txt")]) == 2
    assert main(["predict", "x", "--out", str(tmp_path / "no" / "o.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["predict"]) == 2
    assert "error" in capsys.readouterr().err


def test_cli_inprocess_models_info_download(capsys):
    from nlu_lite.cli import main

    assert main(["models", "*minilm_l6*"]) == 0
    assert "en.embed.all_minilm_l6_v2" in capsys.readouterr().out
    assert main(["models", "zzz"]) == 1
    assert main(["info", "bert"]) == 0
    assert "google/bert_uncased_L-2_H-128_A-2" in capsys.readouterr().out
    assert main(["download", "-q", "minilm"]) == 0
    assert main(["download", "en.embed.bert.large_cased"]) == 2
    assert main(["info", "glove"]) == 2
    err = capsys.readouterr().err
    assert "no transformers equivalent" in err
