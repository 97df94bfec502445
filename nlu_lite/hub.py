"""The Hugging Face hub and the disk cache: where a model's files are, and fetching them.

This is the only module that talks to the hub.  An entry's sources are tried in order: a local
``path``; an installed Python ``package`` that carries the files (works with no network at all);
the Hugging Face cache at the pinned ``revision``; and, unless ``HF_HUB_OFFLINE`` is set, a
download of just the files needed (safetensors preferred).  Turning files into a tokenizer and a
model is :mod:`nlu_lite.components`' job.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

from nlu_lite.errors import ModelUnavailableError
from nlu_lite.model_files import ST_FILES
from nlu_lite.registry import Entry, is_commit

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


def is_cached(entry: Entry) -> bool:
    """True when the entry's files are on this machine (package, folder or hub cache)."""
    src = entry.source
    if src.path and _holds_model(Path(src.path)):
        return True
    if src.package and package_dir(src.package) is not None:
        return True
    if src.hf:
        snap = cached_snapshot(src.hf, src.revision or "main") or snapshot_dir(src.hf, src.revision or "main")
        return (snap / "config.json").is_file() and any(
            (snap / w).is_file() for w in ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json")
        )
    return False


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


def local_folder(entry: Entry) -> Path | None:
    """The folder that holds an entry's files on this machine, if any (no download)."""
    src = entry.source
    if src.path and Path(src.path).is_dir():
        return Path(src.path)
    if src.package and (folder := package_dir(src.package)) is not None:
        return folder
    if src.hf:
        return cached_snapshot(src.hf, src.revision or "main")
    return None


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


def download(entry: Entry, progress: bool = True, force: bool = False) -> Path:
    """Put ``entry``'s files into the Hugging Face cache (or find them on disk); return their folder."""
    src = entry.source
    if src.path:
        return Path(src.path)
    if not src.hf:
        folder = package_dir(src.package or "")
        if folder is None:
            raise ModelUnavailableError(
                f"{entry.spelling!r} comes from the package {src.package}: pip install "
                f"{(src.package or '').split('/')[0].replace('_', '-')}"
            )
        return folder
    if src.package and not force:
        folder = package_dir(src.package)
        if folder is not None:  # load() takes these files first: nothing to fetch
            return folder
    revision = src.revision or "main"
    if not force:
        cached = cached_snapshot(src.hf, revision)
        if cached is not None and is_cached(entry):
            return cached
    if progress:
        return fetch(src.hf, revision, entry, force=force)
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    was_disabled = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        return fetch(src.hf, revision, entry, force=force)
    finally:
        if not was_disabled:
            enable_progress_bars()
