"""Token classification: each word's tag and score are transformers' token-classification
pipeline's at the word's first piece; chunks are NerConverter's IOB merge, exact text and
offsets, whole across window boundaries; typed refusals."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from conftest import NER_TAGS

from nlu_lite.errors import InvalidOptionError
from nlu_lite.tasks.tagging import merge_chunks

TEXTS = ["John Smith works at Acme Corp in Berlin.", "Ünïcode café naïve résumé.", ""]


def test_tagging_equals_transformers_pipeline_at_each_words_first_piece(task_pipes):
    from transformers import pipeline

    pipe = task_pipes["ner"]
    enc = pipe.encoders[0]
    reference = pipeline("token-classification", model=enc.model, tokenizer=enc.components.tokenizer, ignore_labels=[])
    df = pipe.predict(TEXTS[:2], positions=True)
    for i, text in enumerate(TEXTS[:2]):
        by_start: dict[int, dict] = {}
        for piece in reference(text):  # every piece; a word's first is the first with its start
            by_start.setdefault(piece["start"], piece)
        rows = df.loc[[i]]
        assert "".join(rows["token"]) == "".join(text.split())  # every word kept, as written
        for _, row in rows.iterrows():
            ref = by_start[row["begin"]]
            assert row["en_ner_tests_tiny_label"] == ref["entity"]
            assert abs(row["en_ner_tests_tiny_confidence"] - ref["score"]) <= 1e-5
    assert set(df["en_ner_tests_tiny_label"].dropna()) <= set(NER_TAGS)


def test_tagging_keeps_empty_inputs_as_one_row(task_pipes):
    df = task_pipes["pos"].predict(TEXTS)
    assert df.index.unique().tolist() == [0, 1, 2]
    assert df.loc[2, "token"] == "" and np.isnan(df.loc[2, "en_pos_tests_tiny_confidence"])


@pytest.mark.parametrize(
    ("tags", "breaks", "chunks"),
    [
        (["B-PER", "I-PER", "O", "B-LOC"], [1, 0, 0, 0], [(0, 1, "PER"), (3, 3, "LOC")]),
        (["I-PER", "I-PER"], [1, 0], [(0, 1, "PER")]),  # an I- with none in progress starts one
        (["B-PER", "I-LOC", "I-LOC"], [1, 0, 0], [(0, 2, "PER")]),  # another type's I- goes on
        (["B-PER", "B-PER"], [1, 0], [(0, 0, "PER"), (1, 1, "PER")]),  # a B- ends the chunk before
        (["B-PER", "I-PER", "I-PER"], [1, 0, 1], [(0, 1, "PER"), (2, 2, "PER")]),  # not across sentences
        (["S-ORG", "B-PER", "E-PER", "I-PER"], [1, 0, 0, 0], [(0, 0, "ORG"), (1, 2, "PER"), (3, 3, "PER")]),
        (["B_PER", None, "O", "O"], [1, 0, 0, 0], [(0, 0, "PER")]),
        ([], [], []),
    ],
)
def test_tagging_iob_merge_table(tags, breaks, chunks):
    assert merge_chunks(tags, np.asarray(breaks, dtype=bool)) == chunks


def test_tagging_chunks_follow_the_token_tags(task_pipes):
    pipe = task_pipes["ner"]
    text = " ".join(["John Smith works at Acme Corp in Berlin."] * 5)  # many windows of 16 positions
    tokens = pipe.predict(text, positions=True)
    chunks = pipe.predict(text, output_level="chunk", positions=True)
    breaks = np.r_[True, tokens["sentence_id"].to_numpy()[1:] != tokens["sentence_id"].to_numpy()[:-1]]
    expected = merge_chunks(tokens["en_ner_tests_tiny_label"].tolist(), breaks)
    assert len(chunks) == max(len(expected), 1)
    conf = tokens["en_ner_tests_tiny_confidence"].to_numpy()
    for (_, row), (first, last, kind) in zip(chunks.iterrows(), expected, strict=True):
        assert row["begin"] == tokens["begin"].iloc[first] and row["end"] == tokens["end"].iloc[last]
        assert row["chunk"] == text[row["begin"] : row["end"]]  # exactly as written
        assert row["en_ner_tests_tiny_label"] == kind
        assert abs(row["en_ner_tests_tiny_confidence"] - conf[first : last + 1].mean()) <= 1e-9


@contextlib.contextmanager
def _every_word_tagged(pipe, tag: str):
    """The tagger's head made to give ``tag`` to every piece (its weights restored afterwards)."""
    import torch

    head = pipe.encoders[0].model.classifier
    saved = head.weight.detach().clone(), head.bias.detach().clone()
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(-50.0)
        head.bias[NER_TAGS.index(tag)] = 50.0
    try:
        yield
    finally:
        with torch.no_grad():
            head.weight.copy_(saved[0])
            head.bias.copy_(saved[1])


def test_tagging_an_entity_across_a_window_boundary_is_one_chunk(task_pipes):
    """With every word tagged I-PER, each sentence is one chunk, however many windows it spans."""
    pipe = task_pipes["ner"]
    text = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau"
    enc = pipe.encoders[0]
    assert len(enc.windows(enc.tokenize([text]), 0.25).start) > 1
    with _every_word_tagged(pipe, "I-PER"):
        chunks = pipe.predict([text, "no entity here"], output_level="chunk")
    assert chunks.loc[0, "chunk"] == text
    assert chunks.loc[0, "en_ner_tests_tiny_label"] == "PER"
    assert chunks.loc[1, "chunk"] == "no entity here"  # every word I-PER there too


def test_tagging_chunks_need_iob_tags(task_pipes):
    with pytest.raises(InvalidOptionError, match="IOB"):
        task_pipes["pos"].predict("I love NLP", output_level="chunk")


def test_tagging_an_input_without_entities_keeps_a_row(task_pipes):
    with _every_word_tagged(task_pipes["ner"], "O"):
        chunks = task_pipes["ner"].predict(["nothing to see", ""], output_level="chunk")
    assert chunks.index.tolist() == [0, 1] and chunks["chunk"].tolist() == ["", ""]


@pytest.mark.parametrize(
    ("option", "value"), [("word_pooling", "mean"), ("layers", 0), ("pooling", "cls"), ("convention", "nlu5")]
)
def test_tagging_refuses_options_without_meaning(task_pipes, option, value):
    with pytest.raises(InvalidOptionError, match=option):
        task_pipes["ner"].predict("I love NLP", **{option: value})


@pytest.mark.parametrize("level", ["sentence", "document", "sub_token"])
def test_tagging_refuses_levels_it_lacks(task_pipes, level):
    with pytest.raises(InvalidOptionError, match="output_level"):
        task_pipes["ner"].predict("I love NLP", output_level=level)


def test_tagging_viz_highlights_the_entities(task_pipes):
    """NLU's pipe.viz / nlu.viz: the chunks as highlighted HTML, each entity's text marked with
    its class; labels_to_viz keeps only those classes."""
    import nlu_lite

    pipe = task_pipes["ner"]
    text = "John Smith works at Acme Corp in Berlin."
    with _every_word_tagged(pipe, "B-PER"):
        html = pipe.viz(text, return_html=True)
        shown = nlu_lite.viz(pipe, text)
        none = pipe.viz(text, labels_to_viz=["LOC"], return_html=True)
    assert html.count("<mark") == len(pipe.predict(text)) and ">PER<" in html  # a B- per word: each its own
    assert shown._repr_html_() == html
    assert "<mark" not in none and "Berlin" in none


def test_tagging_viz_is_for_taggers(task_pipes, tiny):
    from nlu_lite.errors import NotInNluLiteError

    with pytest.raises(NotInNluLiteError, match="NER tagger"):
        task_pipes["sentiment"].viz("I love NLP")
    with pytest.raises(NotInNluLiteError, match="viz_type='ner'"):
        task_pipes["ner"].viz("I love NLP", viz_type="dep")
