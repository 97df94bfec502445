"""NLU drop-in: NLU's names resolve to the model NLU loads, or say why they cannot; NLU's
keywords and helpers work as NLU documents them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import nlu_lite
from nlu_lite.errors import NoEquivalentError
from nlu_lite.hub.registry import get_registry

# NLU 5.4.1's embedding names (extracted from its wheel; a copy of the shared file, kept in the repo)
SPELLBOOK = Path(__file__).resolve().parents[2] / "tools" / "nlu_namespace" / "spellbook_embeddings.json"


def _nlu_names() -> dict[str, str]:
    """NLU 5.4.1's en/xx embedding names and aliases → the John Snow Labs model each loads."""
    if not SPELLBOOK.is_file():
        pytest.skip(f"{SPELLBOOK} is not here")
    book = json.loads(SPELLBOOK.read_text())
    names = {k: v for k, v in book["models"].items() if k.split(".")[0] in ("en", "xx")}
    names.update(book["aliases"])
    return names


def test_nlu_compat_every_resolving_name_is_nlus_model():
    """0 wrong: a name that resolves loads the John Snow Labs model NLU loads for it, or that
    model's Hugging Face original (two imports of one repository share one entry and column)."""
    import sys

    tools = Path(__file__).resolve().parents[2] / "tools" / "nlu_namespace"
    sys.path.insert(0, str(tools))
    try:
        import namespace_coverage
    finally:
        sys.path.remove(str(tools))
    result = namespace_coverage.classify(_nlu_names())
    wrong = [f"{name}: {detail}" for name, (kind, detail) in result.items() if kind == "wrong"]
    assert wrong == []
    shared = [
        n for n, (kind, _) in result.items() if kind == "same" and get_registry().find(n).nlu_model != _nlu_names()[n]
    ]
    assert shared == ["en.embed.distilroberta_base"]


@pytest.mark.parametrize(
    ("name", "nlu_model", "spelling"),
    [
        ("en.embed_sentence.bert", "sent_bert_base_uncased", "en.embed_sentence.bert.base_uncased"),
        ("embed_sentence.bert", "sent_small_bert_L2_128", "en.embed_sentence.small_bert_L2_128"),
        ("en.embed.distilbert", "distilbert_base_cased", "en.embed.distilbert.base_cased"),
        ("bert", "small_bert_L2_128", "en.embed.bert.small_L2_128"),
        ("en.embed.bert", "bert_base_uncased", "en.embed.bert.base_uncased"),
    ],
)
def test_nlu_compat_pinned_aliases(name, nlu_model, spelling):
    assert _nlu_names()[name] == nlu_model
    entry = nlu_lite.resolve(name)
    assert (entry.spelling, entry.nlu_model) == (spelling, nlu_model)


def test_nlu_compat_sentence_bert_is_bert_base():
    entry = nlu_lite.resolve("en.embed_sentence.bert")
    assert (entry.dimension, entry.layers, entry.pooling, entry.case_sensitive) == (768, 12, "pooler", False)
    assert nlu_lite.resolve("en.embed.distilbert").case_sensitive is True


@pytest.mark.parametrize("name", ["biobert", "en.embed.biobert", "embed.biobert"])
def test_nlu_compat_biobert_v10_is_not_replaced_by_v11(name):
    assert _nlu_names()[name] == "biobert_pubmed_base_cased"
    with pytest.raises(NoEquivalentError, match=r"en\.embed\.biobert\.base_cased_v1_1") as info:
        nlu_lite.resolve(name)
    assert "en.embed.biobert.base_cased_v1_1" in info.value.suggestions


# --- NLU's predict() and load() keywords ---------------------------------------------------------


def test_nlu_compat_predict_keywords_positional_as_nlu(tiny, tmp_path):
    """predict(data, output_level, output_path, positions, keep_stranger_features, metadata, …)."""
    pytest.importorskip("pyarrow")
    import pandas as pd

    frame = pd.DataFrame({"text": ["I love NLP", "Second one"], "label": [1, 0]})
    out = tmp_path / "result.parquet"
    df = tiny.predict(frame, "token", str(out), True, False, True)
    assert list(df.columns[:4]) == ["token", "sentence_id", "begin", "end"]
    assert "label" not in df.columns and "pieces" in df.columns  # keep_stranger_features=False, metadata
    back = pd.read_parquet(out)
    assert list(back["token"]) == list(df["token"])
    kept = tiny.predict(frame, output_level="document", keep_stranger_features=True)
    assert list(kept["label"]) == [1, 0]
    assert tiny.predict("x y", output_level="", multithread=False)["token"].tolist() == ["x", "y"]


def test_nlu_compat_get_embeddings_and_irrelevant_cols(tiny):
    df = tiny.predict(["I love NLP. Yes."], output_level="token", get_embeddings=False)
    assert not any(str(c).endswith("_embeddings") for c in df.columns)
    assert df["token"].tolist() == ["I", "love", "NLP", ".", "Yes", "."]
    with_doc = tiny.predict(["I love NLP. Yes."], output_level="sentence", drop_irrelevant_cols=False)
    assert list(with_doc["document"]) == ["I love NLP. Yes.", "I love NLP. Yes."]
    assert "document" not in tiny.predict(["a b"], output_level="sentence").columns


@pytest.mark.parametrize("level", ["token", "sub_token", "sentence", "document"])
def test_nlu_compat_get_embeddings_false_runs_no_model_and_keeps_the_users_columns(tiny, monkeypatch, level):
    """NLU's get_embeddings=False: the rows and every other column of the full result, no model
    run for them, and a user's own column that merely looks like a vector column kept as it is."""
    import numpy as np
    import pandas as pd

    from nlu_lite.engine.encoder import Encoder

    frame = pd.DataFrame(
        {"text": ["I love NLP. Yes it is.", "ok", ""], "my_embeddings": [1, 2, 3], "label": ["a", "b", "c"]}
    )
    full = tiny.predict(frame, output_level=level, metadata=True, positions=True)

    def no_model(*args, **kwargs):
        raise AssertionError("a model ran for get_embeddings=False")

    monkeypatch.setattr(Encoder, "encode", no_model)
    bare = tiny.predict(frame, output_level=level, metadata=True, positions=True, get_embeddings=False)
    vectors = [c for c in full.columns if c not in bare.columns]
    assert vectors == [tiny.encoders[0].entry.column]
    pd.testing.assert_frame_equal(bare, full.drop(columns=vectors))
    assert "my_embeddings" in bare.columns
    rows, matrix = tiny.predict(["a b"], output_level=level, get_embeddings=False, embedding_format="numpy")
    assert matrix.shape == (len(rows), 0) and matrix.dtype == np.float32
    nlu = tiny.predict(frame, output_level=level, positions=True, convention="nlu5", get_embeddings=False)
    assert not [c for c in nlu.columns if "embedding" in str(c) and c != "my_embeddings"]
    assert nlu.attrs["vector_columns"] == []


def test_nlu_compat_parser_keywords_are_refused(tiny):
    from nlu_lite.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError, match="not applicable to embeddings"):
        tiny.predict("x", parser_output=True)
    with pytest.raises(InvalidOptionError, match="not applicable to embeddings"):
        tiny.predict("x", parser_config={"a": 1})


def test_nlu_compat_load_keywords(use_tiny, caplog):
    import logging

    from nlu_lite.errors import InvalidOptionError

    with caplog.at_level(logging.INFO, logger="nlu_lite"):
        pipe = nlu_lite.load("en.embed.tests.tiny", verbose=True, streamlit_caching=True, get_tracer=True)
    assert any("en.embed.tests.tiny" in r.getMessage() for r in caplog.records)
    assert pipe.nlu_ref == "en.embed.tests.tiny"
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(InvalidOptionError, match="no CUDA GPU"):
            nlu_lite.load("en.embed.tests.tiny", gpu=True)
    with pytest.raises(InvalidOptionError, match="not both"):
        nlu_lite.load("en.embed.tests.tiny", gpu=True, apple_silicon=True)
    assert nlu_lite.load(request="en.embed.tests.tiny").encoders[0].entry.spelling == "en.embed.tests.tiny"


def test_nlu_compat_load_with_a_request_and_a_path(tmp_path):
    """NLU's offline recipe: nlu.load('<name>', path=folder) loads the folder, and the request
    names the pipeline (its nlu_ref, NLU 5's column names); 'from_disk' is NLU's placeholder."""
    minilm = nlu_lite.load("en.embed.all_minilm_l6_v2")
    folder = minilm.save(tmp_path / "saved")
    pipe = nlu_lite.load("en.embed.bert.small_L2_128", path=folder)
    assert pipe.nlu_ref == "en.embed.bert.small_L2_128" and pipe.encoders[0].entry.dimension == 384
    assert "word_embedding_bert" in pipe.predict("I love NLP", convention="nlu5").columns  # named by the request
    assert nlu_lite.load("from_disk", path=folder).nlu_ref == minilm.nlu_ref
    plain = nlu_lite.load("my.model", path=minilm.encoders[0].components.folder)
    assert plain.nlu_ref == "my.model"


def test_nlu_compat_nlu_only_names_say_what_to_use(tiny):
    """NLU's functions and pipe attributes that nlu_lite has no counterpart for: a typed error (an
    AttributeError, so hasattr stays False) that says what to use instead, not a bare one."""
    from nlu_lite.errors import NotInNluLiteError

    with pytest.raises(NotInNluLiteError, match="verbose=True"):
        nlu_lite.enable_verbose()
    with pytest.raises(NotInNluLiteError, match="print_components"):
        nlu_lite.print_all_nlu_components_for_lang("en")
    with pytest.raises(NotInNluLiteError, match=r"nlu_lite\.plot"):
        tiny.viz("I love NLP")
    with pytest.raises(NotInNluLiteError, match="predict"):
        tiny["bert_embeddings@small_bert"].setCaseSensitive(True)
    assert not hasattr(tiny, "keys") and not hasattr(nlu_lite, "to_pretty_df")
    with pytest.raises(AttributeError, match="no attribute 'nonsense'") as info:
        tiny.nonsense
    assert not isinstance(info.value, NotInNluLiteError)


def test_nlu_compat_predict_embeds(tiny):
    vectors = tiny.predict_embeds(["I love NLP", None, "x"])
    assert len(vectors) == 3 and vectors[1] is None and len(vectors[0]) == 32
    assert all(isinstance(x, float) for x in vectors[0])
    doc = tiny.predict(["I love NLP"], output_level="document")
    assert vectors[0] == pytest.approx(doc.iloc[0, -1].tolist())


def test_nlu_compat_predict_embeds_under_the_nlu5_convention(tiny, monkeypatch):
    vectors = tiny.predict_embeds(["I love NLP"])
    monkeypatch.setenv("NLU_LITE_CONVENTION", "nlu5")  # the whole-process switch: its column names differ
    assert tiny.predict_embeds(["I love NLP"])[0] == pytest.approx(vectors[0])


# --- discovery helpers and save/load ---------------------------------------------------------------


def test_nlu_compat_discovery_helpers(capsys):
    nlu_lite.print_components(lang="en", action="embed_sentence")
    out = capsys.readouterr().out
    assert "nlu_lite.load('en.embed_sentence.bert') returns en.embed_sentence.bert.base_uncased" in out
    assert "en.embed.bert.small_L2_256" not in out
    nlu_lite.print_all_languages()
    assert capsys.readouterr().out.split(", ")[0] in ("en", "xx")
    nlu_lite.print_all_model_kinds_for_action("embed")
    out = capsys.readouterr().out
    assert "For language <en>" in out and "en.embed.bert.small_L2_256" in out
    assert "en.embed.bert.small_L2_256" in nlu_lite.get_components("small_L2")
    assert nlu_lite.get_components("zzz") == [] and len(nlu_lite.get_components(get_all=True)) > 70
    assert nlu_lite.version() == nlu_lite.__version__


def test_nlu_compat_pipeline_helpers(tiny, capsys):
    assert tiny.nlu_ref == "en.embed.tests.tiny"
    assert tiny.components[0]["spelling"] == "en.embed.tests.tiny"
    tiny.print_info(minimal=False)
    out = capsys.readouterr().out
    assert "case_sensitive" in out and "from registry tests.yaml" in out and "predict() options" in out


@pytest.mark.parametrize("level", ["token", "sub_token", "sentence", "document"])
def test_nlu_compat_save_and_load_back(minilm_sentence, tmp_path, level):
    import numpy as np

    folder = tmp_path / "saved"
    minilm_sentence.save(folder)
    back = nlu_lite.load(path=folder)
    assert back.nlu_ref == minilm_sentence.nlu_ref
    texts = ["I love NLP. It is fun.", "", "Second text"]
    a = minilm_sentence.predict(texts, output_level=level)
    b = back.predict(texts, output_level=level)
    assert list(a.columns) == list(b.columns) and list(a.index) == list(b.index)
    col = a.columns[-1]
    for x, y in zip(a[col], b[col], strict=True):
        assert (x is None and y is None) or np.array_equal(x, y)
    # saving again over it replaces it whole; a folder that is not a saved pipeline is refused
    back.save(folder)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "file.txt").write_text("mine")
    from nlu_lite.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError):
        back.save(tmp_path / "other")
    assert (tmp_path / "other" / "file.txt").read_text() == "mine"
