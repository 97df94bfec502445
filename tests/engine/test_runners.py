"""The fused CPU engine (nlu_lite.engine.fused_cpu): the same vectors as the transformers forward at every
level and option, bfloat16 within its stated cosine, a visible fallback for every model it cannot
vouch for, and the model itself left untouched."""

from __future__ import annotations

import dataclasses
import logging
import threading

import numpy as np
import pytest
import torch

import nlu_lite
from nlu_lite.engine import fused_cpu as fused
from nlu_lite.engine.runner import TorchRunner
from nlu_lite.errors import InvalidOptionError
from nlu_lite.hub import families

pytestmark = pytest.mark.skipif(not fused.available(), reason="this torch build has no oneDNN fused linear")

# the fused engine's name on this CPU: oneDNN's packed GEMM where it measured fastest, else torch's BLAS
FUSED = fused.ENGINES[fused.packs_float32()]

TEXTS = [
    "I love NLP",
    None,
    "Tokenization isn't easy! Zürich café.",
    " ".join(["tokenization"] * 20),  # several overlapping windows of the tiny model
    "Short. Then a second sentence follows here.",
]

OPTIONS = [
    {"output_level": "token"},
    {"output_level": "token", "word_pooling": "mean"},
    {"output_level": "sub_token"},
    {"output_level": "sentence"},
    {"output_level": "sentence", "pooling": "cls"},
    {"output_level": "sentence", "pooling": "pooler"},
    {"output_level": "document", "pooling": "mean"},
    {"output_level": "document", "pooling": "pooler"},
    {"output_level": "token", "layers": 0},
    {"output_level": "token", "layers": 1},
    {"output_level": "token", "layers": [1, 3], "layer_combine": "concat"},
    {"output_level": "token", "layers": [0, 2, 3], "layer_combine": "mean"},
    {"output_level": "sentence", "layers": [2, 3], "layer_combine": "sum", "pooling": "max"},
]


def test_bert_shaped_models_run_fused_on_cpu(tiny, tiny_torch):
    assert tiny.encoders[0].engine == FUSED
    assert tiny_torch.encoders[0].engine == "torch"
    assert tiny.components[0]["engine"] == FUSED
    assert tiny.predict("I love NLP").attrs["engines"] == [FUSED]


@pytest.mark.parametrize("packs", [True, False])
def test_the_float32_kernel_follows_the_cpu(tiny, monkeypatch, packs):
    """oneDNN's packed GEMM where the CPU has AVX-512, torch's BLAS elsewhere (each measured
    fastest there); bfloat16 always packs."""
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512" if packs else "AVX2")
    assert fused.packs_float32() is packs
    pipe = nlu_lite.Pipeline([tiny.encoders[0].components])
    assert pipe.encoders[0].engine == fused.ENGINES[packs]
    assert (pipe.encoders[0].runner.layers[0].qkv.packed is not None) is packs


@pytest.fixture(scope="module")
def kernels(tiny):
    """The tiny model on each float32 kernel, whatever this CPU would choose."""
    pipes = {}
    for packs in (True, False):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(fused, "packs_float32", lambda packs=packs: packs)
            pipes[packs] = nlu_lite.Pipeline([tiny.encoders[0].components])
        assert pipes[packs].encoders[0].engine == fused.ENGINES[packs]
    return pipes


@pytest.mark.parametrize("packs", [True, False], ids=["onednn", "blas"])
@pytest.mark.parametrize("options", OPTIONS)
def test_fused_gives_the_transformers_vectors_at_every_level(kernels, tiny_torch, options, packs):
    fast, a = kernels[packs].predict(TEXTS, positions=True, embedding_format="numpy", **options)
    plain, b = tiny_torch.predict(TEXTS, positions=True, embedding_format="numpy", **options)
    assert fast.equals(plain)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a, b, atol=2e-5, rtol=1e-4)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_fused_real_minilm_matches_the_model_itself(minilm):
    """The packaged all-MiniLM-L6-v2 (real weights): every token vector against the transformers
    model run directly, min cosine >= 0.99999 (the issue's bar), and every sentence vector."""
    assert minilm.encoders[0].engine == FUSED
    texts = ["I love NLP", "The quick brown fox jumps over the lazy dog.", "Zürich's cafés open at 7 a.m."]
    model, tokenizer = minilm.encoders[0].model, minilm.encoders[0].components.tokenizer
    _, got = minilm.predict(texts, output_level="sub_token", embedding_format="numpy")
    with torch.inference_mode():
        batch = tokenizer(texts, padding=True, return_tensors="pt")
        states = model(**batch).last_hidden_state
    keep = batch["attention_mask"].bool().clone()
    keep[:, 0] = False  # [CLS]
    keep[torch.arange(len(texts)), batch["attention_mask"].sum(1) - 1] = False  # [SEP]
    expected = states[keep].numpy()
    assert got.shape == expected.shape
    assert _cosines(got, expected).min() >= 0.99999
    np.testing.assert_allclose(got, expected, atol=1e-4)


@pytest.mark.skipif(not fused.packs_bfloat16(), reason="this CPU has no oneDNN bfloat16 kernels")
def test_bfloat16_on_the_fused_engine_keeps_cosine_0999(minilm_dir_pipe_bf16, minilm):
    texts = ["I love NLP", "The quick brown fox jumps over the lazy dog.", "Zürich's cafés open at 7 a.m."] * 3
    assert minilm_dir_pipe_bf16.encoders[0].engine == "fused-onednn"
    _, fp32 = minilm.predict(texts, output_level="token", embedding_format="numpy")
    _, bf16 = minilm_dir_pipe_bf16.predict(texts, output_level="token", embedding_format="numpy")
    assert bf16.dtype == np.float32
    assert _cosines(fp32, bf16).min() >= 0.999
    assert not np.array_equal(fp32, bf16)  # it did run in bfloat16


def test_bfloat16_without_kernels_for_it_runs_the_transformers_forward(tiny, monkeypatch, caplog):
    """A CPU where oneDNN has no bfloat16 GEMM (AVX2 only) runs bfloat16 on the transformers
    forward under autocast, and the log says why, instead of failing while packing."""
    monkeypatch.setattr(fused, "packs_bfloat16", lambda: False)
    with caplog.at_level(logging.INFO, logger="nlu_lite"):
        pipe = nlu_lite.Pipeline([tiny.encoders[0].components], dtype="bfloat16")
    assert pipe.encoders[0].engine == "torch"
    assert "no oneDNN bfloat16 kernels" in caplog.text
    _, got = pipe.predict("I love NLP", embedding_format="numpy")
    assert got.dtype == np.float32 and np.isfinite(got).all()


def test_packs_bfloat16_says_whether_the_engine_can_pack_bfloat16(tiny):
    """Where the probe says yes, a bfloat16 runner packs; where it says no, packing is the very
    failure the check keeps from the user."""
    model, n_layers = tiny.encoders[0].model, tiny.encoders[0].n_layers
    if fused.packs_bfloat16():
        assert fused.FusedRunner(model, torch.bfloat16, n_layers).engine == "fused-onednn"
    else:
        with pytest.raises(RuntimeError):
            fused.FusedRunner(model, torch.bfloat16, n_layers)


@pytest.mark.parametrize("kernels_here", [True, False])
def test_the_bfloat16_warning_follows_the_same_probe(monkeypatch, kernels_here):
    import warnings

    from nlu_lite.engine import devices

    monkeypatch.setattr(devices, "packs_bfloat16", lambda: kernels_here)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert devices.pick_dtype("bfloat16", "cpu") == "bfloat16"
    assert any("no bfloat16 kernels" in str(w.message) for w in caught) is not kernels_here


@pytest.fixture(scope="module")
def minilm_dir_pipe_bf16():
    if not torch.backends.mkldnn.is_available():
        pytest.skip("no oneDNN")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a CPU without native bfloat16 is warned about, and still runs
        return nlu_lite.load("en.embed.all_minilm_l6_v2", dtype="bfloat16")


def test_the_model_is_left_as_it_was(tiny):
    """Packing copies the weights: the model's parameters, and so saving, are untouched."""
    model = tiny.encoders[0].model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    again = nlu_lite.Pipeline([tiny.encoders[0].components], dtype="bfloat16")
    again.predict("I love NLP")
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) and after[k].dtype == before[k].dtype for k in before)


def test_engine_torch_by_argument_and_environment(tiny, monkeypatch):
    components = tiny.encoders[0].components
    assert nlu_lite.Pipeline([components], engine="torch").encoders[0].engine == "torch"
    monkeypatch.setenv("NLU_LITE_ENGINE", "torch")
    assert nlu_lite.Pipeline([components]).encoders[0].engine == "torch"
    monkeypatch.setenv("NLU_LITE_ENGINE", "auto")
    assert nlu_lite.Pipeline([components]).encoders[0].engine == FUSED
    with pytest.raises(InvalidOptionError, match="engine"):
        nlu_lite.Pipeline([components], engine="onnx")
    monkeypatch.setenv("NLU_LITE_ENGINE", "fast")
    with pytest.raises(InvalidOptionError, match="NLU_LITE_ENGINE"):
        nlu_lite.Pipeline([components])


# the few families whose config needs more than the common sizes to stay tiny
_TINY = {"luke": {"entity_vocab_size": 10, "entity_emb_size": 16}}


def _random(model_type: str, **extra):
    from transformers import AutoConfig, AutoModel

    sizes = {"vocab_size": 30522, "max_position_embeddings": 64} | _TINY.get(model_type, {})
    if model_type == "distilbert":
        sizes |= {"dim": 32, "n_layers": 2, "n_heads": 2, "hidden_dim": 64}
    else:
        sizes |= {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
    torch.manual_seed(0)
    return AutoModel.from_config(AutoConfig.for_model(model_type, **(sizes | extra))).eval()


# every family the table serves runs fused; then the variants a row does not decide
SERVED = sorted(families.MODEL_MAPPING)
REFUSED = sorted(families.CAN_NOT_BE_SUPPORTED)


@pytest.mark.parametrize(
    ("model_type", "extra", "engine"),
    [
        *((model_type, {}, FUSED) for model_type in SERVED),
        ("electra", {"embedding_size": 16}, FUSED),  # with its embedding projection
        ("bert", {"hidden_act": "gelu_new"}, FUSED),
        ("bert", {"hidden_act": "relu"}, FUSED),
        ("bert", {"hidden_act": "silu"}, "torch"),
        ("mpnet", {"hidden_act": "silu"}, "torch"),
        ("deberta-v2", {}, "torch"),
    ],
)
def test_families_run_fused_or_fall_back_with_the_same_numbers(tiny, tiny_torch, caplog, model_type, extra, engine):
    model = _random(model_type, **extra)
    components = dataclasses.replace(tiny.encoders[0].components, model=model)
    with caplog.at_level(logging.INFO, logger="nlu_lite"):
        pipe = nlu_lite.Pipeline([components])
    plain = nlu_lite.Pipeline([components], engine="torch")
    assert pipe.encoders[0].engine == engine
    if engine == "torch":
        assert "not the fused engine" in caplog.text  # the fallback says why
    for options in ({"output_level": "token"}, {"output_level": "document", "pooling": "cls"}):
        fast, a = pipe.predict(TEXTS, embedding_format="numpy", **options)
        full, b = plain.predict(TEXTS, embedding_format="numpy", **options)
        assert fast.equals(full)
        np.testing.assert_allclose(a, b, atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("model_type", SERVED)
def test_every_family_the_table_serves_agrees_with_transformers_at_every_layer(model_type):
    """The fused runner of a tiny random model of each served family: chosen by build, every layer's
    states, the selected last-layer rows and the pooler equal to the transformers forward's."""
    model = _random(model_type)
    n_layers = families.config_layers(model.config)
    runner = fused.build(model, torch.device("cpu"), None, n_layers, model_type)
    assert runner is not None and runner.engine == FUSED
    assert (runner.tables is not None) is families.MODEL_MAPPING[model_type].summed_embeddings
    ids = torch.randint(1, 30522, (3, 9), generator=torch.Generator().manual_seed(3))
    mask = torch.ones_like(ids)
    mask[2, 5:] = 0
    keep = mask.bool()
    with torch.inference_mode():
        expected = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        every = list(range(n_layers + 1))
        states, _ = runner.forward(ids, mask, every, "concat", False)
        for i in every:
            got = states[..., i * 32 : (i + 1) * 32]
            torch.testing.assert_close(got[keep], expected.hidden_states[i][keep], atol=2e-5, rtol=1e-4)
        rows, cols = torch.tensor([0, 1, 2, 2]), torch.tensor([0, 8, 0, 4])
        picked, _ = runner.forward_selected(ids, mask, rows, cols, False)
        torch.testing.assert_close(picked, expected.last_hidden_state[rows, cols], atol=2e-5, rtol=1e-4)
        if families.MODEL_MAPPING[model_type].pooler is not None:
            _, pooled = runner.forward(ids, mask, [n_layers], "concat", True)
            torch.testing.assert_close(pooled, expected.pooler_output, atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("model_type", REFUSED)
def test_every_family_the_table_refuses_falls_back_with_its_reason(model_type, caplog):
    """build refuses a tiny random model of each refused family, and the log gives the table's reason."""
    model = _random(model_type)
    with caplog.at_level(logging.INFO, logger="nlu_lite"):
        runner = fused.build(model, torch.device("cpu"), None, families.config_layers(model.config), model_type)
    assert runner is None
    assert "not the fused engine" in caplog.text
    assert families.CAN_NOT_BE_SUPPORTED[model_type] in caplog.text


@pytest.mark.parametrize("model_type", SERVED + REFUSED)
def test_the_torch_runner_hooks_the_layers_of_every_family_with_a_layout(model_type):
    """The torch runner stops early (its hooks on the layers the layout names) for every served
    family, and runs the whole forward for every refused one."""
    model = _random(model_type)
    runner = TorchRunner(model, torch.device("cpu"), None, families.config_layers(model.config))
    assert runner.can_stop_early is (model_type in families.MODEL_MAPPING)


def test_a_model_whose_forward_differs_falls_back(tiny, caplog):
    """A model whose output is not what its layers compute (a hook adds 1 to a layer) fails the
    load-time check: the transformers forward runs, hook included."""
    from conftest import TINY_REPO, TINY_REVISION, snapshot
    from transformers import AutoModel

    model = AutoModel.from_pretrained(snapshot(TINY_REPO, TINY_REVISION)).eval()
    model.encoder.layer[0].register_forward_hook(lambda m, a, out: out + 1.0)
    with caplog.at_level(logging.INFO, logger="nlu_lite"):
        pipe = nlu_lite.Pipeline([dataclasses.replace(tiny.encoders[0].components, model=model)])
    assert pipe.encoders[0].engine == "torch"
    assert "differ from the transformers forward" in caplog.text
    shifted = np.stack(pipe.predict("I love NLP")["en_embed_tests_tiny_embeddings"])
    plain = np.stack(tiny.predict("I love NLP")["en_embed_tests_tiny_embeddings"])
    assert not np.allclose(shifted, plain)


def test_a_half_precision_checkpoint_falls_back(tiny, caplog):
    """transformers loads a checkpoint in the dtype it was stored in: a float16 model runs on its
    own forward, and the log says why."""
    from conftest import TINY_REPO, TINY_REVISION, snapshot
    from transformers import AutoModel

    model = AutoModel.from_pretrained(snapshot(TINY_REPO, TINY_REVISION)).eval().half()
    with caplog.at_level(logging.INFO, logger="nlu_lite"):
        pipe = nlu_lite.Pipeline([dataclasses.replace(tiny.encoders[0].components, model=model)])
    assert pipe.encoders[0].engine == "torch"
    assert "its weights are float16, not float32" in caplog.text
    assert np.isfinite(np.stack(pipe.predict("I love NLP")["en_embed_tests_tiny_embeddings"])).all()


def test_no_onednn_falls_back(tiny, monkeypatch, caplog):
    monkeypatch.setattr(fused, "available", lambda: False)
    with caplog.at_level(logging.INFO, logger="nlu_lite"):
        pipe = nlu_lite.Pipeline([tiny.encoders[0].components])
    assert pipe.encoders[0].engine == "torch"
    assert "no oneDNN" in caplog.text


def test_other_cpu_architectures_fall_back(tiny, monkeypatch):
    """The engine was measured on x86-64 only: an ARM machine runs the transformers forward."""
    import platform

    monkeypatch.setattr(platform, "machine", lambda: "arm64")
    assert not fused.available()
    assert nlu_lite.Pipeline([tiny.encoders[0].components]).encoders[0].engine == "torch"


def test_last_layer_feed_forward_runs_on_the_rows_used_only_when_fused(tiny):
    last = tiny.encoders[0].runner.layers[-1]
    seen: list[int] = []
    finish = last.finish
    last.finish = lambda context, hidden: seen.append(int(context.shape[0])) or finish(context, hidden)
    try:
        n_words = len(tiny.predict(TEXTS, output_level="token")) - 1  # one empty row for None
        assert sum(seen) == n_words
    finally:
        del last.finish


def test_concurrent_predicts_agree(tiny):
    expected = tiny.predict(TEXTS, embedding_format="numpy")[1]
    results: list[np.ndarray] = []

    def work() -> None:
        for _ in range(3):
            results.append(tiny.predict(TEXTS, embedding_format="numpy")[1])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 12
    for got in results:
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
        np.testing.assert_allclose(got, expected, atol=1e-6)


def test_small_batches_on_plain_linear_agree_with_the_packed_kernel(kernels):
    """On oneDNN's kernel, a batch under SMALL_ROWS rows runs plain ``linear`` on the model's
    weights; the same sentence inside a bigger batch runs the packed kernel: the same states."""
    runner = kernels[True].encoders[0].runner
    ids = torch.tensor([[101, 1045, 2293, 17953, 2361, 102]])
    big = ids.repeat(4, 1)  # 24 rows: the packed kernel
    assert ids.numel() < fused.SMALL_ROWS <= big.numel()
    with torch.inference_mode():
        alone, _ = runner.forward(ids, torch.ones_like(ids), [1, 3], "concat", False)
        inside, _ = runner.forward(big, torch.ones_like(big), [1, 3], "concat", False)
        picked, _ = runner.forward_selected(
            ids, torch.ones_like(ids), torch.tensor([0, 0]), torch.tensor([1, 4]), False
        )
    torch.testing.assert_close(alone[0], inside[2], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(picked, inside[0, [1, 4], 32:], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dtype", ["int8", "qint8"])
def test_int8_is_refused_with_the_reason_and_the_fast_option(dtype):
    with pytest.raises(InvalidOptionError, match=r"below the 0\.99") as info:
        nlu_lite.load(dtype=dtype)
    assert "bfloat16" in str(info.value) and "RESULTS.md" in str(info.value)


@pytest.mark.parametrize(("model_type", "tables"), [("bert", True), ("electra", True), ("roberta", False)])
def test_embeddings_read_as_tables_equal_the_module(model_type, tables):
    """BERT's and ELECTRA's embeddings are summed from tables read once (word, token type and
    position rows, in the module's order): the very numbers of the module's own forward."""
    model = _random(model_type, **({"embedding_size": 16} if model_type == "electra" else {}))
    runner = fused.FusedRunner(model, None, 2)
    assert (runner.tables is not None) is tables
    ids = torch.randint(1, 30522, (3, 11), generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        expected = model.embeddings(input_ids=ids)
        if runner.project is not None:
            expected = runner.project(expected)
        got = runner._embed(ids).view(3, 11, -1)
    assert torch.equal(got, expected)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_in_place_gives_torchs_gelu_bit_for_bit(approximate):
    """The feed-forward's GELU is written over the GEMM's output: the same values as
    torch's GELU into a new tensor, in the same storage."""
    x = torch.randn(37, 64, generator=torch.Generator().manual_seed(2)) * 4
    expected = torch.nn.functional.gelu(x, approximate=approximate)
    storage = x.data_ptr()
    got = fused.gelu_(x, approximate)
    assert torch.equal(got, expected)
    assert got.data_ptr() == storage and torch.equal(x, expected)
