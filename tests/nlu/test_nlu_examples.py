"""NLU's documented embedding examples, translated case by case.

Each test names where NLU documents the example (its docs, its stored notebook outputs, or its
5.4.1 source) and asserts what NLU shows: the name, the call, the level, the columns, the
positions.  Models run offline: the Hugging Face cache gets the exact repository at the commit the
registry resolves, holding a small random model of the same family, so the real name → registry →
cache → predict path runs; vectors are checked for exactness elsewhere (the real MiniLM).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import minilm_dir, snapshot

import nlu_lite
from nlu_lite.errors import NoEquivalentError
from nlu_lite.hub import lockfile as locking
from nlu_lite.nlu.layout import nlu_identifier, vector_names
from nlu_lite.nlu.spark_tokenizer import spark_nlp_spans

TINY_BERT = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64}


def _cache_model(spelling: str, hidden: int = 32, layers: int = 2) -> None:
    """Put a small random BERT where the registry's entry for ``spelling`` looks for its files."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    entry = nlu_lite.resolve(spelling)
    revision = entry.source.revision or "main"
    sha = revision if revision != "main" else "a" * 40
    snap = snapshot(entry.source.hf, sha)
    if (snap / "config.json").exists():
        return
    config = BertConfig(
        vocab_size=30522,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=entry.heads or 4,  # the registry's sizes, which load checks
        intermediate_size=2 * hidden,
    )
    BertModel(config).save_pretrained(snap)
    AutoTokenizer.from_pretrained(minilm_dir()).save_pretrained(snap)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # no lock file around
    monkeypatch.setattr(locking, "_warned", set())


# --- column names: nlu/pipe/col_substitution (NLU 5.4.1) --------------------------------------


@pytest.mark.parametrize(
    ("ref", "task", "column"),
    [
        ("en.embed.bert", "embed", "word_embedding_bert"),
        ("bert", "embed", "word_embedding_bert"),
        ("en.embed.bert.base_uncased", "embed", "word_embedding_bert"),
        ("en.embed_sentence.bert", "embed_sentence", "sentence_embedding_bert"),
        ("embed_sentence.bert", "embed_sentence", "sentence_embedding_bert"),
        ("en.embed_sentence.small_bert_L2_128", "embed_sentence", "sentence_embedding_small_bert_L2_128"),
        ("en.embed_sentence.mpnet.all_mpnet_base_v2", "embed_sentence", "sentence_embedding_mpnet"),
        ("en.embed_sentence.bge_small", "embed_sentence", "sentence_embedding_bge_small"),
        ("en.embed_sentence.e5_small", "embed_sentence", "sentence_embedding_e5_small"),
        ("xx.embed.bert", "embed", "word_embedding_bert"),
        ("xx.embed.xlm.base", "embed", "word_embedding_xlm"),  # 'xlm' is no language key of NLU's spellbook
        ("yue.embed.bert", "embed", "word_embedding_bert"),  # 'yue' is
    ],
)
def test_nlu_examples_vector_column_names(ref, task, column):
    """NLU names the vector column after the first segment of the typed name (col_name_substitution_utils.py
    deduct_name_from_nlu_ref_at_depth; col_substitution_OS.py substitute_*_embed_cols)."""
    assert vector_names([ref], [task]) == [column]


def test_nlu_examples_clashing_names_take_one_more_segment():
    assert vector_names(["en.embed.bert.small_L2_128", "en.embed.bert.small_L2_256"], ["embed", "embed"]) == [
        "word_embedding_bert_small_L2_128",
        "word_embedding_bert_small_L2_256",
    ]
    assert nlu_identifier("en.embed_sentence.mpnet.all_mpnet_base_questions_clustering_english") == "mpnet"


# --- examples with stored outputs ---------------------------------------------------------------


def test_nlu_examples_bge_base_document(offline):
    """NLU_BGE_sentence_embeddings.ipynb: nlu.load('en.embed_sentence.bge_base').predict(text,
    output_level='document') -> columns document, sentence_embedding_bge_base; one row."""
    _cache_model("en.embed_sentence.bge_base")
    text = (
        "passage: As a general guideline, the CDC's average requirement of protein for women ages 19 to 70 "
        "is 46 grams per day."
    )
    df = nlu_lite.load("en.embed_sentence.bge_base").predict(text, output_level="document", convention="nlu5")
    assert list(df.columns) == ["document", "sentence_embedding_bge_base"]
    assert len(df) == 1 and df["document"].iloc[0] == text and list(df.index) == [0]
    assert nlu_lite.resolve("en.embed_sentence.bge_base").nlu_model == "bge_base"


def test_nlu_examples_bge_small_default_level_is_sentence(offline):
    """Same notebook: nlu.load('en.embed_sentence.bge_small').predict('query: how much protein should
    a female eat') -> columns sentence, sentence_embedding_bge_small."""
    _cache_model("en.embed_sentence.bge_small")
    df = nlu_lite.load("en.embed_sentence.bge_small").predict(
        "query: how much protein should a female eat", convention="nlu5"
    )
    assert list(df.columns) == ["sentence", "sentence_embedding_bge_small"]
    assert df["sentence"].tolist() == ["query: how much protein should a female eat"]


@pytest.mark.parametrize(
    "ref",
    [
        "en.embed_sentence.mpnet.all_mpnet_base_v2",
        "en.embed_sentence.mpnet.all_mpnet_base_questions_clustering_english",
    ],
)
def test_nlu_examples_mpnet_document(offline, ref):
    """NLU_MPNET_sentence_embeddings.ipynb: both models give a column sentence_embedding_mpnet."""
    _cache_model(ref)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a tracked entry warns once about its commit
        df = nlu_lite.load(ref).predict("This is an example sentence", output_level="document", convention="nlu5")
    assert list(df.columns) == ["document", "sentence_embedding_mpnet"]
    assert df["document"].tolist() == ["This is an example sentence"]


def test_nlu_examples_instructor_is_refused_with_a_reason():
    """NLU_INSTRUCTOR_sentence_embeddings.ipynb: INSTRUCTOR pools without its instruction, which
    nlu_lite does not reproduce; the name says so instead of giving other vectors."""
    with pytest.raises(NoEquivalentError, match="INSTRUCTOR"):
        nlu_lite.load("en.embed_sentence.instructor_base")


def test_nlu_examples_token_positions_inclusive(offline):
    """docs/en/predict_api.md: 'I love data science!' at token level with positions: I 0/0,
    love 2/5, data 7/10, science 12/18, ! 19/19 (Spark NLP's inclusive ends)."""
    _cache_model("en.embed.bert.small_L2_128", hidden=128, layers=2)
    df = nlu_lite.load("bert").predict("I love data science!", output_level="token", positions=True, convention="nlu5")
    assert df["token"].tolist() == ["I", "love", "data", "science", "!"]
    assert df["token_begin"].tolist() == [0, 2, 7, 12, 19]
    assert df["token_end"].tolist() == [0, 5, 10, 18, 19]
    assert list(df.columns) == [
        "token",
        "token_begin",
        "token_end",
        "word_embedding_bert",
        "word_embedding_bert_begin",
        "word_embedding_bert_end",
    ]
    assert df["word_embedding_bert_end"].tolist() == [0, 5, 10, 18, 19]


def test_nlu_examples_word_model_at_document_level_keeps_token_vectors(offline, tmp_path):
    """NLU (pipeline.py: vectors of a token-level model are not exploded at document level): one row
    per input, the word vectors as a tokens x dimension array."""
    _cache_model("en.embed.bert.small_L2_128", hidden=128, layers=2)
    pipe = nlu_lite.load("bert")
    df = pipe.predict(["I love data science!", "Hi"], output_level="document", convention="nlu5")
    assert list(df.columns) == ["document", "word_embedding_bert"]
    shapes = [m.shape for m in df["word_embedding_bert"]]
    assert shapes == [(5, 128), (1, 128)]
    tokens = pipe.predict(["I love data science!", "Hi"], output_level="token", convention="nlu5")
    np.testing.assert_array_equal(df["word_embedding_bert"].iloc[0], np.stack(tokens["word_embedding_bert"].iloc[:5]))
    pytest.importorskip("pyarrow")
    written = pipe.predict(
        ["I love data science!", "Hi"], "document", str(tmp_path / "docs.parquet"), convention="nlu5"
    )
    back = pd.read_parquet(tmp_path / "docs.parquet")
    for matrix, cells in zip(written["word_embedding_bert"], back["word_embedding_bert"], strict=True):
        np.testing.assert_array_equal(np.stack(cells), matrix)
    no_vectors = pipe.predict(["Hi"], output_level="document", convention="nlu5", get_embeddings=False)
    assert list(no_vectors.columns) == ["document"]
    with_positions = pipe.predict(["Hi there"], output_level="document", convention="nlu5", positions=True)
    assert with_positions["word_embedding_bert_end"].tolist() == [7]


def test_nlu_examples_word_model_document_level_runs_the_model_once(offline, monkeypatch):
    """The unpooled document level of a word model is its token level: one forward pass, not a
    pooled one besides."""
    from nlu_lite.engine.encoder import Encoder

    _cache_model("en.embed.bert.small_L2_128", hidden=128, layers=2)
    pipe = nlu_lite.load("bert")
    calls = []
    original = Encoder.encode
    monkeypatch.setattr(Encoder, "encode", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    pipe.predict(["I love data science!", "Hi"], output_level="document", convention="nlu5", metadata=True)
    assert len(calls) == 1


def test_nlu_examples_dataframe_input_returns_text_and_other_columns(minilm):
    """data_conversion_utils.pdf_to_sdf: a DataFrame's columns (its text as 'text') come back."""
    frame = pd.DataFrame({"text": ["I love NLP", "Hi there"], "label": [1, 0]})
    df = minilm.predict(frame, output_level="token", convention="nlu5")
    assert list(df.columns) == ["label", "text", "token", "word_embedding_all_minilm_l6_v2"]
    assert df["text"].tolist() == ["I love NLP"] * 3 + ["Hi there"] * 2
    assert df.index.name is None and list(df.index) == [0, 0, 0, 1, 1]
    plain = minilm.predict(["I love NLP"], convention="nlu5")
    assert "text" not in plain.columns  # strings and lists: no text column, as NLU


def test_nlu_examples_user_column_named_like_an_nlu_column_is_kept(minilm):
    frame = pd.DataFrame({"body": ["I love NLP"], "text": ["mine"], "token_begin": [7]})
    with pytest.warns(UserWarning, match="new names"):
        df = minilm.predict(frame, text_column="body", positions=True, convention="nlu5")
    assert df["text"].tolist() == ["I love NLP"] * 3
    assert "mine" in df.filter(like="text_").iloc[0].tolist()
    assert 7 in df.filter(like="token_begin_").iloc[0].tolist()


@pytest.mark.parametrize("level", ["token", "sentence", "document"])
def test_nlu_examples_user_column_named_like_the_vector_column_is_kept(minilm, level):
    """At document level a word model's vectors are its token matrices, added after the pooled
    columns; a user's column of that name is kept under a new name there too."""
    name = "word_embedding_all_minilm_l6_v2"
    frame = pd.DataFrame({"text": ["I love NLP", "Hi"], name: ["mine 1", "mine 2"]})
    with pytest.warns(UserWarning, match="new names"):
        df = minilm.predict(frame, output_level=level, convention="nlu5")
    assert df[f"{name}_input"].drop_duplicates().tolist() == ["mine 1", "mine 2"]
    assert all(np.asarray(v).shape[-1] == 384 for v in df[name])


def test_nlu_examples_convention_from_the_environment(minilm, monkeypatch):
    monkeypatch.setenv("NLU_LITE_CONVENTION", "nlu5")
    df = minilm.predict("I love NLP")
    assert "word_embedding_all_minilm_l6_v2" in df.columns and df.attrs["convention"] == "nlu5"
    monkeypatch.setenv("NLU_LITE_CONVENTION", "nlu6")
    with pytest.raises(nlu_lite.InvalidOptionError, match="NLU_LITE_CONVENTION"):
        minilm.predict("I love NLP")
    monkeypatch.delenv("NLU_LITE_CONVENTION")
    assert "en_embed_all_minilm_l6_v2_embeddings" in minilm.predict("I love NLP").columns


def test_nlu_examples_nlu5_result_written_to_output_path(minilm, tmp_path):
    pytest.importorskip("pyarrow")
    out = tmp_path / "nlu.parquet"
    df = minilm.predict(["I love NLP"], output_path=str(out), positions=True, convention="nlu5")
    back = pd.read_parquet(out)
    assert list(back.columns) == ["origin_index", *df.columns]  # files keep the index as a column
    assert back["token_end"].tolist() == [0, 5, 9]


# --- Spark NLP's tokenizer ----------------------------------------------------------------------


def test_nlu_examples_spark_tokens_with_exact_vectors(minilm):
    """tokenizer='spark_nlp': Spark NLP's tokens (New-York whole, don't whole, punctuation split
    off), each with the vector of its first piece, the same number the model's own words give."""
    text = "I love New-York. Don't (really) go!"
    df = minilm.predict(text, tokenizer="spark_nlp", positions=True)
    assert df["token"].tolist() == [text[b:e] for b, e in spark_nlp_spans(text)]
    assert df["token"].tolist() == ["I", "love", "New-York", ".", "Don't", "(", "really", ")", "go", "!"]
    assert [text[b:e] for b, e in zip(df["begin"], df["end"], strict=True)] == df["token"].tolist()
    words = minilm.predict(text, positions=True)  # the model's words: New, -, York, ...
    by_begin = dict(zip(words["begin"], words["en_embed_all_minilm_l6_v2_embeddings"], strict=True))
    for begin, vector in zip(df["begin"], df["en_embed_all_minilm_l6_v2_embeddings"], strict=True):
        np.testing.assert_array_equal(vector, by_begin[begin])  # first piece: the same vector


def test_nlu_examples_spark_tokens_keep_every_token(minilm):
    """A token the model's tokenizer makes no piece of still gets its row (no vector, as NLU pads)."""
    text = "a \u200b b"
    df = minilm.predict(text, tokenizer="spark_nlp")
    assert df["token"].tolist() == ["a", "\u200b", "b"]
    assert df["en_embed_all_minilm_l6_v2_embeddings"].isna().tolist() == [False, True, False]


def test_nlu_examples_spark_tokens_mean_pooling_and_metadata(minilm):
    text = "New-York"
    df = minilm.predict(text, tokenizer="spark_nlp", word_pooling="mean", metadata=True)
    pieces = minilm.predict(text, output_level="sub_token")
    np.testing.assert_allclose(
        df["en_embed_all_minilm_l6_v2_embeddings"].iloc[0],
        np.mean(np.stack(pieces["en_embed_all_minilm_l6_v2_embeddings"]), axis=0),
        rtol=1e-5,
        atol=1e-6,
    )
    assert df["pieces"].tolist() == [len(pieces)]


def test_nlu_examples_tokenizer_option_is_checked(minilm):
    with pytest.raises(nlu_lite.InvalidOptionError, match="tokenizer"):
        minilm.predict("x", tokenizer="spacy")
    with pytest.raises(nlu_lite.InvalidOptionError, match="convention"):
        minilm.predict("x", convention="nlu4")


# --- the rest of NLU's documented surface -------------------------------------------------------


def test_nlu_examples_predict_embeds_list_of_lists(minilm_sentence):
    """basic_predictions_tests.py: predict_embeds of 3 strings has 3 vectors; of one string, 1."""
    vectors = minilm_sentence.predict_embeds(["a", "b", "c"])
    assert isinstance(vectors, list) and len(vectors) == 3 and isinstance(vectors[0], list)
    assert len(vectors[0]) == 384 and isinstance(vectors[0][0], float)
    assert len(minilm_sentence.predict_embeds("hello world")) == 1


def test_nlu_examples_lock_file_is_json(tmp_path):
    file = nlu_lite.lock(tmp_path / "x.lock")
    assert json.loads(file.read_text())["nlu_lite_lock"] == 1


def test_nlu_examples_spark_tokens_tokenize_once(minilm, monkeypatch):
    """Spark NLP's tokens reuse the model's pieces the pipeline already made (vectors and metadata)."""
    from nlu_lite.engine.encoder import Encoder

    calls = []
    original = Encoder.tokenize
    monkeypatch.setattr(Encoder, "tokenize", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    df = minilm.predict("New-York, don't go!", tokenizer="spark_nlp", metadata=True)
    assert len(calls) == 1
    assert df["pieces"].tolist() == [3, 1, 3, 1, 1]
