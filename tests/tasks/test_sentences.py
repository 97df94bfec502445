"""The rule-based sentence splitter, as a table."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlu_lite.tasks.sentences import split_spans


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("One. Two.", ["One.", "Two."]),
        ("Dr. Smith met Mrs. Jones. They talked.", ["Dr. Smith met Mrs. Jones.", "They talked."]),
        ("It costs 3.50 dollars. Cheap!", ["It costs 3.50 dollars.", "Cheap!"]),
        ("See e.g. the U.S. report. Then stop.", ["See e.g. the U.S. report.", "Then stop."]),
        ("J. R. R. Tolkien wrote books. Many.", ["J. R. R. Tolkien wrote books.", "Many."]),
        ('"Stop!" she said. "Now." Then he left.', ['"Stop!" she said.', '"Now."', "Then he left."]),
        ("Really?! Yes... I think so.", ["Really?!", "Yes...", "I think so."]),
        ("ends without punctuation", ["ends without punctuation"]),
        ("lower case. after a dot stays", ["lower case. after a dot stays"]),
        ("Title\n\nBody text here.", ["Title", "Body text here."]),
        ("我爱自然语言处理。你呢？好的", ["我爱自然语言处理。", "你呢？", "好的"]),
        ("  padded.   Spaces.  ", ["padded.", "Spaces."]),
        ("", []),
        ("   \n ", []),
        ("Version 2.0 is out. Get it.", ["Version 2.0 is out.", "Get it."]),
        ("He said (quietly.) Then left.", ["He said (quietly.)", "Then left."]),
    ],
)
def test_sentences_split(text, sentences):
    spans = split_spans(text)
    assert [text[b:e] for b, e in spans] == sentences


@pytest.mark.parametrize("text", ["A. B. C.", "x.y.z", "... ... ...", "Mr.\n\nMrs.", "?!?!", "a\u2026 B"])
def test_sentences_cover_every_character(text):
    spans = split_spans(text)
    covered = "".join(text[b:e] for b, e in spans)
    assert covered.replace(" ", "") == "".join(text.split())
    assert all(e > b for b, e in spans)
    assert all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1))


# ---------------------------------------------------------------- many texts at once


def _one_by_one(texts: list[str]) -> list[tuple[int, int, int]]:
    return [(i, b, e) for i, t in enumerate(texts) for b, e in split_spans(t)]


def _many(texts: list[str]) -> list[tuple[int, int, int]]:
    from nlu_lite.tasks.sentences import split_spans_many

    inputs, begin, end = split_spans_many(texts)
    assert inputs.dtype == begin.dtype == end.dtype == np.int64
    return list(zip(inputs.tolist(), begin.tolist(), end.tolist(), strict=True))


# the characters the splitter cares about, and some it must not confuse with them
_ALPHABET = [
    *"aZ .!?…。！？\n\t\r\"')]”,;:-3",
    "\u00a0",
    "\u2028",
    "\u3000",
    "\ud800",
    "\U0001f600",
    "é",
    "日",
    "Dr. ",
    "U.S. ",
]


@settings(max_examples=600, deadline=None)
@given(texts=st.lists(st.lists(st.sampled_from(_ALPHABET), max_size=30).map("".join), max_size=12))
def test_split_spans_many_equals_split_spans_on_each_text(texts):
    from nlu_lite.tasks.sentences import _split_array

    assert _many(texts) == _one_by_one(texts)
    # the array pass itself, which split_spans_many leaves to texts past FEW_TEXTS
    inputs, begin, end = _split_array(texts)
    assert list(zip(inputs.tolist(), begin.tolist(), end.tolist(), strict=True)) == _one_by_one(texts)


def test_split_spans_many_tables_and_edges():
    table = [
        "One. Two.",
        "ends without punctuation",
        "one sentence.",
        "  padded.   Spaces.  ",
        "",
        "   \n ",
        "Wow!!",
        "Title\n\nBody text here.",
        "我爱自然语言处理。你呢？好的",
        "lone \ud800 surrogate.",
    ]
    assert _many(table) == _one_by_one(table)
    assert _many([]) == []
    assert _many(["", "  "]) == []


def test_character_flags_hold_every_space_and_cut_character():
    from nlu_lite.tasks.sentences import _CUT, _SPACE, _TABLE_SIZE, _char_flags

    assert not any(chr(c).isspace() for c in range(0x3001, 0x110000))
    flags = _char_flags()
    assert len(flags) == _TABLE_SIZE
    assert [c for c in range(_TABLE_SIZE) if flags[c] & _SPACE] == [c for c in range(_TABLE_SIZE) if chr(c).isspace()]
    assert {chr(c) for c in range(_TABLE_SIZE) if flags[c] & _CUT} == set(".!?…。！？\n")


def test_split_spans_many_splits_long_texts_on_their_own():
    """Texts past LONG_TEXT go through split_spans one by one (the array pass would cost ~20 bytes
    per character at once); the spans are the same, in text order, mixed with short texts."""
    import random

    from nlu_lite.tasks.sentences import FEW_TEXTS, LONG_TEXT, split_spans, split_spans_many

    rng = random.Random(0)
    words = ["Hello", "world.", "Dr.", "Smith", "went", "home!", "\n\n", "Is", "it?", "ok", ""]
    lengths = (0, 3, 30_000, 1, 12_000, 50, 0, 7, 2, 9, 4)
    texts = [" ".join(rng.choice(words) for _ in range(n)) for n in lengths]
    assert max(map(len, texts)) > LONG_TEXT > min(map(len, texts)) and len(texts) > FEW_TEXTS
    expected = [(t, b, e) for t, text in enumerate(texts) for b, e in split_spans(text)]
    for part in (texts, texts[:3]):  # the array pass, and the few texts split one by one
        inputs, begin, end = split_spans_many(part)
        got = list(zip(inputs.tolist(), begin.tolist(), end.tolist(), strict=True))
        assert got == [x for x in expected if x[0] < len(part)]
