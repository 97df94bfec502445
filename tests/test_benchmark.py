"""The benchmark command still runs end to end (a tiny corpus; speed itself is never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_quick_run_measures_every_contender():
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    table = out.stdout
    for measure in (
        "FLOP ceiling",
        "model-only sorted forward",
        "predict token",
        "predict sentence",
        "predict document",
        "predict sentence, pooling='cls'",
        "feature-extraction pipeline (defaults: lists, one text per forward) + DataFrame",
        "feature-extraction pipeline (return_tensors=True) + DataFrame",
        "feature-extraction pipeline (batch_size=32, lists) + DataFrame",
        "sentence-transformers encode(token_embeddings)",
        "sentence-transformers encode()",
        "predict token, bfloat16",
        "memory retained per 256-d token row",
        "warm single-sentence predict",
        "load of a cached small model",
        "peak RSS",
    ):
        assert measure in table, measure
    for model in (
        "small_L2_256 (random, exact config)",
        "MiniLM-L6 (random, exact config)",
        "MiniLM-L6 (packaged, real)",
    ):
        assert f"| {model} | predict token |" in table
    # every rate printed is a positive number
    rates = [line.split("|")[3].strip() for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    numbers = [float(r.replace(",", "")) for r in rates if r and r[0].isdigit()]
    assert len(numbers) >= 30 and min(numbers) > 0


def test_benchmark_streaming_runs_the_three_ways():
    """benchmarks/streaming.py times predict, predict_iter and predict_to_parquet on the same texts;
    it stops with an error if they make different numbers of rows."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "streaming.py"), "--sentences", "60", "--chunk-rows", "25"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [line.split("|") for line in out.stdout.splitlines() if line.startswith("| small_L2_256")]
    assert [r[2].strip() for r in rows] == ["token", "document"]
    assert rows[1][3].strip() == "60"  # one document row per text
    assert all(float(r[5]) > 0 for r in rows)
