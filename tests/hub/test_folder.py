"""A model from a folder or ``hf:`` gives the vectors its own files define, and the same as the
same snapshot loaded by spelling.

Each family of the registry is written as a small random model with a real tokenizer of its kind
(BERT WordPiece uncased and cased, byte-level BPE for RoBERTa, SentencePiece-style Unigram for
XLNet and ALBERT) into the offline hub cache under a pinned revision, then loaded three ways.
Sentence-transformers folders are written by sentence-transformers itself (Pooling, Dense,
Normalize, prompts) and compared with its ``encode``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import minilm_dir, snapshot
from model_families import CORPUS, _bpe_tokenizer, _write_family

import nlu_lite
from nlu_lite.errors import InvalidOptionError, ModelLoadError
from nlu_lite.hub.folder import read_folder

LEVELS = ("token", "sub_token", "sentence", "document")
LONG = " ".join(["The quick brown fox jumps over the lazy dog again and again."] * 20)
TEXTS = [*CORPUS, "", LONG, "Dr. Smith went to Washington. He LOVED it!"]
REVISION = "fedcba9876543210fedcba9876543210fedcba98"


FAMILIES = ("bert_uncased", "bert_cased", "roberta", "xlnet", "albert")


@pytest.fixture(scope="module")
def family_registry(tmp_path_factory):
    """Each family's snapshot in the offline cache and a registry entry that states only what it
    must (no casing, no length: those come from the files)."""
    folder = tmp_path_factory.mktemp("family_registry")
    lines = ["family: filetests", "defaults: {language: en, licence: mit, description: d, task: embed}", "models:"]
    for family in FAMILIES:
        snap = snapshot(f"nlu-lite-tests/{family}", REVISION)
        if not (snap / "config.json").exists():
            _write_family(snap, family)
        dim = 32
        lines.append(
            f"  - {{spelling: en.embed.filetests.{family}, dimension: {dim}, layers: 2, "
            f"source: {{hf: nlu-lite-tests/{family}, revision: {REVISION}}}}}"
        )
    (folder / "filetests.yaml").write_text("\n".join(lines) + "\n")
    return folder


def _frames(pipe: nlu_lite.Pipeline, level: str, **options):
    df = pipe.predict(TEXTS, output_level=level, positions=True, **options)
    column = next(c for c in df.columns if c.endswith("_embeddings"))
    vectors = np.stack(
        [v if isinstance(v, np.ndarray) else np.full(pipe.encoders[0].entry.dimension, np.nan) for v in df[column]]
    )
    return df.drop(columns=[column]), vectors


def _assert_same(a: nlu_lite.Pipeline, b: nlu_lite.Pipeline, **options) -> None:
    for level in LEVELS:
        frame_a, vec_a = _frames(a, level, **options)
        frame_b, vec_b = _frames(b, level, **options)
        assert frame_a.equals(frame_b), level
        np.testing.assert_array_equal(vec_a, vec_b, err_msg=level)


@pytest.mark.parametrize("model_type", ["roberta", "mpnet", "data2vec-text", "xlm-roberta-xl"])
def test_positions_after_the_padding_index_bound_the_windows(tmp_path, model_type):
    """RoBERTa's kin number positions from padding_idx + 1: 66 position embeddings hold 64 pieces.
    A long text in a folder whose tokenizer claims 512 is cut into windows of 64, not run into an
    index error inside the model."""
    from transformers import AutoConfig, AutoModel

    tok = _bpe_tokenizer()
    small = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 64}
    config = AutoConfig.for_model(model_type, vocab_size=len(tok), max_position_embeddings=66, pad_token_id=1, **small)
    AutoModel.from_config(config).save_pretrained(tmp_path)
    tok.model_max_length = 512  # what such a tokenizer usually claims, more than the positions hold
    tok.save_pretrained(tmp_path)
    pipe = nlu_lite.load(path=tmp_path)
    assert pipe.encoders[0].max_length == 64
    text = " ".join(CORPUS) * 3
    df = pipe.predict(text, output_level="document", metadata=True)
    assert df["input_windows"].iloc[0] > 1 and df.iloc[:, 1].notna().all()
    assert df.attrs["settings_from"][0]["max_length"] == "config.json"


@pytest.mark.parametrize("family", FAMILIES)
def test_spelling_path_and_hf_give_the_same_rows_and_vectors(family_registry, monkeypatch, family):
    monkeypatch.setenv("NLU_LITE_REGISTRY", str(family_registry))
    by_spelling = nlu_lite.load(f"en.embed.filetests.{family}")
    snap = snapshot(f"nlu-lite-tests/{family}", REVISION)
    by_path = nlu_lite.load(path=snap)
    by_hf = nlu_lite.load(f"hf:nlu-lite-tests/{family}@{REVISION}")
    _assert_same(by_spelling, by_path)
    _assert_same(by_spelling, by_hf)
    words = by_path.predict("I love NLP")["token"].tolist()
    assert "".join(words).replace(" ", "") == "IloveNLP"
    entry = by_path.encoders[0].entry
    # RoBERTa and XLNet tokenizers keep case; ALBERT's lower-cases (do_lower_case), as albert-base-v2
    assert entry.case_sensitive is (family not in ("bert_uncased", "albert"))
    assert dict(entry.settings_from)["case_sensitive"] == "tokenizer files"


def test_cased_and_uncased_folders_keep_their_own_casing(family_registry):
    """Casing comes from the tokenizer's configuration, never from a guess."""
    uncased = nlu_lite.load(path=snapshot("nlu-lite-tests/bert_uncased", REVISION))
    cased = nlu_lite.load(path=snapshot("nlu-lite-tests/bert_cased", REVISION))
    assert uncased.encoders[0].entry.case_sensitive is False
    assert cased.encoders[0].entry.case_sensitive is True
    # the uncased vocabulary knows 'nl' + '##p' for 'NLP'; read cased it would be [UNK]
    pieces = uncased.predict("I love NLP", output_level="sub_token", metadata=True)
    assert pieces["sub_token"].tolist() == ["I", "love", "NL", "P"]
    ids = uncased.encoders[0].components.tokenizer("I love NLP")["input_ids"]
    assert uncased.encoders[0].components.tokenizer.unk_token_id not in ids


# --- sentence-transformers folders -------------------------------------------------------


def _st_folder(
    folder: Path,
    pooling: str = "mean",
    dense: int | None = None,
    normalize: bool | str = True,
    activation: str = "Tanh",
    **kwargs,
):
    """A sentence-transformers model written by sentence-transformers itself on the real MiniLM;
    ``normalize='before dense'`` puts the Normalize module between Pooling and Dense."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Dense, Normalize, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    torch.manual_seed(2)
    modules = [Transformer(str(minilm_dir()), max_seq_length=kwargs.pop("max_seq_length", 256))]
    modules.append(Pooling(384, pooling_mode=pooling))
    if normalize == "before dense":
        modules.append(Normalize())
    if dense:
        modules.append(Dense(384, dense, activation_function=getattr(torch.nn, activation)()))
    if normalize is True:
        modules.append(Normalize())
    model = SentenceTransformer(modules=modules, device="cpu", **kwargs)
    model.save(str(folder))
    return SentenceTransformer(str(folder), device="cpu")


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_packaged_minilm_folder_matches_sentence_transformers(sentence_transformer, minilm_sentence):
    """The issue's case: the packaged all-MiniLM-L6-v2 folder by path."""
    pipe = nlu_lite.load(path=minilm_dir())
    tokens = pipe.predict("I love NLP", output_level="sub_token")["sub_token"].tolist()
    assert tokens == ["I", "love", "NL", "P"]
    texts = [t for t in TEXTS if t and t != LONG]
    doc = pipe.predict(texts, output_level="document")
    got = np.stack(doc.iloc[:, -1])
    want = sentence_transformer.encode(texts)
    assert _cosines(got, want).min() >= 0.9999
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    reg = np.stack(minilm_sentence.predict(texts, output_level="document").iloc[:, -1])
    np.testing.assert_allclose(got, reg, atol=1e-6)
    # token vectors: the registry entry's, exactly
    tok_path = np.stack(pipe.predict(texts).iloc[:, -1])
    tok_reg = np.stack(nlu_lite.load("en.embed.all_minilm_l6_v2").predict(texts).iloc[:, -1])
    np.testing.assert_array_equal(tok_path, tok_reg)
    sources = doc.attrs["settings_from"][0]
    assert sources["pooling"] == "1_Pooling/config.json"
    assert sources["normalize"] == "modules.json"
    assert sources["max_length"] == "sentence_bert_config.json"
    assert sources["case_sensitive"] == "tokenizer files"
    assert pipe.encoders[0].max_length == 256


@pytest.mark.parametrize(
    ("pooling", "dense", "normalize", "activation"),
    [
        ("cls", None, True, "Tanh"),
        ("max", None, False, "Tanh"),
        ("mean", 48, True, "Tanh"),
        ("cls", 24, False, "Tanh"),
        ("mean", 32, "before dense", "Tanh"),  # the files' order: normalised, then projected
        ("mean", 32, True, "LeakyReLU"),
        ("mean_sqrt_len_tokens", None, False, "Tanh"),
        ("weightedmean", None, True, "Tanh"),
        ("lasttoken", 24, False, "Tanh"),
    ],
)
def test_sentence_transformers_folders_match_encode(tmp_path, pooling, dense, normalize, activation):
    st = _st_folder(tmp_path / "st", pooling=pooling, dense=dense, normalize=normalize, activation=activation)
    texts = [t for t in TEXTS if t and t != LONG]
    want = st.encode(texts)
    pipe = nlu_lite.load(path=tmp_path / "st")
    got = np.stack(pipe.predict(texts, output_level="document").iloc[:, -1])
    assert got.shape == want.shape
    assert _cosines(got, want).min() >= 0.9999
    np.testing.assert_allclose(got, want, atol=2e-5)
    # an explicit pooling is the plain pooled vector: no Dense, no normalisation
    plain = np.stack(pipe.predict(texts, output_level="document", pooling="mean").iloc[:, -1])
    assert plain.shape[1] == 384


def test_prompts_and_default_prompt_from_the_files(tmp_path):
    prompts = {"query": "query: ", "passage": "passage: ", "classify": "Classify: "}
    st = _st_folder(tmp_path / "st", prompts=prompts, default_prompt_name="classify")
    texts = ["I love NLP", "what is the capital of France?"]
    pipe = nlu_lite.load(path=tmp_path / "st")
    entry = pipe.encoders[0].entry
    assert dict(entry.prompts) == prompts and entry.default_prompt == "classify"
    for name in (None, "query", "passage", "classify"):
        want = st.encode(texts, prompt_name=name)
        got = np.stack(pipe.predict(texts, output_level="document", prompt=name).iloc[:, -1])
        assert _cosines(got, want).min() >= 0.9999, name
    # offsets stay relative to the text, never the prompt
    df = pipe.predict(texts, output_level="document", positions=True, prompt="query")
    assert df["document"].tolist() == texts and df["begin"].tolist() == [0, 0]
    with pytest.raises(InvalidOptionError, match="classify"):
        pipe.predict(texts, output_level="document", prompt="nonsense")


def test_lowercasing_from_sentence_bert_config(tmp_path):
    """do_lower_case in sentence_bert_config.json lower-cases in the tokenizer, offsets intact."""
    folder = tmp_path / "lower"
    shutil.copytree(minilm_dir(), folder)
    # a cased tokenizer, lower-cased by sentence-transformers' own setting
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["do_lower_case"] = False
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    tokenizer = json.loads((folder / "tokenizer.json").read_text())
    tokenizer["normalizer"]["lowercase"] = False
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128, "do_lower_case": True}))
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(folder), device="cpu")
    pipe = nlu_lite.load(path=folder)
    assert dict(pipe.encoders[0].entry.settings_from)["case_sensitive"] == "sentence_bert_config.json"
    df = pipe.predict("I LOVE NLP", output_level="sub_token", positions=True)
    assert df["sub_token"].tolist() == ["I", "LOVE", "NL", "P"]
    got = np.stack(pipe.predict(["I LOVE NLP"], output_level="document").iloc[:, -1])
    assert _cosines(got, st.encode(["I LOVE NLP"])).min() >= 0.9999


def test_registry_states_override_only_what_they_state(tmp_path, monkeypatch):
    """A registry entry over a sentence-transformers snapshot: what it states wins, the rest comes
    from the files, and info()/attrs say which."""
    rev = "ab" * 20
    snap = snapshot("nlu-lite-tests/st-cls", rev)
    if not (snap / "modules.json").exists():
        _st_folder(snap, pooling="cls", normalize=True, max_seq_length=128)
    reg = tmp_path / "reg"
    reg.mkdir()
    (reg / "st.yaml").write_text(
        "family: st\ndefaults: {language: en, licence: mit, description: d, dimension: 384, layers: 6, "
        f"task: embed_sentence, output_level: document, source: {{hf: nlu-lite-tests/st-cls, revision: {rev}}}}}\n"
        "models:\n"
        "  - {spelling: en.embed_sentence.st.files}\n"
        "  - {spelling: en.embed_sentence.st.stated, pooling: mean, max_length: 64}\n"
    )
    monkeypatch.setenv("NLU_LITE_REGISTRY", str(reg))
    files = nlu_lite.load("en.embed_sentence.st.files")
    stated = nlu_lite.load("en.embed_sentence.st.stated")
    e_files, e_stated = files.encoders[0].entry, stated.encoders[0].entry
    assert (e_files.pooling, e_files.normalize, e_files.max_length) == ("cls", True, 128)
    assert (e_stated.pooling, e_stated.normalize, e_stated.max_length) == ("mean", True, 64)
    assert dict(e_stated.settings_from)["pooling"] == "registry st.yaml"
    assert dict(e_stated.settings_from)["normalize"] == "modules.json"
    info = nlu_lite.info("en.embed_sentence.st.stated")
    assert info["settings_from"]["pooling"] == "registry st.yaml"
    assert info["settings_from"]["normalize"] == "modules.json"
    by_path = nlu_lite.load(path=snap)
    a = np.stack(files.predict(CORPUS, output_level="document").iloc[:, -1])
    b = np.stack(by_path.predict(CORPUS, output_level="document").iloc[:, -1])
    np.testing.assert_array_equal(a, b)


def test_modules_nlu_lite_cannot_reproduce_are_refused_at_sentence_level(tmp_path):
    folder = tmp_path / "odd"
    shutil.copytree(minilm_dir(), folder)
    two = {"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": True}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(two))  # both, concatenated
    pipe = nlu_lite.load(path=folder)
    with pytest.raises(InvalidOptionError, match=r"pooling max\+mean|pooling mean\+max"):
        pipe.predict("I love NLP", output_level="document")
    assert len(pipe.predict("I love NLP", output_level="document", pooling="mean")) == 1
    assert pipe.predict("I love NLP")["token"].tolist() == ["I", "love", "NLP"]


def test_module_names_are_data_never_imported(tmp_path):
    folder = tmp_path / "evil"
    shutil.copytree(minilm_dir(), folder)
    modules = json.loads((folder / "modules.json").read_text())
    modules.append({"idx": 3, "name": "3", "path": "3_X", "type": "os.system"})
    modules.append({"idx": 4, "name": "4", "path": "../../etc", "type": "sentence_transformers.models.Dense"})
    (folder / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ModelLoadError, match="outside the model"):
        read_folder(folder)
    modules.pop()
    (folder / "modules.json").write_text(json.dumps(modules))
    settings = read_folder(folder)
    assert settings.unsupported == ("a system module (modules.json)",)


def test_broken_settings_file_is_a_typed_error(tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(minilm_dir(), folder)
    (folder / "modules.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match=r"modules\.json"):
        nlu_lite.load(path=folder)


def test_hf_download_fetches_the_sentence_transformers_files(tmp_path, monkeypatch):
    """Through a hub on loopback: modules.json and the module folders come with the weights, so
    an hf: model downloaded once gives sentence-transformers' vectors."""
    from fake_hub import FakeHub, route

    served = tmp_path / "served"
    _st_folder(served, pooling="cls", dense=24, normalize=True)
    (served / "pytorch_model.bin").write_bytes(b"not fetched: safetensors exist")
    sha = "cd" * 20
    with FakeHub("nlu-lite-tests/st-served", sha, served) as fake:
        route(monkeypatch, fake, tmp_path / "hf")
        pipe = nlu_lite.load(f"hf:nlu-lite-tests/st-served@{sha}")
        fetched = {r.split(f"/resolve/{sha}/")[-1] for r in fake.requests if r.startswith("GET") and "/resolve/" in r}
    assert {"modules.json", "1_Pooling/config.json", "2_Dense/config.json", "2_Dense/model.safetensors"} <= fetched
    assert "pytorch_model.bin" not in fetched and "README.md" not in fetched
    got = np.stack(pipe.predict(CORPUS, output_level="document").iloc[:, -1])
    want = np.stack(nlu_lite.load(path=served).predict(CORPUS, output_level="document").iloc[:, -1])
    np.testing.assert_array_equal(got, want)
    assert got.shape == (len(CORPUS), 24)


def test_e5_and_bge_style_snapshots_with_prompts_agree_three_ways(tmp_path, monkeypatch):
    """E5-style (mean, query:/passage: prompts in its files) and BGE-style (cls, a query
    instruction stated by the registry) snapshots: spelling, path and hf: give the same rows and
    vectors at every level, with and without prompts, and sentence-transformers' vectors."""
    reg = tmp_path / "reg"
    reg.mkdir()
    lines = ["family: prompts", "defaults: {language: en, licence: mit, description: d, dimension: 384, layers: 6}"]
    lines.append("models:")
    styles = {
        "e5": ("mean", {"query": "query: ", "passage": "passage: "}, ""),
        "bge": ("cls", {}, ", query_prefix: 'Represent this sentence for searching relevant passages: '"),
    }
    sts = {}
    for name, (pooling, prompts, stated) in styles.items():
        rev = ("e5" if name == "e5" else "b9") * 20
        snap = snapshot(f"nlu-lite-tests/{name}-style", rev)
        sts[name] = _st_folder(snap, pooling=pooling, normalize=True, prompts=prompts or None)
        lines.append(
            f"  - {{spelling: en.embed_sentence.prompts.{name}, task: embed_sentence, output_level: sentence, "
            f"source: {{hf: nlu-lite-tests/{name}-style, revision: {rev}}}{stated}}}"
        )
    (reg / "prompts.yaml").write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("NLU_LITE_REGISTRY", str(reg))
    for name in styles:
        rev = ("e5" if name == "e5" else "b9") * 20
        by_spelling = nlu_lite.load(f"en.embed_sentence.prompts.{name}")
        by_path = nlu_lite.load(path=snapshot(f"nlu-lite-tests/{name}-style", rev))
        by_hf = nlu_lite.load(f"hf:nlu-lite-tests/{name}-style@{rev}")
        _assert_same(by_spelling, by_path)
        _assert_same(by_spelling, by_hf)
        if name == "e5":  # prompts from the files: the same three ways, and sentence-transformers' vectors
            for other in (by_path, by_hf):
                for level in ("sentence", "document"):
                    a = _frames(by_spelling, level, prompt="query")[1]
                    np.testing.assert_array_equal(a, _frames(other, level, prompt="query")[1])
            got = np.stack(by_path.predict(CORPUS, output_level="document", prompt="passage").iloc[:, -1])
            assert _cosines(got, sts[name].encode(CORPUS, prompt_name="passage")).min() >= 0.9999
        else:  # the registry states BGE's instruction; a folder without it has no 'query' prompt text
            assert by_spelling.encoders[0].prefix_for("query").startswith("Represent this sentence")
            assert dict(by_spelling.encoders[0].entry.settings_from)["query_prefix"] == "registry prompts.yaml"
            assert by_path.encoders[0].prefix_for("query") == ""
