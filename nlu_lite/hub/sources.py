"""The Hugging Face hub and the disk cache: where a model's files are, and fetching them.

This is the only module that talks to the hub.  An entry's sources are tried in one order, written
once, in :func:`locate`: a local ``path``; an installed Python ``package`` that carries the files
(works with no network at all); the Hugging Face cache at the pinned ``revision``; and, unless
``HF_HUB_OFFLINE`` is set, a download of just the files needed (safetensors preferred).  Its
callers (is the model here? which folder does info() read? download; load) differ only in what
counts as found at each step, which :class:`Rules` states.  Turning files into a tokenizer and a
model is :mod:`nlu_lite.hub.loading`' job.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nlu_lite.errors import ModelUnavailableError
from nlu_lite.hub.folder import ST_FILES
from nlu_lite.hub.registry import Entry, Source, is_commit

logger = logging.getLogger("nlu_lite")

HUB_TIMEOUT_S = 10.0
# Files a tokenizer may need, whichever family it belongs to.
TOKENIZER_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def is_offline() -> bool:
    """True when HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) asks that the network is never used."""
    if "HF_HUB_OFFLINE" in os.environ or "TRANSFORMERS_OFFLINE" in os.environ:
        return _truthy(os.environ.get("HF_HUB_OFFLINE")) or _truthy(os.environ.get("TRANSFORMERS_OFFLINE"))
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache in force now (HF_HUB_CACHE, else HF_HOME/hub, else the default)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def snapshot_dir(repo: str, revision: str) -> Path:
    """Where the cache keeps the files of ``repo`` at ``revision``."""
    return hub_cache_dir() / ("models--" + repo.replace("/", "--")) / "snapshots" / revision


def _holds_model(folder: Path) -> bool:
    """A folder counts as a model only with a model config (at its top, or in a sentence-transformers
    module folder)."""
    return folder.is_dir() and ((folder / "config.json").is_file() or (folder / "modules.json").is_file())


def package_dir(spec: str) -> Path | None:
    """The folder ``sub/dir`` inside installed package ``pkg`` for a spec ``pkg/sub/dir``, if installed.

    Found through the installed distributions' metadata, never by importing ``pkg``: a registry is
    data, and naming a package in it must not run that package's code (nor a module of that name
    in the working directory)."""
    import importlib.metadata as md

    name, _, sub = spec.partition("/")
    if not name.isidentifier():
        return None
    for dist_names in ([name], _distributions_of(name)):  # the usual case (same name) needs no scan
        for dist_name in dist_names:
            try:
                dist = md.distribution(dist_name)
            except md.PackageNotFoundError:
                continue
            folder = Path(str(dist.locate_file(f"{name}/{sub}" if sub else name)))
            if folder.is_dir():
                return folder
    return None


@functools.lru_cache(maxsize=64)
def _distributions_of(package: str) -> list[str]:
    """The installed distributions that ship a top-level ``package`` (read from their metadata)."""
    import importlib.metadata as md

    try:
        return list(md.packages_distributions().get(package, []))
    except Exception:  # a broken distribution in the environment
        logger.debug("could not map packages to distributions", exc_info=True)
        return []


def _weights(names: set[str], prefix: str = "") -> list[str]:
    """One weights format among ``names`` (safetensors first), sharded or not."""
    for single, index, shard in (
        ("model.safetensors", "model.safetensors.index.json", ("model-", ".safetensors")),
        ("pytorch_model.bin", "pytorch_model.bin.index.json", ("pytorch_model-", ".bin")),
    ):
        if prefix + single in names:
            return [prefix + single]
        if prefix + index in names:
            rest = sorted(
                n
                for n in names
                if n.startswith(prefix + shard[0]) and n.endswith(shard[1]) and "/" not in n[len(prefix) :]
            )
            return [prefix + index, *rest]
    return []


def _choose_files(repo_files: list[str]) -> list[str]:
    """The files to fetch from a repository listing: tokenizer files, one weights format, and the
    sentence-transformers description (modules.json and each module folder's config and weights)."""
    present = set(repo_files)
    chosen = [f for f in TOKENIZER_FILES if f in present]
    chosen += _weights(present)
    chosen += [f for f in ST_FILES if f in present]
    folders = sorted({f.split("/", 1)[0] for f in present if "/" in f and f.split("/", 1)[0][:1].isdigit()})
    for sub in folders:
        chosen += [f"{sub}/{f}" for f in (*TOKENIZER_FILES, "sentence_bert_config.json") if f"{sub}/{f}" in present]
        chosen += _weights(present, sub + "/")
    return chosen


def unavailable(entry: Entry | None, repo: str, revision: str | None, why: str) -> ModelUnavailableError:
    name = f"{entry.spelling!r} ({repo}@{revision})" if entry else f"{repo}@{revision}"
    return ModelUnavailableError(
        f"Model {name} is not available: {why} "
        f"To use it offline, download it once on a machine with network access "
        f"(nlu_lite.download({(entry.spelling if entry else 'hf:' + repo)!r})) and copy the Hugging Face cache "
        f"(now {hub_cache_dir()}) here, or load a local copy with nlu_lite.load(path='DIR')."
    )


def fetch(
    repo: str, revision: str | None, entry: Entry | None = None, progress: bool = True, force: bool = False
) -> Path:
    """Download what is needed of ``repo`` at ``revision`` into the hub cache; return the snapshot folder.

    Lists the repository once (with a timeout, so an unreachable hub answers in seconds), then
    downloads tokenizer files and a single weights format, safetensors first (``force``: again,
    even where the cache holds them).
    """
    if is_offline():
        raise unavailable(entry, repo, revision, "it is not in the local cache and HF_HUB_OFFLINE is set.")
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    cache = hub_cache_dir()
    try:
        info = HfApi().model_info(repo, revision=revision, timeout=HUB_TIMEOUT_S)
    except RevisionNotFoundError:
        raise unavailable(entry, repo, revision, "the hub has no such revision.") from None
    except GatedRepoError:
        raise unavailable(entry, repo, revision, "the repository is gated; log in with `hf auth login`.") from None
    except RepositoryNotFoundError:
        raise unavailable(entry, repo, revision, "the hub has no such repository.") from None
    except Exception as exc:  # connection refused, DNS, proxy, timeout: all mean "no hub now"
        raise unavailable(
            entry, repo, revision, f"it is not in the local cache and the hub cannot be reached ({exc})."
        ) from None
    files = _choose_files([s.rfilename for s in (info.siblings or [])])
    if not any(f == "config.json" or (f.endswith("/config.json") and f[:1].isdigit()) for f in files):
        raise unavailable(entry, repo, revision, "the repository has no config.json at that revision.")
    sha = info.sha or revision
    for name in files:
        try:
            hf_hub_download(repo, name, revision=sha, cache_dir=cache, etag_timeout=HUB_TIMEOUT_S, force_download=force)
        except Exception as exc:
            raise unavailable(entry, repo, revision, f"downloading {name} failed ({exc}).") from None
    logger.info("fetched %s@%s (%s) into %s", repo, sha, ", ".join(files), cache)
    if sha and revision and revision != sha:
        _write_ref(repo, revision, sha)
    return snapshot_dir(repo, sha) if sha else cache


def _write_ref(repo: str, branch: str, sha: str) -> None:
    """Record in the cache which commit ``branch`` resolved to (as huggingface_hub does), so a
    later offline load of the branch finds the snapshot."""
    ref = hub_cache_dir() / ("models--" + repo.replace("/", "--")) / "refs" / branch
    try:
        ref.parent.mkdir(parents=True, exist_ok=True)
        tmp = ref.with_name(f".{ref.name}.{os.getpid()}.part")
        tmp.write_text(sha)
        os.replace(tmp, ref)
    except OSError:
        logger.debug("could not record %s@%s -> %s in the cache", repo, branch, sha, exc_info=True)


def cached_snapshot(repo: str, revision: str) -> Path | None:
    """The cached snapshot for a commit or a branch name (through refs/<branch>), if complete."""
    root = hub_cache_dir() / ("models--" + repo.replace("/", "--"))
    sha = revision
    ref = root / "refs" / revision
    if ref.is_file():
        sha = ref.read_text().strip()
        if not is_commit(sha):  # a ref holds a commit; anything else (a path: ../other-repo) is no snapshot
            return None
    snap = root / "snapshots" / sha
    if (snap / "config.json").is_file():
        return snap
    return None


# --- where an entry's files are: the one order of its sources ---------------------------------

Origin = Literal["path", "package", "cache", "download"]
PathRule = Literal["model", "folder", "named"]
_WEIGHTS = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json")


@dataclass(frozen=True)
class Rules:
    """What counts as found at each step of :func:`locate`, where its callers differ for a reason.

    ``path``: ``"named"`` (load, download): a path the entry names is its only source, found or
    not; ``"folder"`` (info): the path where it is a folder, else the next source; ``"model"``
    (the ``cached`` column): the path where it holds a model config, else the next source.
    ``complete``: a cached snapshot counts only with weights beside its config.json (download,
    ``cached``); without it, config.json is enough and the loader finds out the rest.
    ``fresh``: pass over the package and the cache for the hub's copy, where the entry has a hub
    source (``download(force=True)``; a cached snapshot that failed to load).  ``force``: download
    again the files the cache holds too.  ``progress``: show the download's progress bars.
    """

    path: PathRule = "named"
    complete: bool = False
    fresh: bool = False
    force: bool = False
    progress: bool = True


ON_DISK = Rules(path="model", complete=True)  # nlu_lite.models()'s and info()'s ``cached``
BROWSE = Rules(path="folder")  # the folder info() reads settings from
LOAD = Rules()  # load(): the loader checks the files itself


@dataclass(frozen=True)
class Located:
    """Where :func:`locate` found an entry's files.

    ``folder`` is None where nothing was found; ``origin`` is then the last source asked (the one
    whose absence ended the search: ``"path"`` for a named folder that is missing, ``"package"``
    for a package that is not installed and no hub source behind it, ``"cache"`` for a snapshot
    that is not cached, with no download allowed).  ``repo`` and ``revision`` are the hub
    repository and revision: the commit of the snapshot for ``"cache"`` and ``"download"``, the
    entry's own (possibly None) for ``"path"`` and ``"package"``.
    """

    folder: Path | None
    origin: Origin
    repo: str | None
    revision: str | None


def locate(
    wanted: Entry | Source, *, allow_download: bool, revision: str | None = None, rules: Rules = LOAD
) -> Located:
    """Find the files of ``wanted`` by trying its sources in the one order nlu_lite knows: a local
    ``path``, an installed ``package``, the Hugging Face cache at ``revision``, a download from
    the hub (only with ``allow_download``; never while HF_HUB_OFFLINE is set: that raises
    :class:`ModelUnavailableError`, as does an unreachable hub).

    ``wanted`` is a registry entry, or the bare :class:`Source` of a hub spec not yet turned into
    one (errors then name the repository).  ``revision`` is the hub revision to look for, default
    the source's own or ``main`` (a load passes the lock file's commit; the lock file is read by
    the callers, never here).  ``rules`` says what counts as found at each step (see :class:`Rules`).
    """
    entry = wanted if isinstance(wanted, Entry) else None
    src = wanted.source if isinstance(wanted, Entry) else wanted
    on_disk = _at_path(src, rules.path) or _in_package(src, rules.fresh)
    if on_disk is not None:
        return on_disk
    if not src.hf:  # a path that did not count, and no package or hub behind it
        return Located(None, "path", None, src.revision)
    wanted_revision = revision or src.revision or "main"
    snap = None if rules.fresh else cached_snapshot(src.hf, wanted_revision)
    if snap is not None and (not rules.complete or _has_weights(snap)):
        return Located(snap, "cache", src.hf, snap.name)
    if not allow_download:
        return Located(None, "cache", src.hf, wanted_revision)
    fetched = _fetch(src.hf, wanted_revision, entry, rules)
    return Located(fetched, "download", src.hf, fetched.name)


def _at_path(src: Source, rule: PathRule) -> Located | None:
    """The first step: the folder the source names, where it counts under ``rule`` (a named path
    always ends the search, found or not: None means go on to the package)."""
    if not src.path:
        return None
    folder = Path(src.path)
    if rule == "named":
        return Located(folder if folder.is_dir() else None, "path", src.hf, src.revision)
    counts = _holds_model(folder) if rule == "model" else folder.is_dir()
    return Located(folder, "path", src.hf, src.revision) if counts else None


def _in_package(src: Source, fresh: bool) -> Located | None:
    """The second step: an installed package that carries the files.  Not installed, it ends the
    search only where no hub source is behind it; ``fresh`` passes it over for the hub's copy."""
    if not src.package or (fresh and src.hf):
        return None
    folder = package_dir(src.package)
    if folder is None and src.hf:
        return None
    return Located(folder, "package", src.hf, src.revision)


def _has_weights(snap: Path) -> bool:
    """A snapshot counts as complete with weights beside its config (one format is enough)."""
    return (snap / "config.json").is_file() and any((snap / w).is_file() for w in _WEIGHTS)


def _fetch(repo: str, revision: str, entry: Entry | None, rules: Rules) -> Path:
    """:func:`fetch`, with the hub's progress bars off unless ``rules.progress`` (as they were)."""
    if rules.progress:
        return fetch(repo, revision, entry, force=rules.force)
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    was_disabled = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        return fetch(repo, revision, entry, force=rules.force)
    finally:
        if not was_disabled:
            enable_progress_bars()


def download(entry: Entry, progress: bool = True, force: bool = False) -> Path:
    """Put ``entry``'s files into the Hugging Face cache (or find them on disk); return their folder.

    A named folder is returned as it is named; a package is used where installed (unless
    ``force`` and a hub source); a complete cached snapshot is used unless ``force``; else the
    files are fetched (``force``: all of them again)."""
    rules = Rules(complete=True, fresh=force, force=force, progress=progress)
    found = locate(entry, allow_download=True, rules=rules)
    if found.origin == "path":
        return Path(entry.source.path or "")  # the folder as named, whether or not it is there yet
    if found.folder is None:
        package = entry.source.package or ""
        raise ModelUnavailableError(
            f"{entry.spelling!r} comes from the package {entry.source.package}: pip install "
            f"{package.split('/')[0].replace('_', '-')}"
        )
    return found.folder
