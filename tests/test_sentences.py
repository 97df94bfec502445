"""The rule-based sentence splitter, as a table."""

from __future__ import annotations

import pytest

from nlu_lite.sentences import split_spans


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
