"""``pipe.save(path)`` and reading it back: a folder that loads offline with the same vectors.

Layout::

    path/
      nlu_lite.json                 # the manifest: plain JSON, every setting of every model
      0_en_embed_all_minilm_l6_v2/  # config.json, weights (safetensors), tokenizer files, and the
      1_…/                          # model's sentence-transformers modules where it had them

The manifest states each model's settings as a registry entry would (so nothing is left to
guesses when it is read back) and is validated like one; it never names code.  Writing goes to
a temporary folder beside ``path`` that is renamed into place when complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nlu_lite._version import __version__
from nlu_lite.errors import InvalidOptionError, ModelLoadError
from nlu_lite.hub.folder import ST_FILES
from nlu_lite.hub.loading import quiet_transformers
from nlu_lite.hub.registry import Entry, parse_entry

if TYPE_CHECKING:
    from nlu_lite.pipeline import Pipeline

MANIFEST = "nlu_lite.json"
FORMAT = 1
# Entry fields that describe where or how an entry was read, not the model
_NOT_SAVED = {"file", "stated", "settings_from", "source", "family"}


def _folder_name(index: int, spelling: str) -> str:
    return f"{index}_" + re.sub(r"[^A-Za-z0-9]+", "_", spelling).strip("_")


def _entry_data(entry: Entry) -> dict[str, Any]:
    data = {f.name: getattr(entry, f.name) for f in fields(entry) if f.name not in _NOT_SAVED}
    data["aliases"] = list(data["aliases"])
    data["prompts"] = dict(data["prompts"])
    return {k: v for k, v in data.items() if v is not None}


def _copy_sentence_modules(source: Path | None, target: Path) -> None:
    """The model's own sentence-transformers description (modules.json, module folders with their
    Dense weights), so that its Dense head and Normalize come back too."""
    if source is None:
        return
    for name in ST_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, target / name)
    for sub in source.iterdir():
        if sub.is_dir() and re.match(r"^\d+_[A-Za-z]+$", sub.name):
            shutil.copytree(sub, target / sub.name, dirs_exist_ok=True)


def save_pipeline(pipe: Pipeline, path: str | os.PathLike[str]) -> Path:
    """Write ``pipe`` to ``path`` (see the module docstring); an existing folder is replaced only
    once the new one is complete."""
    target = Path(path).expanduser().resolve()
    if target.exists() and not (target / MANIFEST).is_file():
        raise InvalidOptionError("path", str(path), "a new folder, or one written by pipe.save() before")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    except OSError as exc:  # read-only, not permitted, a file in the way: say where, not a temporary's name
        why = exc.strerror or type(exc).__name__
        raise InvalidOptionError(
            "path", str(path), f"a folder nlu_lite can write in ({target.parent}: {why})"
        ) from None
    try:
        manifest: dict[str, Any] = {"format": FORMAT, "nlu_lite_version": __version__, "nlu_ref": pipe.nlu_ref}
        items = []
        for i, enc in enumerate(pipe.encoders):
            comp = enc.components
            sub = tmp / _folder_name(i, enc.entry.spelling)
            sub.mkdir()
            _copy_sentence_modules(comp.folder, sub)
            with quiet_transformers():  # no "Writing model shards" bar of transformers' own
                comp.model.save_pretrained(sub)
                comp.tokenizer.save_pretrained(sub)
            items.append(
                {
                    "folder": sub.name,
                    "entry": _entry_data(enc.entry),
                    "saved_from": {"repo": comp.repo, "revision": comp.revision, "origin": comp.origin},
                }
            )
        manifest["components"] = items
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        _swap_in(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        raise
    return target


def _swap_in(tmp: Path, target: Path) -> None:
    """Put the finished folder in place; an earlier save there is moved aside first and comes back
    if the move fails, so one of the two is always at ``target``."""
    if not target.exists():
        os.replace(tmp, target)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    os.replace(target, aside / "saved")
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(aside / "saved", target)
        raise
    finally:
        shutil.rmtree(aside, ignore_errors=True)


def read_manifest(folder: Path) -> tuple[list[Entry], str | None]:
    """The entries of a folder written by ``pipe.save`` (validated as registry entries), and the
    NLU request it was loaded from."""
    file = folder / MANIFEST
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{file} is not a valid manifest ({exc}); save the pipeline again.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelLoadError(f"{file} is not a manifest this version of nlu_lite reads (format {FORMAT}).")
    components = manifest.get("components") or []
    if not isinstance(components, list):
        raise ModelLoadError(f"{file}: 'components' is not a list; save the pipeline again.")
    entries = []
    for i, item in enumerate(components):
        if not isinstance(item, dict) or not isinstance(item.get("entry"), dict):
            raise ModelLoadError(f"{file}: component {i} is not a mapping with an 'entry'.")
        sub = (folder / str(item.get("folder", ""))).resolve()
        if folder.resolve() not in sub.parents:
            raise ModelLoadError(f"{file}: component {i} names a folder outside {folder}.")
        raw = dict(item["entry"])
        prompts = raw.pop("prompts", {}) or {}
        default_prompt = raw.pop("default_prompt", None)
        if not (isinstance(prompts, dict) and all(isinstance(v, str) for v in prompts.values())):
            raise ModelLoadError(f"{file}: component {i}'s prompts are not a mapping of names to texts.")
        if default_prompt is not None and default_prompt not in prompts:
            raise ModelLoadError(
                f"{file}: component {i}'s default_prompt {default_prompt!r} names none of its prompts."
            )
        raw["source"] = {"path": str(sub)}
        entry = parse_entry(file, f"components[{i}].entry", raw, {}, "saved", grammar=False)
        entries.append(_with(entry, prompts=tuple(sorted(prompts.items())), default_prompt=default_prompt))
    if not entries:
        raise ModelLoadError(f"{file} lists no models.")
    ref = manifest.get("nlu_ref")
    return entries, ref if isinstance(ref, str) else None


def _with(entry: Entry, **changes: Any) -> Entry:
    from dataclasses import replace

    stated = entry.stated | {k for k, v in changes.items() if v}
    return replace(entry, stated=stated, **changes)
