"""predict(): the output contract on real weights (the packaged MiniLM) and the tiny BERT."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nlu_lite.errors import InvalidInputError, InvalidOptionError

COL = "en_embed_all_minilm_l6_v2_embeddings"
SCOL = "en_embed_sentence_all_minilm_l6_v2_embeddings"


def test_predict_i_love_nlp_tokens(minilm):
    df = minilm.predict("I love NLP", output_level="token")
    assert list(df["token"]) == ["I", "love", "NLP"]  # case kept
    assert list(df.columns) == ["token", "sentence_id", COL]
    assert list(df.index) == [0, 0, 0]
    for v in df[COL]:
        assert isinstance(v, np.ndarray) and v.dtype == np.float32 and v.shape == (384,)


def test_predict_token_vectors_match_sentence_transformers(minilm, sentence_transformer):
    texts = ["I love NLP", "Tokenization isn't always trivial, is it?", "Zürich's naïve café"]
    df = minilm.predict(texts, output_level="token")
    tok = sentence_transformer.tokenizer
    for i, text in enumerate(texts):
        ref = sentence_transformer.encode([text], output_value="token_embeddings")[0].numpy()
        word_ids = tok(text).word_ids()
        firsts = [p for p, w in enumerate(word_ids) if w is not None and (p == 0 or word_ids[p - 1] != w)]
        got = np.stack(df.loc[i, COL].tolist() if isinstance(df.loc[i], pd.DataFrame) else [df.loc[i, COL]])
        np.testing.assert_allclose(got, ref[firsts], atol=1e-4)


def test_predict_document_matches_sentence_transformers(minilm_sentence, sentence_transformer):
    texts = ["I love NLP", "A second, rather longer sentence about embeddings.", "short"]
    df = minilm_sentence.predict(texts, output_level="document")
    assert list(df.columns) == ["document", SCOL]
    assert list(df["document"]) == texts
    ref = sentence_transformer.encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(np.stack(df[SCOL]), ref, atol=1e-5)


def test_predict_default_level_comes_from_registry(minilm, minilm_sentence):
    assert "token" in minilm.predict("a b").columns
    assert "sentence" in minilm_sentence.predict("a b").columns


def test_predict_positions_slice_back(minilm):
    texts = ["  Héllo,   wörld!\tIt's 3.14 [CLS] naïve ", "e-mail: x@y.org"]
    for level in ("token", "sub_token"):
        df = minilm.predict(texts, output_level=level, positions=True)
        for label, row in df.iterrows():
            assert texts[label][row["begin"] : row["end"]] == row[level]
            assert row[level] != ""


def test_predict_literal_special_tokens_are_text(minilm):
    df = minilm.predict("a [CLS] b [SEP]", positions=True)
    assert list(df["token"]) == ["a", "[", "CLS", "]", "b", "[", "SEP", "]"]


def test_predict_null_and_empty_rows_are_kept(minilm):
    data = ["I love NLP", None, "", "   ", float("nan"), "ok"]
    df = minilm.predict(data)
    assert sorted(set(df.index)) == list(range(6))
    for label in (1, 2, 3, 4):
        row = df.loc[[label]]
        assert len(row) == 1 and row["token"].iloc[0] == "" and row[COL].iloc[0] is None
    assert list(df.loc[5, "token"] if isinstance(df.loc[5], pd.DataFrame) else [df.loc[5, "token"]]) == ["ok"]
    doc = minilm.predict(data, output_level="document")
    assert len(doc) == 6 and doc[COL].isna().sum() == 4


def test_predict_order_and_batching_invariant(minilm):
    texts = [("word " * n).strip() for n in (5, 1, 30, 2, 17, 9)] + ["I love NLP"]
    ref = minilm.predict(texts)
    small = minilm.predict(texts, batch_size=1)
    budget = minilm.predict(texts, token_budget=40)
    for other in (small, budget):
        assert list(other.index) == list(ref.index)
        assert list(other["token"]) == list(ref["token"])
        np.testing.assert_allclose(np.stack(other[COL]), np.stack(ref[COL]), atol=1e-5)
    last = ref.loc[6]
    alone = minilm.predict("I love NLP")
    np.testing.assert_allclose(np.stack(last[COL]), np.stack(alone[COL]), atol=1e-5)


def test_predict_vectors_are_views_of_one_block(minilm):
    df = minilm.predict(["a b c", "d e"])
    bases = {id(v.base) for v in df[COL]}
    assert len(bases) == 1 and all(v.base is not None for v in df[COL])


def test_predict_long_text_keeps_every_word(tiny):
    """The tiny model sees 16 positions: a 300-word text is windowed, not truncated."""
    words = [f"w{i}" for i in range(300)]
    text = " ".join(words)
    df = tiny.predict(text, positions=True)
    pieces = tiny.encoders[0].backend.encode(text, add_special_tokens=False)
    n_words = len({w for w in pieces.word_ids})
    assert len(df) == n_words
    assert "".join(df["token"]) == text.replace(" ", "")
    assert not np.isnan(np.stack(df["en_embed_tests_tiny_embeddings"])).any()


def test_predict_bad_options(minilm):
    with pytest.raises(InvalidOptionError, match="output_level"):
        minilm.predict("x", output_level="paragraph")
    with pytest.raises(InvalidOptionError, match="pooling"):
        minilm.predict("x", output_level="document", pooling="median")
    with pytest.raises(InvalidInputError, match="position 1"):
        minilm.predict(["ok", 3])
    with pytest.raises(InvalidInputError):
        minilm.predict(42)
