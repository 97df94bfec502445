"""The predict contract: every input shape, every level, pooling and layer choice, nothing lost.

Expected values are computed by hand from the tiny model's hidden states (transformers called
directly, no nlu_lite code), so these tests check what predict() promises, not how it does it.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY_REPO, TINY_REVISION, snapshot

import nlu_lite
from nlu_lite.errors import InvalidInputError, InvalidOptionError

TINY = "en_embed_tests_tiny_embeddings"
MINI = "en_embed_all_minilm_l6_v2_embeddings"


@pytest.fixture(scope="session")
def ref(tiny):
    """The tiny model and tokenizer, straight from transformers."""
    from transformers import AutoModel, AutoTokenizer

    snap = snapshot(TINY_REPO, TINY_REVISION)
    return AutoTokenizer.from_pretrained(snap), AutoModel.from_pretrained(snap).eval()


def hidden(ref, text: str):
    """(word ids, hidden_states tuple, pooler output, attention length) of one short text."""
    tok, model = ref
    enc = tok(text, return_tensors="pt", split_special_tokens=True)
    assert enc["input_ids"].shape[1] <= 16, "reference texts must fit the tiny model's window"
    with torch.no_grad():
        out = model(**enc, output_hidden_states=True)
    return enc.word_ids(0), [h[0].numpy() for h in out.hidden_states], out.pooler_output[0].numpy()


def word_groups(word_ids):
    groups: dict[int, list[int]] = {}
    for pos, w in enumerate(word_ids):
        if w is not None:
            groups.setdefault(w, []).append(pos)
    return list(groups.values())


def combine(states, layers, how):
    picked = [states[i] for i in ([layers] if isinstance(layers, int) else layers)]
    if len(picked) == 1:
        return picked[0]
    if how == "concat":
        return np.concatenate(picked, axis=-1)
    stacked = np.stack(picked)
    return stacked.mean(0) if how == "mean" else stacked.sum(0)


TEXTS = ["I love NLP", "Tokenization isn't easy!", "Zürich café"]


# ---------------------------------------------------------------- inputs


@pytest.mark.parametrize(
    ("make", "labels"),
    [
        (lambda t: t, [0, 1, 2]),
        (lambda t: tuple(t), [0, 1, 2]),
        (lambda t: np.array(t), [0, 1, 2]),
        (lambda t: np.array(t, dtype=object), [0, 1, 2]),
        (lambda t: pd.Series(t, index=["a", "b", "c"]), ["a", "b", "c"]),
        (lambda t: pd.Series(t, index=[7, 7, 3]), [7, 7, 3]),
        (lambda t: pd.DataFrame({"text": t}, index=["x", "y", "z"]), ["x", "y", "z"]),
        (lambda t: pd.DataFrame({"id": [1, 2, 3], "body": t}), [0, 1, 2]),
        (lambda t: pd.Series(t, dtype="string", index=pd.Index(["p", "q", "r"], name="doc")), ["p", "q", "r"]),
    ],
)
def test_predict_input_types(tiny, make, labels):
    df = tiny.predict(make(TEXTS), output_level="document")
    assert list(df.index) == labels
    assert list(df["document"]) == TEXTS
    expected = tiny.predict(TEXTS, output_level="document")
    np.testing.assert_allclose(np.stack(df[TINY]), np.stack(expected[TINY]), atol=1e-6)


def test_predict_single_string(tiny):
    df = tiny.predict("I love NLP")
    assert list(df.index) == [0, 0, 0] and df.index.name == "origin_index"


def test_predict_index_labels_repeat_per_token(tiny):
    data = pd.Series(["a b", "c", "d e f"], index=["k1", "k1", "k2"])
    df = tiny.predict(data, output_level="token")
    assert list(df.index) == ["k1", "k1", "k1", "k2", "k2", "k2"]
    assert list(df["token"]) == ["a", "b", "c", "d", "e", "f"]


def test_predict_dataframe_text_column_and_carried_columns(tiny):
    frame = pd.DataFrame({"id": [10, 20], "body": ["a b", "c"], "lang": ["en", "de"]}, index=["r1", "r2"])
    df = tiny.predict(frame, text_column="body")
    assert list(df["id"]) == [10, 10, 20] and list(df["lang"]) == ["en", "en", "de"]
    assert list(df.index) == ["r1", "r1", "r2"]
    slim = tiny.predict(frame, text_column="body", keep_columns=False)
    assert "id" not in slim.columns and "lang" not in slim.columns
    with pytest.raises(InvalidOptionError, match="text_column"):
        tiny.predict(frame, text_column="nope")
    with pytest.raises(InvalidInputError, match="text_column"):
        tiny.predict(pd.DataFrame({"n": [1, 2]}))


def test_predict_dataframe_picks_a_column_that_holds_text(tiny):
    # pandas calls any object column a string dtype: an all-None field (JSON records where it is
    # always missing) or a column of Decimals before the text must not be taken for the text
    from decimal import Decimal

    records = pd.DataFrame([{"title": None, "body": "a b"}, {"title": None, "body": "c"}])
    df = tiny.predict(records, output_level="document")
    assert list(df["document"]) == ["a b", "c"] and list(df["title"]) == [None, None]
    prices = pd.DataFrame(
        {"price": [Decimal("1.5"), Decimal("2")], "empty": pd.array([None, None], dtype="string"), "body": ["a b", "c"]}
    )
    df = tiny.predict(prices, output_level="document")
    assert list(df["document"]) == ["a b", "c"] and list(df["price"]) == [Decimal("1.5"), Decimal("2")]


def test_predict_carried_column_named_like_output(tiny):
    frame = pd.DataFrame({"text": ["a b"], "token": ["mine"]})
    df = tiny.predict(frame)
    assert list(df["token"]) == ["a", "b"] and list(df["token_input"]) == ["mine", "mine"]


@pytest.mark.parametrize("level", ["token", "sub_token", "sentence", "document"])
def test_predict_null_rows_accounted(tiny, level):
    data = pd.Series(["a b.", None, float("nan"), "", " \t\n", "c"], index=list("uvwxyz"))
    df = tiny.predict(data, output_level=level)
    assert set(df.index) == set("uvwxyz")
    for label in "vwxy":
        rows = df.loc[[label]]
        assert len(rows) == 1 and rows[level].iloc[0] == "" and rows[TINY].iloc[0] is None


def test_predict_non_text_values(tiny):
    with pytest.raises(TypeError, match="'b'"):
        tiny.predict(pd.Series(["ok", 5], index=["a", "b"]))
    df = tiny.predict(["ok", 5, b"bytes \xc3\xa9"], errors="coerce", output_level="document")
    assert list(df["document"]) == ["ok", "5", "bytes é"]
    with pytest.raises(InvalidOptionError):
        tiny.predict(["ok"], errors="ignore")
    with pytest.raises(InvalidInputError):
        tiny.predict(np.array([["a", "b"]]))


# ---------------------------------------------------------------- levels, pooling, layers


@pytest.mark.parametrize("word_pooling", ["first", "mean", "last"])
@pytest.mark.parametrize(
    ("layers", "how"), [(-1, "mean"), (0, "mean"), (1, "mean"), ([1, 2], "mean"), ([1, 3], "sum"), ([0, 3], "concat")]
)
def test_predict_token_vectors_by_hand(tiny, ref, word_pooling, layers, how):
    df = tiny.predict(TEXTS, output_level="token", word_pooling=word_pooling, layers=layers, layer_combine=how)
    for i, text in enumerate(TEXTS):
        word_ids, states, _ = hidden(ref, text)
        lay = [(x % 4) for x in ([layers] if isinstance(layers, int) else layers)]
        h = combine(states, lay if len(lay) > 1 else lay[0], how)
        groups = word_groups(word_ids)
        pick = {"first": lambda g: h[g[0]], "last": lambda g: h[g[-1]], "mean": lambda g: h[g].mean(0)}
        expected = np.stack([pick[word_pooling](g) for g in groups])
        got = np.stack(df.loc[[i], TINY].tolist())
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_predict_sub_token_vectors_by_hand(tiny, ref):
    df = tiny.predict(TEXTS, output_level="sub_token", positions=True)
    for i, text in enumerate(TEXTS):
        word_ids, states, _ = hidden(ref, text)
        body = [p for p, w in enumerate(word_ids) if w is not None]
        np.testing.assert_allclose(np.stack(df.loc[[i], TINY].tolist()), states[-1][body], atol=1e-5)


@pytest.mark.parametrize("pooling", ["mean", "cls", "pooler", "max"])
@pytest.mark.parametrize("level", ["document", "sentence"])
def test_predict_pooled_vectors_by_hand(tiny, ref, pooling, level):
    df = tiny.predict(TEXTS, output_level=level, pooling=pooling)
    for i, text in enumerate(TEXTS):
        _, states, pooler = hidden(ref, text)
        h = states[-1]
        expected = {"mean": h.mean(0), "cls": h[0], "pooler": pooler, "max": h.max(0)}[pooling]
        np.testing.assert_allclose(df.loc[i, TINY], expected, atol=1e-5)


def test_predict_sentence_level_encodes_each_sentence(tiny, ref):
    text = "Dr. Smith arrived at 3.30 p.m. today. He said \u201cHi.\u201d Then he left!"
    df = tiny.predict(text, output_level="sentence", positions=True)
    assert list(df["sentence"]) == [
        "Dr. Smith arrived at 3.30 p.m. today.",
        "He said \u201cHi.\u201d",
        "Then he left!",
    ]
    for _, row in df.iterrows():
        assert text[row["begin"] : row["end"]] == row["sentence"]
    _, states, _ = hidden(ref, "Then he left!")
    np.testing.assert_allclose(df[TINY].iloc[2], states[-1].mean(0), atol=1e-5)


def test_predict_sentence_splitter_callable(tiny):
    text = "one; two; three"
    df = tiny.predict(text, output_level="sentence", sentence_splitter=lambda t: t.split("; "), positions=True)
    assert list(df["sentence"]) == ["one", "two", "three"]
    assert [(b, e) for b, e in zip(df["begin"], df["end"])] == [(0, 3), (5, 8), (10, 15)]
    spans = tiny.predict(text, output_level="sentence", sentence_splitter=lambda t: [(0, 8), (10, 15)])
    assert list(spans["sentence"]) == ["one; two", "three"]
    with pytest.raises(InvalidOptionError, match="sentence_splitter"):
        tiny.predict(text, output_level="sentence", sentence_splitter=lambda t: ["absent"])
    toks = tiny.predict(text, sentence_splitter=lambda t: t.split("; "))
    assert list(toks["sentence_id"]) == [0, -1, 1, -1, 2]  # the ';' the splitter left out are in no sentence


def test_predict_token_rows_carry_sentence_id(tiny):
    df = tiny.predict(["One two. Three four! Five", "Six"], positions=True)
    assert list(df["sentence_id"]) == [0, 0, 0, 1, 1, 1, 2, 0]


def test_predict_metadata_counts(tiny):
    long_text = " ".join(["tokenization"] * 20)  # 2 pieces per word, 40 pieces: 4 windows of 14
    df = tiny.predict(["I love NLP", long_text], metadata=True)
    assert list(df.loc[0, "pieces"]) == [1, 1, 2]
    assert set(df.loc[1, "pieces"]) == {2}
    assert set(df.loc[0, "input_pieces"]) == {4} and set(df.loc[0, "input_windows"]) == {1}
    assert set(df.loc[1, "input_pieces"]) == {40} and set(df.loc[1, "input_windows"]) == {4}
    doc = tiny.predict(["I love NLP", long_text], metadata=True, output_level="document")
    assert list(doc["pieces"]) == [4, 40] and list(doc["input_windows"]) == [1, 4]
    # the same counts whichever tokens make the rows, and without vectors
    spark = tiny.predict(["I love NLP", long_text], metadata=True, tokenizer="spark_nlp")
    assert set(spark.loc[1, "input_pieces"]) == {40} and set(spark.loc[1, "input_windows"]) == {4}
    bare = tiny.predict(["I love NLP", long_text], metadata=True, output_level="document", get_embeddings=False)
    assert list(bare["input_windows"]) == [1, 4]


def test_predict_early_layers_stop_the_forward(tiny, tiny_torch):
    """On either engine, layers=1 never runs the second layer; the last layer runs it once."""
    for pipe in (tiny, tiny_torch):
        enc = pipe.encoders[0]
        assert enc.can_stop_early
        calls: list[int] = []
        if enc.engine == "torch":
            handle = enc.model.encoder.layer[1].register_forward_hook(lambda *a: calls.append(1))
            undo = handle.remove
        else:
            layer2 = enc.runner.layers[1]
            finish = layer2.finish
            layer2.finish = lambda *a, finish=finish: calls.append(1) or finish(*a)

            def undo(layer2=layer2):
                del layer2.finish

        try:
            pipe.predict("I love NLP", layers=1)
            assert calls == []
            pipe.predict("I love NLP", layers=-1)
            assert calls == [1]
        finally:
            undo()


def test_predict_bad_layer_and_options(tiny):
    for bad in (4, -5, [], "last", [1.5]):
        with pytest.raises(InvalidOptionError, match="layers"):
            tiny.predict("x", layers=bad)
    with pytest.raises(InvalidOptionError, match="layer_combine"):
        tiny.predict("x", layers=[1, 2], layer_combine="max")
    with pytest.raises(InvalidOptionError, match="word_pooling"):
        tiny.predict("x", word_pooling="middle")
    with pytest.raises(InvalidOptionError, match="embedding_format"):
        tiny.predict("x", embedding_format="list")


# ---------------------------------------------------------------- invariants


def test_predict_every_pretokenized_word_once(tiny, ref):
    tok, _ = ref
    texts = ["Hello,   world! It's 3.14 -- isn't it?", "naïve café résumé", "e-mail me: a@b.co", "tab\tand\nnewline"]
    df = tiny.predict(texts, positions=True)
    for i, text in enumerate(texts):
        enc = tok(text, add_special_tokens=False, return_offsets_mapping=True, split_special_tokens=True)
        spans: dict[int, list[int]] = {}
        for w, (b, e) in zip(enc.word_ids(), enc["offset_mapping"]):
            spans.setdefault(w, [b, e])
            spans[w][1] = e
        rows = df.loc[[i]]
        assert [(b, e) for b, e in zip(rows["begin"], rows["end"])] == [tuple(v) for v in spans.values()]
        for _, row in rows.iterrows():
            assert text[row["begin"] : row["end"]] == row["token"]


def test_predict_batch_size_one_equals_large(tiny, minilm):
    texts = [" ".join(f"w{j}" for j in range(n)) for n in (3, 40, 1, 17, 8, 60)]
    for pipe, col in ((tiny, TINY), (minilm, MINI)):
        a = pipe.predict(texts, batch_size=1)
        b = pipe.predict(texts, batch_size=64)
        assert list(a["token"]) == list(b["token"])
        np.testing.assert_allclose(np.stack(a[col]), np.stack(b[col]), atol=1e-5)


def test_predict_shuffled_input_same_rows(tiny):
    texts = [f"text number {i} " + "word " * (i % 7) for i in range(30)]
    series = pd.Series(texts, index=[f"id{i}" for i in range(30)])
    order = list(range(30))
    random.Random(3).shuffle(order)
    a = tiny.predict(series)
    b = tiny.predict(series.iloc[order])
    for label in series.index:
        ra, rb = a.loc[[label]], b.loc[[label]]
        assert list(ra["token"]) == list(rb["token"])
        np.testing.assert_allclose(np.stack(ra[TINY]), np.stack(rb[TINY]), atol=1e-5)


def test_predict_20000_word_document(tiny, ref):
    words = [f"w{i % 997}x" for i in range(20_000)]
    text = " ".join(words)
    df = tiny.predict(text, output_level="token", positions=True, metadata=True)
    assert len(df) == 20_000 + 0 and list(df["token"]) == words  # every word, in order
    assert (df["begin"].to_numpy()[1:] > df["begin"].to_numpy()[:-1]).all()
    vecs = np.stack(df[TINY])
    assert not np.isnan(vecs).any()
    # the window that owns a word is centred on it: rebuild that window by hand, far inside the text
    enc = tiny.encoders[0]
    pieces = enc.tokenize([text])
    from nlu_lite.engine.pieces import plan_windows

    windows = plan_windows(pieces, enc.capacity)
    word_starts = set(pieces.word_start.tolist())
    # a window deep inside whose centre piece begins a word
    w = next(
        k
        for k in range(len(windows) // 2, len(windows))
        if int(windows.start[k] + windows.length[k] // 2) in word_starts
    )
    start, length = int(windows.start[w]), int(windows.length[w])
    centre = start + length // 2
    assert windows.piece_window[centre] == w and start > 10_000
    word = int(np.searchsorted(pieces.word_start, centre, side="right") - 1)
    tok, model = ref
    ids = torch.tensor([[tok.cls_token_id, *pieces.ids[start : start + length].tolist(), tok.sep_token_id]])
    with torch.no_grad():
        h = model(input_ids=ids).last_hidden_state[0].numpy()
    np.testing.assert_allclose(vecs[word], h[1 + centre - start], atol=1e-5)


def test_predict_long_document_pooled_over_windows(tiny):
    text = " ".join(["alpha beta gamma"] * 30)
    doc = tiny.predict(text, output_level="document", metadata=True)
    assert doc["input_windows"].iloc[0] > 1
    assert not np.isnan(doc[TINY].iloc[0]).any()


def test_predict_minilm_long_document_keeps_all_words(minilm):
    words = [f"word{i % 50}" for i in range(2_000)]
    df = minilm.predict(" ".join(words), metadata=True)
    assert list(df["token"]) == words
    assert df["input_windows"].iloc[0] > 10


# ---------------------------------------------------------------- several models, formats, provenance


def test_predict_several_spellings_one_frame(tiny, minilm, use_tiny):
    both = nlu_lite.load("en.embed.tests.tiny en.embed.all_minilm_l6_v2")
    for level in ("token", "sub_token", "sentence", "document"):
        df = both.predict(TEXTS, output_level=level)
        assert TINY in df.columns and MINI in df.columns
        alone_t = tiny.predict(TEXTS, output_level=level)
        alone_m = minilm.predict(TEXTS, output_level=level)
        assert list(df[level]) == list(alone_t[level]) == list(alone_m[level])
        np.testing.assert_allclose(np.stack(df[TINY]), np.stack(alone_t[TINY]), atol=1e-5)
        np.testing.assert_allclose(np.stack(df[MINI]), np.stack(alone_m[MINI]), atol=1e-5)
    for word_pooling in ("mean", "last"):  # the second model pools its own pieces the same way
        df = both.predict(TEXTS, output_level="token", word_pooling=word_pooling)
        alone_m = minilm.predict(TEXTS, output_level="token", word_pooling=word_pooling)
        first_m = minilm.predict(TEXTS, output_level="token", word_pooling="first")
        np.testing.assert_allclose(np.stack(df[MINI]), np.stack(alone_m[MINI]), atol=1e-5)
        assert not np.allclose(np.stack(alone_m[MINI]), np.stack(first_m[MINI]))  # a word of several pieces


def test_predict_embedding_formats(tiny):
    arr = tiny.predict(["a b", None], output_level="token")
    exp = tiny.predict(["a b", None], output_level="token", embedding_format="expand")
    assert [f"{TINY}_{i}" for i in range(32)] == [c for c in exp.columns if c.startswith(TINY)]
    assert all(exp[f"{TINY}_{i}"].dtype == np.float32 for i in range(32))
    np.testing.assert_array_equal(exp.iloc[:2][[f"{TINY}_{i}" for i in range(32)]].to_numpy(), np.stack(arr[TINY][:2]))
    assert exp.iloc[2][[f"{TINY}_{i}" for i in range(32)]].isna().all()
    frame, matrix = tiny.predict(["a b", None], output_level="token", embedding_format="numpy")
    assert TINY not in frame.columns and matrix.dtype == np.float32 and matrix.shape == (3, 32)
    assert np.isnan(matrix[2]).all() and list(frame["token"]) == ["a", "b", ""]


def test_predict_provenance_attrs(tiny):
    df = tiny.predict("a b", output_level="document", pooling="max", layers=[1, 2])
    attrs = df.attrs
    assert attrs["spellings"] == ["en.embed.tests.tiny"]
    assert attrs["repos"] == [TINY_REPO] and attrs["revisions"] == [TINY_REVISION]
    assert attrs["output_level"] == "document" and attrs["pooling"] == ["max"] and attrs["layers"] == [1, 2]
    assert attrs["max_length"] == [16] and attrs["dtype"] == "float32" and attrs["device"] == "cpu"
    assert {"torch", "transformers", "python"} <= set(attrs["versions"]) and attrs["nlu_lite_version"]


def test_predict_window_owner_is_most_central():
    """Each piece is owned by the window where it is furthest from an edge (checked exhaustively)."""
    from nlu_lite.engine.pieces import Pieces, plan_windows

    for n, cap in ((1, 5), (5, 5), (6, 5), (37, 8), (100, 14), (1000, 510)):
        starts = np.array([0, n])
        pieces = Pieces(
            np.zeros(n, np.int64),
            np.arange(n),
            np.arange(n) + 1,
            starts,
            np.arange(n + 1),
            np.zeros(n, np.int64),
            starts,
        )
        w = plan_windows(pieces, cap)
        assert w.start[0] == 0 and (w.start + w.length).max() == n  # the windows cover every piece
        for p in range(n):
            own = w.piece_window[p]
            margin = lambda k: min(p - w.start[k], w.start[k] + w.length[k] - 1 - p)  # noqa: E731
            assert w.start[own] <= p < w.start[own] + w.length[own]
            assert margin(own) == max(margin(k) for k in range(len(w)))


@pytest.mark.parametrize(
    "options",
    [
        {"overlap": "0.5"},
        {"overlap": None},
        {"overlap": [0.5]},
        {"layers": 1.0},
        {"layers": None},
        {"layers": {0, 1}},  # no order for concat
        {"layers": iter([0, 1])},  # used up after one call
        {"output_level": "sentence", "sentence_splitter": lambda t: t},  # a str: one row per character
        {"output_level": "sentence", "sentence_splitter": lambda t: None},
        {"output_level": "sentence", "sentence_splitter": lambda t: [(0.0, 1.0)]},
        {"output_level": "sentence", "sentence_splitter": lambda t: [("0", "1")]},
        {"output_level": "document", "pooling": "pooler", "layers": [-2, -1], "layer_combine": "concat"},
        {"output_level": "document", "pooling": "pooler", "layers": 0},  # the pooler reads the last layer
    ],
)
def test_predict_odd_option_values_are_typed(tiny, options):
    with pytest.raises(
        InvalidOptionError, match=next(k for k in ("sentence_splitter", "layers", "overlap") if k in options)
    ):
        tiny.predict("a b. c d.", **options)


def test_predict_numpy_numbers_are_taken(tiny):
    import numpy as np

    plain = tiny.predict("a b", layers=[0, -1])
    same = tiny.predict("a b", layers=np.array([0, -1]), batch_size=np.int64(8), overlap=np.float32(0.25))
    np.testing.assert_array_equal(np.stack(plain.iloc[:, -1]), np.stack(same.iloc[:, -1]))


def test_predict_sentence_id_outside_every_sentence_is_minus_one(tiny):
    """A custom splitter may leave text out: its words have sentence_id -1, whatever other rows
    hold (they took the nearest sentence, or 0, depending on the other inputs)."""
    none_for_hello = lambda t: [] if t.startswith("Hello") else [t]  # noqa: E731
    assert tiny.predict(["Hello world"], sentence_splitter=none_for_hello)["sentence_id"].tolist() == [-1, -1]
    both = tiny.predict(["Hello world", "Other text."], sentence_splitter=none_for_hello)
    assert both["sentence_id"].tolist() == [-1, -1, 0, 0, 0]
    middle = tiny.predict("Hello world foo. Second one here", sentence_splitter=lambda t: [(6, 15)])
    assert middle["sentence_id"].tolist() == [-1, 0, 0, -1, -1, -1, -1]
