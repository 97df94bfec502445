"""Text classification: the labels and scores of transformers' own text-classification pipeline,
one row per sentence or document, long texts in windows whose logits are averaged, multi-label
models by sigmoid and threshold, and typed refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SENTIMENT, TOXIC

from nlu_lite.errors import InvalidOptionError

SHORT = ["I love NLP.", "This is terrible!", "The weather is fine today.", "Quite an average film."]


def _hf_pipeline(pipe):
    from transformers import pipeline

    enc = pipe.encoders[0]
    return pipeline("text-classification", model=enc.model, tokenizer=enc.components.tokenizer, top_k=None)


def test_classify_equals_transformers_pipeline(task_pipes):
    pipe = task_pipes["sentiment"]
    df = pipe.predict(SHORT, output_level="document", metadata=True)
    reference = _hf_pipeline(pipe)(SHORT)
    assert df.index.tolist() == [0, 1, 2, 3]
    for (_, row), ref in zip(df.iterrows(), reference, strict=True):
        best = max(ref, key=lambda r: r["score"])
        assert row["en_classify_tests_sentiment_label"] == best["label"]
        assert abs(row["en_classify_tests_sentiment_confidence"] - best["score"]) <= 1e-5
        for r in ref:  # every class's score, on request
            assert abs(row[f"en_classify_tests_sentiment_{r['label']}"] - r["score"]) <= 1e-5
    assert set(df["en_classify_tests_sentiment_label"]) <= set(SENTIMENT)


def test_classify_sentence_rows_are_each_sentence_classified(task_pipes):
    pipe = task_pipes["sentiment"]
    text = "I love NLP. This is terrible! The weather is fine today."
    df = pipe.predict(text)  # the entry's default level: sentence
    assert df["sentence"].tolist() == ["I love NLP.", "This is terrible!", "The weather is fine today."]
    alone = pipe.predict(df["sentence"].tolist(), output_level="document")
    assert df["en_classify_tests_sentiment_label"].tolist() == alone["en_classify_tests_sentiment_label"].tolist()
    np.testing.assert_allclose(
        df["en_classify_tests_sentiment_confidence"], alone["en_classify_tests_sentiment_confidence"], atol=1e-6
    )


def test_classify_long_text_is_the_mean_of_its_windows_logits(task_pipes):
    """A text longer than the model's window (16 positions here) is classified whole: each window
    run as its own input, the logits averaged, the scores from the mean."""
    import torch

    pipe = task_pipes["sentiment"]
    enc = pipe.encoders[0]
    text = " ".join(["the quick brown fox jumps over the lazy dog"] * 6)
    df = pipe.predict(text, output_level="document", metadata=True)
    pieces = enc.tokenize([text], spans=False)
    windows = enc.windows(pieces, 0.25)
    assert len(windows.start) > 1
    logits = []
    for start, length in zip(windows.start.tolist(), windows.length.tolist(), strict=True):
        ids = [*enc.prefix, *pieces.ids[start : start + length].tolist(), *enc.suffix]
        with torch.no_grad():
            logits.append(enc.model(input_ids=torch.tensor([ids])).logits[0].double().numpy())
    mean = np.mean(logits, axis=0)
    probs = np.exp(mean - mean.max()) / np.exp(mean - mean.max()).sum()
    assert df["en_classify_tests_sentiment_label"][0] == SENTIMENT[int(np.argmax(probs))]
    for i, name in enumerate(SENTIMENT):
        assert abs(df[f"en_classify_tests_sentiment_{name}"][0] - probs[i]) <= 1e-5
    assert df["input_windows"][0] == len(windows.start)


def test_classify_multi_label_gives_the_classes_above_the_threshold(task_pipes):
    from nlu_lite.tasks.classification import MULTI_LABEL_THRESHOLD

    pipe = task_pipes["toxic"]
    df = pipe.predict(SHORT, metadata=True)
    reference = _hf_pipeline(pipe)(SHORT)  # sigmoid scores for a multi-label config
    for (_, row), ref in zip(df.iterrows(), reference, strict=True):
        expected = sorted((r for r in ref if r["score"] >= MULTI_LABEL_THRESHOLD), key=lambda r: -r["score"])
        assert row["en_classify_tests_toxic_label"] == [r["label"] for r in expected]
        np.testing.assert_allclose(row["en_classify_tests_toxic_confidence"], [r["score"] for r in expected], atol=1e-5)
        for r in ref:
            assert abs(row[f"en_classify_tests_toxic_{r['label']}"] - r["score"]) <= 1e-5
    assert set().union(*df["en_classify_tests_toxic_label"]) <= set(TOXIC)


def test_classify_keeps_every_input_row_and_index(task_pipes):
    pipe = task_pipes["sentiment"]
    frame = pd.DataFrame({"text": ["Great!", "", None, "   ", "Bad."], "id": [1, 2, 3, 4, 5]}, index=list("abcde"))
    df = pipe.predict(frame, output_level="document", errors="coerce")
    assert df.index.tolist() == list("abcde") and df["id"].tolist() == [1, 2, 3, 4, 5]
    labels = df["en_classify_tests_sentiment_label"].tolist()
    assert labels[0] in SENTIMENT and labels[4] in SENTIMENT
    assert pd.isna(labels[1]) and pd.isna(labels[3])  # no text: no label (missing), the row kept
    assert df["en_classify_tests_sentiment_confidence"].isna().tolist() == [False, True, True, True, False]


@pytest.mark.parametrize(
    ("option", "value"),
    [("pooling", "mean"), ("prompt", "query"), ("layers", 1), ("embedding_format", "numpy"), ("convention", "nlu5")],
)
def test_classify_refuses_embedding_options(task_pipes, option, value):
    with pytest.raises(InvalidOptionError, match=option):
        task_pipes["sentiment"].predict("I love NLP", **{option: value})


@pytest.mark.parametrize("level", ["token", "sub_token", "chunk"])
def test_classify_refuses_levels_it_lacks(task_pipes, level):
    with pytest.raises(InvalidOptionError, match="output_level"):
        task_pipes["sentiment"].predict("I love NLP", output_level=level)


def test_classify_mixed_with_embeddings_is_refused(task_registry, monkeypatch):
    import nlu_lite

    monkeypatch.setenv("NLU_LITE_REGISTRY", str(task_registry))
    with pytest.raises(InvalidOptionError, match="one task"):
        nlu_lite.load("en.classify.tests.sentiment en.embed.all_minilm_l6_v2")


def test_classify_runs_on_the_head_runner(task_pipes):
    assert task_pipes["sentiment"].components[0]["engine"] == "torch-head"
    assert type(task_pipes["sentiment"].encoders[0].model).__name__ == "BertForSequenceClassification"


def test_classify_stand_in_warns_once_records_and_can_be_refused(task_registry, monkeypatch):
    """An NLU name whose own model has no transformers equivalent loads a model of the same task:
    one warning naming both, the substitution in df.attrs, and NLU_LITE_STAND_INS=refuse refuses."""
    import warnings

    import nlu_lite
    from nlu_lite import factory
    from nlu_lite.errors import NoEquivalentError

    monkeypatch.setenv("NLU_LITE_REGISTRY", str(task_registry))
    monkeypatch.setattr(factory, "_WARNED", set())
    with pytest.warns(UserWarning, match="sentimentdl_tests.*en.classify.tests.sentiment"):
        pipe = nlu_lite.load("tests_sentiment")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nlu_lite.load("tests_sentiment")  # once
    df = pipe.predict("I love NLP")
    assert df.attrs["stand_ins"] == {
        "tests_sentiment": {"nlu_model": "sentimentdl_tests", "loaded": "en.classify.tests.sentiment"}
    }
    assert nlu_lite.load("en.classify.tests.sentiment").predict("x").attrs["stand_ins"] == {}
    monkeypatch.setenv("NLU_LITE_STAND_INS", "refuse")
    with pytest.raises(NoEquivalentError, match=r"en\.classify\.tests\.sentiment"):
        nlu_lite.load("tests_sentiment")
