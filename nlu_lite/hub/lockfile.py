"""Tracked entries and the lock file that freezes them.

Most registry entries pin a commit.  Where no commit of the model NLU loads could be confirmed
(the hub was not reachable when the namespace was generated), the entry *tracks* the repository's
main branch (``source: {hf: org/name, verified: false}``, no revision).  Then:

- a load resolves ``main`` to a commit, uses it, records it in ``df.attrs['revisions']``, and warns
  once per repository and process that the files may change under the user;
- :func:`lock` (``nlu-lite lock``) writes the commits resolved so far (in this process, or found in
  the Hugging Face cache as the snapshot ``main`` points to) to a lock file, ``nlu-lite.lock`` in
  the working directory or the file ``NLU_LITE_LOCK`` names;
- later loads honour the lock file: a tracked entry whose repository it lists loads that commit,
  silently, exactly as package managers install what a lock file says.

The lock file is JSON data::

    {"nlu_lite_lock": 1,
     "models": {"org/name": {"revision": "<40 hex>", "spellings": ["en.embed_sentence.mpnet.x"]}}}
"""

from __future__ import annotations

import json
import logging
import os
import threading
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

from nlu_lite.errors import LockFileError
from nlu_lite.hub.registry import Entry, get_registry, is_commit
from nlu_lite.hub.sources import cached_snapshot

logger = logging.getLogger("nlu_lite")

LOCK_ENV = "NLU_LITE_LOCK"
LOCK_NAME = "nlu-lite.lock"

_lock = threading.Lock()
_resolved: dict[str, tuple[str, str]] = {}  # repo -> (spelling, commit) resolved by loads in this process
_warned: set[str] = set()
_cache: dict[Path, tuple[float, dict[str, dict[str, Any]]]] = {}


def lock_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The lock file in force: ``path``, else ``NLU_LITE_LOCK``, else ``nlu-lite.lock`` here."""
    if path is not None:
        return Path(path).expanduser()
    env = os.environ.get(LOCK_ENV, "").strip()
    return Path(env).expanduser() if env else Path.cwd() / LOCK_NAME


def read_lock(path: str | os.PathLike[str] | None = None) -> dict[str, dict[str, Any]]:
    """The lock file's models (repo -> {"revision", "spellings"}); empty when there is no file."""
    file = lock_path(path)
    try:
        mtime = file.stat().st_mtime
    except OSError:
        return {}
    with _lock:
        hit = _cache.get(file)
    if hit is not None and hit[0] == mtime:
        return hit[1]
    models = _parse(file)
    with _lock:
        _cache[file] = (mtime, models)
    return models


def _parse(file: Path) -> dict[str, dict[str, Any]]:
    fix = "fix it, or delete it and run nlu-lite lock to write a new one"
    try:
        doc = json.loads(file.read_text(encoding="utf-8-sig"))  # a BOM (Notepad) is not JSON, but harmless
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise LockFileError(file, None, f"is not readable JSON ({str(exc)[:200]}); {fix}") from None
    version = doc.get("nlu_lite_lock") if isinstance(doc, dict) else None
    if type(version) is not int or version != 1 or not isinstance(doc.get("models"), dict):
        raise LockFileError(file, None, f"is not an nlu_lite lock file (version 1); {fix}")
    models: dict[str, dict[str, Any]] = {}
    for repo, item in doc["models"].items():
        revision = item.get("revision") if isinstance(item, dict) else None
        if not is_commit(revision):
            raise LockFileError(
                file, f"models.{repo}.revision", f"{str(revision)[:60]!r} is not a 40-hex commit; {fix}"
            )
        spellings = item.get("spellings", [])
        if not isinstance(spellings, list) or not all(isinstance(s, str) for s in spellings):
            raise LockFileError(file, f"models.{repo}.spellings", f"is not a list of spellings; {fix}")
        models[str(repo)] = {"revision": revision, "spellings": list(spellings)}
    return models


def revision_for(entry: Entry) -> tuple[str, bool]:
    """The revision to load for ``entry`` and whether it is frozen (pinned in the registry or the
    lock file).  A tracked entry the lock file does not list gets ``main``."""
    src = entry.source
    if not src.tracks_main or src.hf is None:
        return src.revision or "main", src.revision is not None
    locked = read_lock().get(src.hf)
    if locked is not None:
        return str(locked["revision"]), True
    return "main", False


def with_lock(entry: Entry) -> Entry:
    """The entry with the lock file's commit pinned, for a tracked entry the lock file lists (what
    downloads and the catalogue's ``cached`` column look for); any other entry as it is."""
    revision, frozen = revision_for(entry)
    if not entry.source.tracks_main or not frozen:
        return entry
    return replace(entry, source=replace(entry.source, revision=revision))


def record(entry: Entry, commit: str, warn: bool = True) -> None:
    """Note the commit a tracked entry loaded (from main, or the lock file's), warning once per
    repository and process where it came from main."""
    repo = entry.source.hf
    if repo is None or not is_commit(commit):
        return
    with _lock:
        _resolved[repo] = (entry.spelling, commit)
        first = warn and repo not in _warned
        if warn:
            _warned.add(repo)
    if first:
        warnings.warn(
            f"{entry.spelling!r} tracks the main branch of {repo} (no commit of the model NLU loads could be "
            f"confirmed); this load uses commit {commit[:12]}, recorded in df.attrs['revisions']. Run "
            "`nlu-lite lock` (or nlu_lite.lock()) to freeze the commits you use.",
            UserWarning,
            stacklevel=4,
        )


def resolved_commits() -> dict[str, tuple[str, str]]:
    """Every tracked entry's resolved commit known now: this process's loads, then the Hugging
    Face cache (the snapshot ``main`` points to).  repo -> (spelling, commit)."""
    found: dict[str, tuple[str, str]] = {}
    for entry in get_registry():
        repo = entry.source.hf
        if entry.source.tracks_main and repo is not None and repo not in found:
            snap = cached_snapshot(repo, "main")
            if snap is not None and is_commit(snap.name):
                found[repo] = (entry.spelling, snap.name)
    with _lock:
        found.update(_resolved)
    return found


def lock(path: str | os.PathLike[str] | None = None, update: bool = False) -> Path:
    """Write the commits resolved so far for tracked entries to the lock file (see module docs).

    Commits the file already holds are kept unless ``update=True``; the file is written beside
    and renamed into place, so an interrupted write leaves the old one whole.  Returns its path.
    """
    from nlu_lite.frames.output import atomic_path  # numpy comes with it; not needed to read a lock

    file = lock_path(path)
    models = {repo: dict(item) for repo, item in read_lock(file).items()}
    for repo, (spelling, commit) in sorted(resolved_commits().items()):
        item = models.get(repo)
        if item is None or update:
            spellings = sorted({spelling, *(item or {}).get("spellings", [])})
            models[repo] = {"revision": commit, "spellings": spellings}
    text = json.dumps({"nlu_lite_lock": 1, "models": dict(sorted(models.items()))}, indent=1) + "\n"
    with atomic_path(file) as tmp:
        tmp.write_text(text, encoding="utf-8")
    logger.info("locked %d tracked models in %s", len(models), file)
    return file
