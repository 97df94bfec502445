"""NLU's namespace: the generated registry file, entries that track a repository's main branch,
and the lock file that freezes them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_REPO, TINY_REVISION, _write_tiny, snapshot

import nlu_lite
from nlu_lite.errors import NoEquivalentError, RegistryError
from nlu_lite.hub import lockfile as locking
from nlu_lite.hub.registry import Registry, builtin_dir

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools" / "nlu_namespace"
TRACKED = "nlu-lite-tests/tracked-bert"
SHA1 = "1" * 40
SHA2 = "2" * 40
TRACKED_YAML = f"""\
family: tracked
models:
  - spelling: en.embed.tests.tracked
    aliases: [embed.tracked_by_nlu_name]
    task: embed
    language: en
    licence: apache-2.0
    description: a model whose commit nobody confirmed
    source: {{hf: {TRACKED}, verified: false}}
    nlu_model: tracked_jsl_model
"""


@pytest.fixture(autouse=True)
def _fresh_tracking(monkeypatch):
    """Each test starts with no commits resolved or warned about in this process."""
    monkeypatch.setattr(locking, "_resolved", {})
    monkeypatch.setattr(locking, "_warned", set())
    monkeypatch.setattr(locking, "_cache", {})


def _point_main(sha: str, seed: int) -> Path:
    snap = snapshot(TRACKED, sha)  # refs/main -> sha
    if not (snap / "config.json").exists():
        _write_tiny(snap, seed=seed)
    return snap


@pytest.fixture
def tracked(tmp_path, monkeypatch):
    folder = tmp_path / "registry"
    folder.mkdir()
    (folder / "tracked.yaml").write_text(TRACKED_YAML)
    monkeypatch.setenv("NLU_LITE_REGISTRY", str(folder))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # the default lock file is ./nlu-lite.lock
    monkeypatch.delenv(locking.LOCK_ENV, raising=False)
    _point_main(SHA2, seed=2)
    _point_main(SHA1, seed=1)
    return tmp_path


def test_namespace_tracked_entry_loads_main_warns_once_and_records_the_commit(tracked):
    entry = nlu_lite.resolve("en.embed.tests.tracked")
    assert entry.source.tracks_main and entry.dimension is None and entry.layers is None
    with pytest.warns(UserWarning, match=r"tracks the main branch of nlu-lite-tests/tracked-bert.*111111111111"):
        pipe = nlu_lite.load("en.embed.tests.tracked")
    df = pipe.predict("I love NLP")
    assert df.attrs["revisions"] == [SHA1]
    assert pipe.encoders[0].components.folder.name == SHA1  # what pipe.save copies the model's modules from
    # dimension and layers the registry does not state come from the model's config
    assert (pipe.encoders[0].entry.dimension, pipe.encoders[0].entry.layers) == (32, 3)
    assert len(df["en_embed_tests_tracked_embeddings"].iloc[0]) == 32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nlu_lite.load("embed.tracked_by_nlu_name")  # the same repository: no second warning


def test_namespace_lock_freezes_the_commit_later_loads_use(tracked):
    with pytest.warns(UserWarning):
        first = nlu_lite.load("en.embed.tests.tracked").predict("I love NLP")
    file = nlu_lite.lock()
    assert file == tracked / "nlu-lite.lock"
    doc = json.loads(file.read_text())
    assert doc == {
        "nlu_lite_lock": 1,
        "models": {TRACKED: {"revision": SHA1, "spellings": ["en.embed.tests.tracked"]}},
    }
    _point_main(SHA2, seed=2)  # the repository moves on
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a locked load is frozen: no warning
        locked = nlu_lite.load("en.embed.tests.tracked").predict("I love NLP")
    assert locked.attrs["revisions"] == [SHA1]
    np.testing.assert_array_equal(
        np.stack(locked["en_embed_tests_tracked_embeddings"]), np.stack(first["en_embed_tests_tracked_embeddings"])
    )
    # without the lock file, main's new commit (other weights) is what loads
    file.unlink()
    moved = nlu_lite.load("en.embed.tests.tracked").predict("I love NLP")
    assert moved.attrs["revisions"] == [SHA2]
    assert not np.allclose(
        np.stack(moved["en_embed_tests_tracked_embeddings"]), np.stack(first["en_embed_tests_tracked_embeddings"])
    )
    _point_main(SHA1, seed=1)


def test_namespace_lock_keeps_existing_commits_unless_update(tracked, monkeypatch):
    lock_file = tracked / "elsewhere.lock"
    monkeypatch.setenv(locking.LOCK_ENV, str(lock_file))
    nlu_lite.lock()  # nothing loaded: the cache's main is what would load
    assert json.loads(lock_file.read_text())["models"][TRACKED]["revision"] == SHA1
    _point_main(SHA2, seed=2)
    nlu_lite.lock()
    assert json.loads(lock_file.read_text())["models"][TRACKED]["revision"] == SHA1
    nlu_lite.lock(update=True)
    assert json.loads(lock_file.read_text())["models"][TRACKED]["revision"] == SHA2
    _point_main(SHA1, seed=1)


def test_namespace_lock_cli(tracked):
    env = {**__import__("os").environ, "NLU_LITE_REGISTRY": str(tracked / "registry")}
    out = subprocess.run(
        [sys.executable, "-m", "nlu_lite", "lock", "--file", str(tracked / "cli.lock")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tracked,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\t")[:2] == [TRACKED, SHA1]
    assert "1 tracked models locked" in out.stderr
    assert json.loads((tracked / "cli.lock").read_text())["models"][TRACKED]["revision"] == SHA1


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        json.dumps({"models": {}}),
        json.dumps({"nlu_lite_lock": 1, "models": {TRACKED: {"revision": "main"}}}),
        json.dumps({"nlu_lite_lock": 1, "models": {TRACKED: {"revision": "../../x"}}}),
        json.dumps({"nlu_lite_lock": 1, "models": {TRACKED: {"revision": SHA1, "spellings": 5}}}),
        json.dumps({"nlu_lite_lock": 1, "models": {TRACKED: {"revision": SHA1, "spellings": None}}}),
        json.dumps({"nlu_lite_lock": True, "models": {}}),
        "[" * 100_000,  # deeper than json can read
    ],
)
def test_namespace_bad_lock_file_is_a_typed_error(tracked, text):
    """A broken lock file is a typed error naming it and saying how to fix it; loads of tracked
    entries refuse it, lock() too (it would drop what the file holds), a listing warns and goes on."""
    from nlu_lite.errors import LockFileError

    (tracked / "nlu-lite.lock").write_text(text)
    with pytest.raises(LockFileError, match=r"Invalid lock file .*nlu-lite\.lock.*delete it and run nlu-lite lock"):
        nlu_lite.load("en.embed.tests.tracked")
    with pytest.raises(RegistryError, match=r"nlu-lite\.lock"):
        nlu_lite.lock()
    with pytest.warns(UserWarning, match="the listing ignores it"):
        assert "en.embed.tests.tracked" in set(nlu_lite.models()["spelling"])


def test_namespace_missing_locked_commit_names_the_lock_file(tracked):
    from nlu_lite.errors import ModelUnavailableError

    absent = "c" * 40
    (tracked / "nlu-lite.lock").write_text(json.dumps({"nlu_lite_lock": 1, "models": {TRACKED: {"revision": absent}}}))
    with pytest.raises(ModelUnavailableError, match=r"cccccccccccc comes from the lock file .*nlu-lite\.lock"):
        nlu_lite.load("en.embed.tests.tracked")


def test_namespace_lock_keeps_the_commit_a_lock_file_gave(tracked):
    """Loads frozen by one lock file are what lock() writes to another, not the cache's main."""
    (tracked / "nlu-lite.lock").write_text(json.dumps({"nlu_lite_lock": 1, "models": {TRACKED: {"revision": SHA2}}}))
    df = nlu_lite.load("en.embed.tests.tracked").predict("I love NLP")
    assert df.attrs["revisions"] == [SHA2]
    other = nlu_lite.lock(tracked / "other.lock")
    assert json.loads(other.read_text())["models"][TRACKED]["revision"] == SHA2


def test_namespace_pinned_entries_ignore_the_lock_file(tiny_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("NLU_LITE_REGISTRY", str(tiny_registry))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nlu-lite.lock").write_text(
        json.dumps({"nlu_lite_lock": 1, "models": {TINY_REPO: {"revision": "f" * 40}}})
    )
    df = nlu_lite.load("en.embed.tests.tiny").predict("I love NLP")
    assert df.attrs["revisions"] == [TINY_REVISION]


def test_namespace_download_records_the_branch_it_resolved(tmp_path, monkeypatch):
    """A download of 'main' leaves refs/main in the cache, so the next offline load finds it."""
    from fake_hub import FakeHub, route

    from nlu_lite.hub.sources import cached_snapshot, fetch

    served = tmp_path / "served"
    shutil.copytree(snapshot(TINY_REPO, TINY_REVISION), served)
    with FakeHub(TINY_REPO, TINY_REVISION, served) as fake:
        route(monkeypatch, fake, tmp_path / "hf")
        folder = fetch(TINY_REPO, "main")
    assert folder.name == TINY_REVISION
    assert cached_snapshot(TINY_REPO, "main") == folder


# --- the generated namespace --------------------------------------------------------------------


def test_namespace_generated_file_is_up_to_date():
    """registry/nlu_namespace.yaml is what tools/nlu_namespace/generate.py makes of its inputs."""
    out = subprocess.run(
        [sys.executable, str(TOOLS / "generate.py"), "--check"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr


def test_namespace_coverage_meets_the_targets():
    """>= 85 % of NLU's 705 en/xx embedding names load NLU's model, the rest say why not; 0 unknown,
    0 wrong.  docs/registry.md quotes this report."""
    sys.path.insert(0, str(TOOLS))
    try:
        import namespace_coverage  # tools/nlu_namespace/namespace_coverage.py
    finally:
        sys.path.remove(str(TOOLS))
    result = namespace_coverage.classify(namespace_coverage.nlu_names())
    assert len(result) == 705
    report = namespace_coverage.report(result)
    assert namespace_coverage.meets_targets(result), report
    registry_doc = (ROOT / "docs" / "registry.md").read_text()
    assert report in registry_doc, "docs/registry.md quotes an old coverage report; paste the new one"


def test_namespace_every_no_equivalent_answer_names_a_catalogue_model():
    registry = Registry([builtin_dir()])
    for name, note in registry.no_equivalent.items():
        with pytest.raises(NoEquivalentError) as info:
            registry.get(name)
        assert info.value.suggestions, (name, note)
        for suggestion in info.value.suggestions:
            assert registry.find(suggestion) is not None, (name, suggestion)


def test_namespace_catalogue_is_fast_and_light():
    """Listing ~550 entries stays well under a second and never imports torch."""
    code = (
        "import sys, time; t = time.perf_counter(); import nlu_lite; n = len(nlu_lite.models()); "
        "print(n, time.perf_counter() - t, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    n, _seconds, torch_loaded = out.stdout.split()
    assert int(n) > 500 and torch_loaded == "False"


def test_namespace_download_and_catalogue_honour_the_lock(tracked):
    """download() and the catalogue's cached column look for the locked commit, not main's."""
    (tracked / "nlu-lite.lock").write_text(
        json.dumps({"nlu_lite_lock": 1, "models": {TRACKED: {"revision": SHA2, "spellings": []}}})
    )
    (folder,) = nlu_lite.download("en.embed.tests.tracked")
    assert folder.name == SHA2
    assert bool(nlu_lite.models("en.embed.tests.tracked")["cached"].item())
    (tracked / "nlu-lite.lock").write_text(
        json.dumps({"nlu_lite_lock": 1, "models": {TRACKED: {"revision": "3" * 40, "spellings": []}}})
    )
    assert not bool(nlu_lite.models("en.embed.tests.tracked")["cached"].item())
    with pytest.raises(nlu_lite.ModelUnavailableError):
        nlu_lite.download("en.embed.tests.tracked")
