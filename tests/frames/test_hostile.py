"""Hostile inputs at every level: nothing crashes, hangs, loses a row or a word, or yields NaN.

Invariants checked for every case and level:
- every input row shows up (null/blank/unembeddable rows as one empty row);
- token level: each word of the tokenizer's own pre-tokenisation (its word ids and offsets) is a
  row exactly once, in order;
- every row's text is ``input[begin:end]``;
- no vector holds a NaN or an infinity.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from nlu_lite.errors import InvalidInputError

COL = "en_embed_tests_tiny_embeddings"
LEVELS = ["token", "sub_token", "sentence", "document"]

CASES: dict[str, object] = {
    "none": None,
    "nan": float("nan"),
    "numpy nan": np.float64("nan"),
    "pandas NA": pd.NA,
    "empty": "",
    "space": " ",
    "whitespace mix": " \t\n\r\x0b\x0c ",
    "only punctuation": "...!!!???,,,;;;",
    "control characters": "a\x00b\x01c\x07d\x1b[31m",
    "only control characters": "\x00\x01\x02",
    "zero-width space": "zero\u200bwidth\u200bspace",
    "only zero-width": "\u200b\u200c\u200d\ufeff",
    "zero-width joiners": "a\u200db\u200cc",
    "byte order mark": "\ufeffBOM at start",
    "combining accents": "e\u0301te\u0301 cafe\u0301 n\u0303",
    "lone combining mark": "\u0301",
    "emoji": "I 😀 NLP 🚀🚀",
    "emoji zwj sequence": "family 👨\u200d👩\u200d👧\u200d👦 here",
    "emoji skin tones": "thumbs 👍🏽 👍🏿",
    "flags": "🇫🇷🇩🇪 flags",
    "cjk": "我爱自然语言处理。你呢？",
    "japanese": "日本語のテキストです。カタカナ。",
    "korean": "한국어 텍스트입니다.",
    "thai (no spaces)": "ฉันรักการประมวลผลภาษาธรรมชาติ",
    "arabic": "أحب معالجة اللغات الطبيعية.",
    "hebrew": "אני אוהב עיבוד שפה טבעית.",
    "bidi overrides": "abc\u202edcba\u202c \u2066isolate\u2069",
    "mixed scripts": "Hello世界مرحباПривет123",
    "literal special tokens": "[CLS] [SEP] [MASK] [PAD] [UNK] <s></s> <pad>",
    "tabs crlf": "a\tb\r\nc\rd\ne",
    "10,000-character word": "x" * 10_000,
    "long word with spaces": ("y" * 5_000 + " ") * 3,
    "html with entities": "<p>Caf&eacute; &amp; <b>bar</b> &lt;tag&gt; &#x1F600;</p>",
    "url and email": "see https://example.com/a?b=c&d=e or mail me@example.org",
    "numbers": "3.14159 1,000,000 -42 1e-10 0x1F",
    "repeated newlines": "\n\n\nA\n\n\nB\n\n\n",
    "lone surrogate": "bad \ud800 surrogate",
    "private use": "\ue000\uf8ff private",
    "math symbols": "∀x∈ℝ: x² ≥ 0 ∑∫∂",
    "nbsp and ideographic space": "a\u00a0b\u3000c",
    "replacement chars": "\ufffd\ufffd broken",
    "very long sentence": " ".join(["word"] * 700),
    "quotes": "\u201cQuoted.\u201d \u2018Single.\u2019 \"ASCII.\" 'x.'",
}


def check(frame: pd.DataFrame, inputs: list, level: str, tok) -> None:
    labels = list(range(len(inputs)))
    assert sorted(set(frame.index)) == labels, "an input row went missing"
    texts = ["" if (v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA) else v for v in inputs]
    for label in labels:
        rows = frame.loc[[label]]
        for text_value, begin, end in zip(rows[level], rows["begin"], rows["end"], strict=True):
            assert texts[label][begin:end] == text_value
        vecs = [v for v in rows[COL] if v is not None]
        if vecs:
            assert np.isfinite(np.stack(vecs)).all()
        if level == "token" and texts[label].strip():
            enc = tok.backend_tokenizer
            # lone surrogates cannot reach the tokenizer: nlu_lite replaces them by U+FFFD, one for one
            clean = re.sub("[\ud800-\udfff]", "\ufffd", texts[label])
            e = enc.encode(clean, add_special_tokens=False)
            spans: dict[int, list[int]] = {}
            for w, (b, en) in zip(e.word_ids, e.offsets, strict=True):
                if w is None:
                    continue
                spans.setdefault(w, [b, en])
                spans[w][1] = max(spans[w][1], en)
            got = [(b, en) for b, en, t in zip(rows["begin"], rows["end"], rows[level], strict=True) if t != ""]
            assert got == [tuple(v) for v in spans.values()], "words lost, split or duplicated"


@pytest.fixture(scope="module")
def tok(tiny):
    from conftest import TINY_REPO, TINY_REVISION, snapshot
    from transformers import AutoTokenizer

    t = AutoTokenizer.from_pretrained(snapshot(TINY_REPO, TINY_REVISION))
    t.backend_tokenizer.encode_special_tokens = True
    t.backend_tokenizer.no_padding()
    t.backend_tokenizer.no_truncation()
    return t


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("name", list(CASES))
def test_hostile_case(tiny, tok, name, level):
    inputs = ["before", CASES[name], "after"]
    frame = tiny.predict(inputs, output_level=level, positions=True)
    check(frame, inputs, level, tok)


@pytest.mark.parametrize("level", LEVELS)
def test_hostile_all_cases_in_one_call(tiny, tok, level):
    inputs = list(CASES.values())
    frame = tiny.predict(inputs, output_level=level, positions=True, batch_size=7)
    check(frame, inputs, level, tok)


@pytest.mark.parametrize("level", LEVELS)
def test_hostile_one_megabyte_document(tiny, level):
    paragraph = "The quick brown fox jumps over the lazy dog. Dr. Smith paid $3.50! Ünïcödé, 日本語. "
    text = paragraph * (1_000_000 // len(paragraph) + 1)
    frame = tiny.predict(text, output_level=level, positions=True, metadata=True)
    assert set(frame.index) == {0}
    assert frame["input_windows"].iloc[0] > 1
    sample = frame.iloc[:: max(1, len(frame) // 500)]
    for text_value, b, e in zip(sample[level], sample["begin"], sample["end"], strict=True):
        assert text[b:e] == text_value
    assert np.isfinite(np.stack(frame[COL].iloc[:: max(1, len(frame) // 200)])).all()


@pytest.mark.parametrize("level", LEVELS)
def test_hostile_ten_thousand_one_char_rows(tiny, level):
    rows = [chr(ord("a") + i % 26) if i % 3 else "." for i in range(10_000)]
    frame = tiny.predict(rows, output_level=level)
    assert frame.index.nunique() == 10_000
    assert len(frame) == 10_000


@pytest.mark.parametrize(
    ("value", "coerced"),
    [(b"bytes \xc3\xa9", "bytes é"), (b"\xff\xfe", "\ufffd\ufffd"), (42, "42"), (3.5, "3.5"), (True, "True")],
)
def test_hostile_non_text_values(tiny, value, coerced):
    with pytest.raises(InvalidInputError, match="position 1"):
        tiny.predict(["ok", value])
    with pytest.raises(TypeError):  # the typed error is a TypeError too
        tiny.predict(["ok", value])
    frame = tiny.predict(["ok", value], errors="coerce", output_level="document")
    assert frame["document"].iloc[1] == coerced


def test_hostile_nested_and_odd_containers(tiny):
    with pytest.raises(InvalidInputError):
        tiny.predict([["nested", "list"]])
    with pytest.raises(InvalidInputError):
        tiny.predict({"a": "dict"})
    assert len(tiny.predict([], output_level="document")) == 0
    assert len(tiny.predict(pd.Series([], dtype=object))) == 0
