"""The last layer run only on the positions whose states are used (each word's first piece, the
first token for cls/pooler pooling, the pieces a window owns): the same numbers as the full
forward, on fewer rows; layers it cannot vouch for fall back to the full forward."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from conftest import TINY_REPO, TINY_REVISION, snapshot

import nlu_lite
from nlu_lite.engine.runner import _bert_shaped

COL = "en_embed_tests_tiny_embeddings"
# the tiny model's window holds 14 pieces: the long text runs over several overlapping windows
TEXTS = [
    "I love NLP",
    None,
    "Tokenization isn't easy! Zürich café.",
    " ".join(["tokenization"] * 20),
    "unbelievableness " * 3,
]


@contextlib.contextmanager
def full_forward(pipe: nlu_lite.Pipeline) -> Iterator[None]:
    enc = pipe.encoders[0]
    layer = enc.last_layer
    enc.last_layer = None
    try:
        yield
    finally:
        enc.last_layer = layer


def test_selection_is_on_for_bert(tiny):
    assert tiny.encoders[0].last_layer is tiny.encoders[0].model.encoder.layer[-1]


@pytest.mark.parametrize(
    "options",
    [
        {"output_level": "token"},
        {"output_level": "token", "word_pooling": "last"},
        {"output_level": "token", "word_pooling": "mean"},
        {"output_level": "sub_token"},
        {"output_level": "sentence", "pooling": "cls"},
        {"output_level": "sentence", "pooling": "pooler"},
        {"output_level": "document", "pooling": "cls"},
        {"output_level": "document", "pooling": "pooler"},
        {"output_level": "document", "pooling": "mean"},
        {"output_level": "token", "layers": [1, 3]},
    ],
)
def test_selected_positions_equal_the_full_forward(tiny, options):
    fast, a = tiny.predict(TEXTS, positions=True, embedding_format="numpy", **options)
    with full_forward(tiny):
        full, b = tiny.predict(TEXTS, positions=True, embedding_format="numpy", **options)
    assert fast.equals(full)
    assert np.isnan(a).all(axis=1).sum() == np.isnan(b).all(axis=1).sum() == 1  # the None row, in both
    np.testing.assert_allclose(a, b, atol=1e-5)


def _rows_through_feed_forward(pipe: nlu_lite.Pipeline, **options) -> int:
    seen: list[int] = []
    layer = pipe.encoders[0].model.encoder.layer[-1]
    handle = layer.intermediate.register_forward_hook(lambda m, a, out: seen.append(out.shape[:-1].numel()))
    try:
        pipe.predict(TEXTS, **options)
    finally:
        handle.remove()
    return sum(seen)


def test_last_layer_feed_forward_runs_on_the_rows_used_only(tiny_torch):
    """On the transformers forward (the fused engine has its own test in test_engines.py)."""
    n_words = len(tiny_torch.predict(TEXTS, output_level="token")) - 1  # one empty row for None
    assert _rows_through_feed_forward(tiny_torch, output_level="token") == n_words
    windows = int(tiny_torch.predict(TEXTS, output_level="document", metadata=True)["input_windows"].sum())
    assert _rows_through_feed_forward(tiny_torch, output_level="document", pooling="cls") == windows
    with full_forward(tiny_torch):  # the full forward: every padded position of every window
        assert _rows_through_feed_forward(tiny_torch, output_level="token") > 2 * n_words


def test_a_last_layer_that_does_more_than_its_parts_falls_back(tiny):
    """A layer whose output is not what its submodules compute (here a hook adds 1) fails the
    load-time check, and the full forward runs."""
    from transformers import AutoModel

    components = tiny.encoders[0].components
    model = AutoModel.from_pretrained(snapshot(TINY_REPO, TINY_REVISION)).eval()
    model.encoder.layer[-1].register_forward_hook(lambda m, a, out: out + 1.0)
    altered = nlu_lite.Pipeline([dataclasses.replace(components, model=model)])
    assert altered.encoders[0].last_layer is None
    shifted = np.stack(altered.predict("I love NLP")[COL])
    plain = np.stack(tiny.predict("I love NLP")[COL])
    with torch.inference_mode():
        ids = components.tokenizer("I love NLP", return_tensors="pt")["input_ids"]  # [CLS] i love nl ##p [SEP]
        expected = model(input_ids=ids).last_hidden_state[0, 1:-1]
    assert not np.allclose(shifted, plain)
    np.testing.assert_allclose(shifted, expected[[0, 1, 2]].numpy(), atol=1e-5)


def test_layers_of_other_shapes_are_not_selected():
    from transformers import DistilBertConfig, DistilBertModel

    model = DistilBertModel(DistilBertConfig(vocab_size=100, dim=32, n_layers=1, n_heads=2, hidden_dim=64))
    assert not _bert_shaped(model.transformer.layer[0])


@pytest.mark.parametrize(
    ("model_type", "selected"),
    [
        ("bert", True),
        ("roberta", True),
        ("xlm-roberta", True),
        ("camembert", True),
        ("electra", True),
        ("distilbert", False),
        ("mpnet", False),
    ],
)
def test_registry_families_select_or_fall_back_with_the_same_numbers(tiny, model_type, selected):
    """Random models of the registry's encoder families, the tiny model's tokenizer and size, on
    the transformers forward (the fused engine selects for every family it runs: test_engines.py)."""
    from transformers import AutoConfig, AutoModel

    sizes = {"vocab_size": 30522, "max_position_embeddings": 64}
    if model_type == "distilbert":
        sizes |= {"dim": 32, "n_layers": 2, "n_heads": 2, "hidden_dim": 64}
    else:
        sizes |= {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
    if model_type == "electra":
        sizes["embedding_size"] = 32
    torch.manual_seed(0)
    model = AutoModel.from_config(AutoConfig.for_model(model_type, **sizes)).eval()
    pipe = nlu_lite.Pipeline([dataclasses.replace(tiny.encoders[0].components, model=model)], engine="torch")
    assert (pipe.encoders[0].last_layer is not None) is selected
    for options in ({"output_level": "token"}, {"output_level": "document", "pooling": "cls"}):
        fast, a = pipe.predict(TEXTS, embedding_format="numpy", **options)
        with full_forward(pipe):
            full, b = pipe.predict(TEXTS, embedding_format="numpy", **options)
        assert fast.equals(full)
        np.testing.assert_allclose(a, b, atol=1e-5)
