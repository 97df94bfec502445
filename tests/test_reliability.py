"""Random unicode (hypothesis), threads, interrupts, broken model files, and security promises."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_REPO, TINY_REVISION, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nlu_lite
from nlu_lite.errors import ModelLoadError, NluLiteError

COL = "en_embed_tests_tiny_embeddings"

# any code point, surrogates included, biased towards the troublesome categories
unicode_text = st.text(
    alphabet=st.one_of(
        st.characters(),
        st.characters(categories=["Cc", "Cf", "Mn", "Zs", "Cs", "Co", "So", "Lo"]),
        st.sampled_from(list(" .!?\n\t[]#\u200b\u200d\ufeff😀👍🏽")),
    ),
    max_size=60,
)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(st.one_of(unicode_text, st.none()), min_size=1, max_size=4))
def test_reliability_random_unicode_invariants(tiny, texts):
    frame = tiny.predict(texts, output_level="token", positions=True)
    assert sorted(set(frame.index)) == list(range(len(texts)))
    clean = ["" if t is None else t for t in texts]
    for label, token, b, e in zip(frame.index, frame["token"], frame["begin"], frame["end"], strict=True):
        assert clean[label][b:e] == token
    # each word once, in order: spans strictly increase within an input
    for label in set(frame.index):
        rows = frame.loc[[label]]
        spans = [(b, e) for b, e, t in zip(rows["begin"], rows["end"], rows["token"], strict=True) if t]
        assert all(spans[i][1] <= spans[i + 1][0] or spans[i][0] < spans[i + 1][0] for i in range(len(spans) - 1))
        assert len(set(spans)) == len(spans)
    vecs = [v for v in frame[COL] if v is not None]
    if vecs:
        assert np.isfinite(np.stack(vecs)).all()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=unicode_text)
def test_reliability_random_unicode_sentence_and_document(tiny, text):
    for level in ("sub_token", "sentence", "document"):
        frame = tiny.predict([text], output_level=level, positions=True)
        assert set(frame.index) == {0}
        for value, b, e in zip(frame[level], frame["begin"], frame["end"], strict=True):
            assert text[b:e] == value


def test_reliability_threads_match_serial(tiny):
    texts = [f"Thread safety, sentence {i}. " + "word " * (i % 13) for i in range(40)]
    serial = [tiny.predict(texts[i : i + 5], output_level="token") for i in range(8)]

    def worker(k: int) -> list:
        return [tiny.predict(texts[k : k + 5], output_level="token") for _ in range(50)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(worker, range(8)))
    for k, frames in enumerate(results):
        for frame in frames:
            assert list(frame.index) == list(serial[k].index)
            assert list(frame["token"]) == list(serial[k]["token"])
            np.testing.assert_allclose(np.stack(frame[COL]), np.stack(serial[k][COL]), atol=1e-6)


def test_reliability_threads_with_different_layers(tiny):
    """Early-stopping hooks read a thread-local request: concurrent layer choices do not mix."""
    expected = {layer: np.stack(tiny.predict("a b c", layers=layer)[COL]) for layer in (0, 1, -1)}
    errors = []

    def worker(layer: int) -> None:
        for _ in range(30):
            got = np.stack(tiny.predict("a b c", layers=layer)[COL])
            if not np.allclose(got, expected[layer], atol=1e-6):
                errors.append(layer)

    threads = [threading.Thread(target=worker, args=(layer,)) for layer in (0, 1, -1) * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


@pytest.mark.parametrize("engine", ["auto", "torch"])
def test_reliability_keyboard_interrupt_leaves_pipeline_usable(tiny, tiny_torch, engine):
    pipe = tiny if engine == "auto" else tiny_torch
    texts = [f"interrupt me {i}" for i in range(50)]
    before = pipe.predict(texts, batch_size=4)
    before_layer1 = np.stack(pipe.predict("a", layers=1)[COL])
    calls = {"n": 0}

    def interrupt(*_):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt

    runner = pipe.encoders[0].runner
    if runner.engine == "torch":  # inside the transformers forward (its hooks' state must not stay behind)
        undo = pipe.encoders[0].model.embeddings.register_forward_hook(interrupt).remove
    else:  # the fused engine sums the embeddings itself: inside its walk
        embed = runner._embed
        runner._embed = lambda ids: interrupt() or embed(ids)
        undo = lambda: delattr(runner, "_embed")  # noqa: E731
    try:
        with pytest.raises(KeyboardInterrupt):
            pipe.predict(texts, batch_size=4, progress=True)
    finally:
        undo()
    after = pipe.predict(texts, batch_size=4)
    np.testing.assert_array_equal(np.stack(after[COL]), np.stack(before[COL]))
    assert calls["n"] == 3
    if runner.engine == "torch":  # the early-stopping and selected-positions state was not left behind
        assert getattr(runner._local, "capture", None) is None
        assert getattr(runner._local, "select", None) is None
    np.testing.assert_array_equal(np.stack(pipe.predict("a", layers=1)[COL]), before_layer1)


# ---------------------------------------------------------------- broken model files


@pytest.fixture
def broken_cache(tiny_registry, tmp_path, monkeypatch):
    """A private copy of the tiny model's cache, to break at will; the session cache stays intact."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("NLU_LITE_REGISTRY", str(tiny_registry))
    good = snapshot(TINY_REPO, TINY_REVISION)
    root = tmp_path / "hf" / "hub" / ("models--" + TINY_REPO.replace("/", "--"))
    bad = root / "snapshots" / TINY_REVISION
    shutil.copytree(good, bad)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(TINY_REVISION)
    before = {p.name: p.stat().st_size for p in good.iterdir()}
    yield bad
    assert {p.name: p.stat().st_size for p in good.iterdir()} == before  # the real cache is unharmed


@pytest.mark.parametrize(
    ("breakage", "match"),
    [
        (lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:1000]), "again"),
        (lambda d: (d / "model.safetensors").write_bytes(b"\x00" * 4096), "again"),
        (lambda d: (d / "config.json").write_text("{broken json"), "config|again|cannot"),
        (
            lambda d: (d / "tokenizer.json").unlink() or (d / "vocab.txt").unlink(missing_ok=True),
            "incomplete|tokenizer",
        ),
        (lambda d: (d / "model.safetensors").unlink(), "incomplete|weights|again"),
    ],
    ids=["truncated-weights", "zeroed-weights", "corrupt-config", "missing-tokenizer", "missing-weights"],
)
def test_reliability_broken_files_typed_errors(broken_cache, breakage, match):
    import time

    breakage(broken_cache)
    start = time.perf_counter()
    with pytest.raises(NluLiteError, match=match) as info:
        nlu_lite.load("en.embed.tests.tiny")
    print(f"{type(info.value).__name__} in {time.perf_counter() - start:.2f}s: {info.value}")
    assert "Traceback" not in str(info.value)


def test_reliability_malicious_pickle_is_not_executed(tmp_path):
    """pytorch_model.bin is read with torch.load(weights_only=True): a pickle that would run code fails."""
    from transformers import BertConfig

    folder = tmp_path / "evil"
    folder.mkdir()
    BertConfig(
        vocab_size=100, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8
    ).save_pretrained(folder)
    shutil.copy(Path(snapshot(TINY_REPO, TINY_REVISION)) / "tokenizer.json", folder)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    with open(folder / "pytorch_model.bin", "wb") as fh:
        pickle.dump({"weights": Evil()}, fh)
    with pytest.raises(ModelLoadError):
        nlu_lite.load(path=folder)
    assert not marker.exists()


def test_reliability_remote_code_is_refused(tmp_path):
    folder = tmp_path / "custom"
    shutil.copytree(snapshot(TINY_REPO, TINY_REVISION), folder)
    import json

    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "modeling_evil.py").write_text("raise SystemExit('custom code ran')\n")
    with pytest.raises(ModelLoadError, match="custom Python code"):
        nlu_lite.load(path=folder)


def test_reliability_source_never_enables_remote_code():
    root = Path(nlu_lite.__file__).parent
    for path in root.glob("*.py"):
        text = path.read_text()
        assert "trust_remote_code=True" not in text, path
        assert "yaml.load(" not in text or "_StrictLoader" in text, path
        assert "weights_only=False" not in text, path


def test_reliability_writes_only_cache_and_output(tmp_path, tiny_registry):
    """A whole session (load, predict, write parquet) touches nothing but the output path
    (and the cache, which here already holds the model)."""
    home, cwd, out = tmp_path / "home", tmp_path / "cwd", tmp_path / "out"
    for d in (home, cwd, out):
        d.mkdir()
    hf_home = Path(os.environ["HF_HOME"])
    before_cache = sorted(str(p) for p in hf_home.rglob("*"))
    code = (
        "import nlu_lite; p = nlu_lite.load('en.embed.tests.tiny');"
        f"p.predict_to_parquet(['a b', 'c'], {str(out / 'o.parquet')!r});"
        "p.predict('x', progress=True); nlu_lite.models(); nlu_lite.info('bert')"
    )
    env = {
        **os.environ,
        "HOME": str(home),
        "NLU_LITE_REGISTRY": str(tiny_registry),
        "HF_HUB_OFFLINE": "1",
        "XDG_CACHE_HOME": str(home / ".cache"),
        "MPLCONFIGDIR": str(home / ".mpl"),
    }
    subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, check=True, capture_output=True, timeout=300)
    assert [p.name for p in out.iterdir()] == ["o.parquet"]
    assert list(cwd.iterdir()) == []
    written_home = [p for p in home.rglob("*") if p.is_file()]
    assert written_home == [], written_home
    assert sorted(str(p) for p in hf_home.rglob("*")) == before_cache
