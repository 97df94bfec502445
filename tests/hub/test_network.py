"""Tests that need the Hugging Face hub; deselected by default (run: pytest -m network) and
skipped when the hub cannot be reached."""

from __future__ import annotations

import numpy as np
import pytest

import nlu_lite

pytestmark = pytest.mark.network

# The seed's published NLU output for 'I love NLP' with small_bert_L2_256 (first dimensions).
SEED = {
    "I": [-1.712011456489563, -1.076645851135254],
    "love": [-1.1276499032974243, -0.9930340647697449],
    "NLP": [-0.3206934928894043, 0.03202249854803085],
}


@pytest.fixture
def online(monkeypatch, tmp_path):
    from huggingface_hub import HfApi

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    try:
        HfApi().model_info("google/bert_uncased_L-2_H-256_A-4", timeout=5)
    except Exception as exc:
        pytest.skip(f"Hugging Face hub unreachable: {exc}")


def test_network_small_bert_matches_seed(online):
    df = nlu_lite.load("en.embed.bert.small_L2_256").predict("I love NLP", output_level="token")
    assert list(df["token"]) == ["I", "love", "NLP"]
    for token, vec in zip(df["token"], df["en_embed_bert_small_L2_256_embeddings"]):
        np.testing.assert_allclose(vec[:2], SEED[token], atol=1e-3)
