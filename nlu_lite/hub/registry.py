"""The model registry: YAML files in, frozen and validated entries out.

Each ``*.yaml`` file of a registry folder describes one family of models::

    family: bert_miniatures
    defaults:            # merged into every entry of this file (entry keys win)
      language: en
      licence: apache-2.0
    models:
      - spelling: en.embed.bert.small_L2_256
        aliases: [bert.small_L2_256]
        source: {hf: google/bert_uncased_L-2_H-256_A-4, revision: <40 hex>}
        dimension: 256
        ...

Files are read with ``yaml.safe_load`` semantics (plus a check against duplicate keys), every
entry is validated against :data:`FIELDS`, and unknown keys are refused, with the file and the
key path named in the error.  The result is cached; nothing here imports torch.
"""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
import functools
import math
import os
import re
import threading
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from nlu_lite.errors import RegistryError, UncoveredTaskError, UnknownSpellingError
from nlu_lite.nlu.families import not_covered
from nlu_lite.options import OUTPUT_LEVELS, SENTENCE_POOLINGS, TASKS, WORD_POOLINGS

_HEX40 = re.compile(r"^[0-9a-f]{40}$")


def is_commit(revision: object) -> bool:
    """Is ``revision`` a full commit hash (40 lowercase hex digits)?"""
    return isinstance(revision, str) and bool(_HEX40.match(revision))


_SPELLING = re.compile(r"^[a-z]{2,3}\.[a-z0-9_]+(\.[A-Za-z0-9_]+)*$")
_ALIAS = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")
_HF_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9][A-Za-z0-9_.\-]*)?$")

ENV_VAR = "NLU_LITE_REGISTRY"
# 'refuse': an NLU name whose model has no equivalent is an error, not its stand-in (StandIn)
STAND_INS_ENV_VAR = "NLU_LITE_STAND_INS"


def stand_ins_refused() -> bool:
    """Whether ``NLU_LITE_STAND_INS=refuse`` is set (any other value, or none: stand-ins load)."""
    return os.environ.get(STAND_INS_ENV_VAR, "").strip().lower() == "refuse"


@dataclass(frozen=True)
class Source:
    """Where a model's files come from.

    ``hf`` + ``revision``: a Hugging Face repository pinned to a commit.  ``package``: an
    installed Python package that carries the same files (``package_name/sub/folder``), used
    first when it is installed, so the model works with no network at all.  ``path``: a local
    folder.  ``verified`` is False for a hub revision nobody could confirm; loading such an
    entry warns.  An ``hf`` source with ``verified: false`` and no revision *tracks* the
    repository's main branch: the commit a load resolves is recorded, and a lock file
    (:mod:`nlu_lite.hub.lockfile`) can freeze it.
    """

    hf: str | None = None
    revision: str | None = None
    package: str | None = None
    path: str | None = None
    verified: bool = True

    def describe(self) -> str:
        parts = []
        if self.hf:
            parts.append(f"{self.hf}@{self.revision or 'main (tracked)'}")
        if self.package:
            parts.append(f"package {self.package}")
        if self.path:
            parts.append(f"folder {self.path}")
        return ", ".join(parts)

    @property
    def tracks_main(self) -> bool:
        """True for a hub source with no commit pinned: it follows the repository's main branch."""
        return bool(self.hf) and self.revision is None and not self.package and not self.path


@dataclass(frozen=True)
class StandIn:
    """An NLU name whose own model has no transformers equivalent, answered with a catalogue
    model of the same task (a registry file's ``stand_ins`` table): NLU's model, why it has no
    equivalent, and the spelling loaded instead.  Loading warns once and records it in
    ``df.attrs['stand_ins']``; ``NLU_LITE_STAND_INS=refuse`` refuses instead."""

    name: str
    spelling: str
    nlu_model: str
    why: str

    def describe(self) -> str:
        return (
            f"NLU's {self.name!r} loads {self.nlu_model} ({self.why}), which has no transformers equivalent; "
            f"nlu_lite loads {self.spelling!r} in its place"
        )


@dataclass(frozen=True)
class Entry:
    """One model spelling with everything needed to build and run it."""

    spelling: str
    task: str
    source: Source
    # None: the model's config decides at load (hidden_size, num_hidden_layers)
    dimension: int | None
    layers: int | None
    max_length: int
    case_sensitive: bool
    family: str
    language: str = "en"
    aliases: tuple[str, ...] = ()
    heads: int | None = None
    architecture: str | None = None
    output_level: str = "token"
    word_pooling: str = "first"
    pooling: str = "mean"
    normalize: bool = False
    query_prefix: str = ""
    passage_prefix: str = ""
    size_mb: float | None = None
    licence: str = ""
    paper: str = ""
    description: str = ""
    # the John Snow Labs model NLU loads under this entry's NLU names (None: none of them)
    nlu_model: str | None = None
    # prompts a model's own files define (name -> prefix), and the one applied when none is asked for
    prompts: tuple[tuple[str, str], ...] = ()
    default_prompt: str | None = None
    file: str = field(default="", compare=False)
    # the keys the registry file states (itself or through its defaults block); only these
    # override what a model's own files say (see nlu_lite.hub.loading.settle)
    stated: frozenset[str] = field(default=frozenset(), compare=False)
    # where each setting came from once the model's files were read: (setting, source) pairs
    settings_from: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    # set where an NLU name loaded this entry in place of NLU's own model (see StandIn)
    stand_in: StandIn | None = field(default=None, compare=False)

    def prompt_table(self) -> dict[str, str]:
        """Every prompt name this model knows and its prefix: its files' prompts, then the
        registry's ``query_prefix``/``passage_prefix`` where set."""
        table = dict(self.prompts)
        for name, value in (("query", self.query_prefix), ("passage", self.passage_prefix)):
            if value or f"{name}_prefix" in self.stated:
                table[name] = value
        return table

    @property
    def column(self) -> str:
        """The embedding column name NLU uses: the spelling with '.' turned into '_'."""
        return self.spelling.replace(".", "_") + "_embeddings"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "stand_in":  # how it was named this time, not what the entry is
                continue
            if isinstance(value, Source):
                value = {k.name: getattr(value, k.name) for k in fields(value)}
            elif f.name in ("prompts", "settings_from"):
                value = dict(value)
            elif isinstance(value, frozenset):
                value = sorted(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


# name -> (accepted types, required?)
_SOURCE_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "hf": ((str,), False),
    "revision": ((str,), False),
    "package": ((str,), False),
    "path": ((str,), False),
    "verified": ((bool,), False),
}
FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "spelling": ((str,), True),
    "task": ((str,), True),
    "source": ((dict,), True),
    # optional: where the registry is silent, the model's own files decide at load
    "dimension": ((int,), False),
    "layers": ((int,), False),
    "max_length": ((int,), False),
    "case_sensitive": ((bool,), False),
    "language": ((str,), True),
    "aliases": ((list,), False),
    "heads": ((int,), False),
    "architecture": ((str,), False),
    "output_level": ((str,), False),
    "word_pooling": ((str,), False),
    "pooling": ((str,), False),
    "normalize": ((bool,), False),
    "query_prefix": ((str,), False),
    "passage_prefix": ((str,), False),
    "size_mb": ((int, float), False),
    "licence": ((str,), True),
    "paper": ((str,), False),
    "description": ((str,), True),
    "nlu_model": ((str,), False),
}
_FILE_KEYS = {"family", "defaults", "models", "no_equivalent", "nlu_names", "stand_ins"}


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """``yaml.SafeLoader`` semantics (libyaml's parser where installed, for speed) that refuse a
    mapping with the same key twice, and aliases of lists or mappings: an alias may repeat a plain
    value (``*glove`` for a shared explanation), but nested aliases of collections let a few
    hundred bytes expand into gigabytes."""

    def construct_document(self, node: Any) -> Any:
        _refuse_shared_collections(node)
        return super().construct_document(node)


def _refuse_shared_collections(root: Any) -> None:
    """An alias is the very node it names: a list or mapping met twice in the tree is one."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            continue
        if id(node) in seen:
            raise yaml.constructor.ConstructorError(
                None, None, "aliases of lists or mappings (*name) are not allowed in a registry file", node.start_mark
            )
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
        else:
            stack.extend(node.value)


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, Hashable) or isinstance(key, tuple):  # ? [a, b]: a list or mapping as a key
            raise yaml.constructor.ConstructorError(None, None, "a key must be a plain name", key_node.start_mark)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {_preview(key)}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _check_type(file: Path, path: str, value: Any, types: tuple[type, ...]) -> None:
    # bool is an int in Python; refuse it where a number is meant
    if isinstance(value, bool) and bool not in types:
        ok = False
    else:
        ok = isinstance(value, types)
    if not ok:
        names = " or ".join(t.__name__ for t in types)
        raise RegistryError(file, path, f"expected {names}, got {type(value).__name__} {_preview(value)}")


def _preview(value: Any, limit: int = 60) -> str:
    """A value as shown in an error: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _choice(file: Path, path: str, value: str, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise RegistryError(file, path, f"{_preview(value)} is not one of {', '.join(allowed)}")


def _parse_source(file: Path, path: str, raw: Mapping[str, Any]) -> Source:
    for key in raw:
        if key not in _SOURCE_FIELDS:
            raise RegistryError(file, f"{path}.{key}", f"unknown key; allowed: {', '.join(_SOURCE_FIELDS)}")
    for key, value in raw.items():
        _check_type(file, f"{path}.{key}", value, _SOURCE_FIELDS[key][0])
    src = Source(**raw)
    if not (src.hf or src.package or src.path):
        raise RegistryError(file, path, "a source needs at least one of hf, package or path")
    _check_hub(file, path, src)
    return _with_folder(file, src)


def _check_hub(file: Path, path: str, src: Source) -> None:
    """A hub source names a repository id and pins a commit (or tracks main, unverified); a
    revision without a hub source means nothing."""
    if not src.hf:
        if src.revision is not None:
            raise RegistryError(file, f"{path}.revision", "a revision only makes sense with hf")
        return
    if not _HF_REPO.match(src.hf):
        raise RegistryError(file, f"{path}.hf", f"{_preview(src.hf)} is not a Hugging Face repository id")
    if is_commit(src.revision) or (src.revision is None and not src.verified):
        return
    fix = "; pin a commit of the repository's main branch, or mark the source 'verified: false'"
    why = f"{_preview(src.revision)} is not a 40-hex commit" + (fix if src.verified else "")
    raise RegistryError(file, f"{path}.revision", why)


def _with_folder(file: Path, src: Source) -> Source:
    """The source with its ``path`` made absolute: ``~`` expanded as the shell reads it, and a
    relative folder taken relative to the YAML file that names it."""
    if src.path is None:
        return src
    if os.path.isabs(os.path.expanduser(src.path)):
        folder = Path(src.path).expanduser()
    else:
        folder = (file.parent / src.path).resolve()
    return Source(src.hf, src.revision, src.package, str(folder), src.verified)


# keys whose value must be one of a fixed set, with the value an entry gets where it is silent
_CHOICES = (
    ("output_level", "token", OUTPUT_LEVELS),
    ("word_pooling", "first", WORD_POOLINGS),
    ("pooling", "mean", SENTENCE_POOLINGS),
)


def parse_entry(
    file: Path, path: str, raw: Any, defaults: Mapping[str, Any], family: str, grammar: bool = True
) -> Entry:
    """One entry from its raw mapping, validated; ``grammar=False`` skips the spelling grammar
    (for a manifest written by ``pipe.save``, whose models may have been loaded by path)."""
    if not isinstance(raw, dict):
        raise RegistryError(file, path, f"expected a mapping, got {type(raw).__name__}")
    for where, table in (("defaults", defaults), (path, raw)):
        _check_key_names(file, where, table)
    merged: dict[str, Any] = {**defaults, **raw}
    if "source" in defaults and "source" in raw:
        merged["source"] = {**defaults["source"], **raw["source"]}
    _check_fields(file, path, merged)
    _choice(file, f"{path}.task", merged["task"], TASKS)
    if grammar:
        _check_spelling(file, path, merged)
    _check_values(file, path, merged)
    merged["aliases"] = _aliases(file, path, merged.get("aliases", []))
    merged["source"] = _parse_source(file, f"{path}.source", merged["source"])
    stated = frozenset(merged) - {"spelling", "source"}
    # placeholders until the model's files are read (nlu_lite.hub.loading.settle)
    merged.setdefault("max_length", 512)
    merged.setdefault("case_sensitive", False)
    merged.setdefault("dimension", None)
    merged.setdefault("layers", None)
    return Entry(family=family, file=str(file), stated=stated, **merged)


def _check_key_names(file: Path, where: str, table: Mapping[Any, Any]) -> None:
    """Keys are names (YAML reads on/off/yes/no, ~ and numbers as non-strings), and a source is a mapping."""
    for key in table:
        if not isinstance(key, str):
            raise RegistryError(file, f"{where}.{key!r}", f"keys are names; quote it ('{key}')")
    if "source" in table:
        _check_type(file, f"{where}.source", table["source"], (dict,))


def _check_fields(file: Path, path: str, merged: Mapping[str, Any]) -> None:
    """Every key is a known field (a misspelt one gets a suggestion), every required one is there,
    and each has its type."""
    for key in merged:
        if key not in FIELDS:
            close = difflib.get_close_matches(key, FIELDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise RegistryError(file, f"{path}.{key}", f"unknown key{hint}; allowed: {', '.join(FIELDS)}")
    for key, (types, required) in FIELDS.items():
        if key in merged:
            _check_type(file, f"{path}.{key}", merged[key], types)
        elif required:
            raise RegistryError(file, f"{path}.{key}", "required key is missing")


def _check_values(file: Path, path: str, merged: Mapping[str, Any]) -> None:
    """The values within their ranges: choices among the allowed ones, sizes positive, windows of
    at least 8 word pieces."""
    for key, default, allowed in _CHOICES:
        _choice(file, f"{path}.{key}", merged.get(key, default), allowed)
    for key in ("dimension", "layers", "max_length"):
        if merged.get(key, 1) <= 0:
            raise RegistryError(file, f"{path}.{key}", f"must be positive, got {merged[key]}")
    size = merged.get("size_mb", 1)
    if not (size > 0 and math.isfinite(size)):
        raise RegistryError(file, f"{path}.size_mb", f"must be a positive number of megabytes, got {size}")
    if merged.get("max_length", 8) < 8:
        raise RegistryError(file, f"{path}.max_length", "must be at least 8 word pieces")


def _aliases(file: Path, path: str, aliases: list[Any]) -> tuple[str, ...]:
    """The entry's aliases, each a dotted name."""
    for i, alias in enumerate(aliases):
        if not isinstance(alias, str) or not _ALIAS.match(alias):
            raise RegistryError(file, f"{path}.aliases[{i}]", f"{_preview(alias)} is not a dotted name")
    return tuple(aliases)


def _check_spelling(file: Path, path: str, merged: dict[str, Any]) -> None:
    spelling = merged["spelling"]
    if not _SPELLING.match(spelling):
        raise RegistryError(
            file, f"{path}.spelling", f"{_preview(spelling)} does not follow <lang>.<task>[.<family>.<variant>]"
        )
    language = merged["language"]
    if spelling.split(".", 1)[0] != language:
        raise RegistryError(
            file, f"{path}.spelling", f"{_preview(spelling)} does not start with its language {_preview(language)}"
        )
    if spelling.split(".")[1] != merged["task"]:
        raise RegistryError(file, f"{path}.spelling", f"{_preview(spelling)} does not name its task {merged['task']!r}")


def parse_file(file: Path) -> tuple[list[Entry], dict[str, str]]:
    """Parse one registry YAML file into entries and its no-equivalent notes."""
    entries, notes, _ = parse_file_tables(file)
    return entries, notes


def parse_file_tables(file: Path) -> tuple[list[Entry], dict[str, str], dict[str, str]]:
    """Parse one registry YAML file into entries, its no-equivalent notes, and its ``nlu_names``
    table (an NLU name -> the spelling of the catalogue entry that loads NLU's model)."""
    entries, notes, names, _ = parse_file_all(file)
    return entries, notes, names


_STAND_IN_KEYS = ("spelling", "nlu_model", "why")


def parse_stand_ins(file: Path, table: Any) -> dict[str, StandIn]:
    """A file's ``stand_ins`` table: NLU name -> {spelling, nlu_model, why}, every value a string."""
    table = table or {}
    if not isinstance(table, dict):
        raise RegistryError(file, "stand_ins", "must map NLU names to {spelling, nlu_model, why}")
    out: dict[str, StandIn] = {}
    for name, item in table.items():
        where = f"stand_ins.{name}"
        if not isinstance(name, str) or not isinstance(item, dict) or set(item) != set(_STAND_IN_KEYS):
            raise RegistryError(file, where, f"must be a mapping with exactly {', '.join(_STAND_IN_KEYS)}")
        if not all(isinstance(item[k], str) and item[k] for k in _STAND_IN_KEYS):
            raise RegistryError(file, where, "its values must be non-empty strings")
        out[name.lower()] = StandIn(name, item["spelling"], item["nlu_model"], item["why"])
    return out


def parse_file_all(file: Path) -> tuple[list[Entry], dict[str, str], dict[str, str], dict[str, StandIn]]:
    """Parse one registry YAML file into entries, its no-equivalent notes, its ``nlu_names`` and
    its ``stand_ins`` tables."""
    doc = _read_yaml(file)
    if doc is None:
        return [], {}, {}, {}
    if not isinstance(doc, dict):
        raise RegistryError(file, None, "the top level must be a mapping with 'family' and 'models'")
    for key in doc:
        if key not in _FILE_KEYS:
            raise RegistryError(file, str(key), f"unknown top-level key; allowed: {', '.join(sorted(_FILE_KEYS))}")
    family = doc.get("family", file.stem)
    if not isinstance(family, str):
        raise RegistryError(file, "family", "must be a string")
    defaults = doc.get("defaults", {}) or {}
    if not isinstance(defaults, dict):
        raise RegistryError(file, "defaults", "must be a mapping")
    models = doc.get("models", []) or []
    if not isinstance(models, list):
        raise RegistryError(file, "models", "must be a list of entries")
    entries = [parse_entry(file, f"models[{i}]", raw, defaults, family) for i, raw in enumerate(models)]
    tables = []
    for key, what in (("no_equivalent", "explanations"), ("nlu_names", "catalogue spellings")):
        table = doc.get(key, {}) or {}
        if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
            raise RegistryError(file, key, f"must map names to {what}")
        tables.append({k.lower(): v for k, v in table.items()})
    return entries, tables[0], tables[1], parse_stand_ins(file, doc.get("stand_ins"))


def _read_yaml(file: Path) -> Any:
    try:
        with open(file, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise RegistryError(file, None, f"not valid YAML: {str(exc)[:500]}") from None
    except UnicodeDecodeError as exc:
        raise RegistryError(file, None, f"not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise RegistryError(file, None, f"cannot be read: {exc.strerror}") from None


def builtin_dir() -> Path:
    """The registry that ships with nlu_lite.

    In a wheel it lies inside the package (``nlu_lite/registry``); in a source checkout or an
    editable install it is the ``registry/`` folder at the top of the repository.
    """
    here = Path(__file__).resolve().parent.parent  # the package folder
    for candidate in (here / "registry", here.parent / "registry"):
        if candidate.is_dir():
            return candidate
    raise RegistryError(here, None, "the built-in registry folder is missing; reinstall nlu_lite")


def yaml_files(folder: Path) -> list[Path]:
    """A registry folder's files, in the order they are read."""
    return sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))


class Registry:
    """All entries of a set of registry folders, indexed by lower-cased spelling and alias."""

    def __init__(self, folders: Iterable[Path]) -> None:
        self.folders = [Path(f) for f in folders]
        self.entries: dict[str, Entry] = {}
        self._index: dict[str, Entry] = {}
        self._defined_in: dict[str, str] = {}
        self.no_equivalent: dict[str, str] = {}
        # NLU names that load a catalogue entry under another spelling (name -> spelling)
        self.nlu_names: dict[str, str] = {}
        # NLU names whose model has no equivalent, answered with a model of the same task
        self.stand_ins: dict[str, StandIn] = {}
        name_files = self._read(self.folders)
        self._check_nlu_names(name_files)
        self._refuse_two_readings()
        self._refuse_shared_columns()

    def _read(self, folders: list[Path]) -> dict[str, Path]:
        """Read every YAML file of ``folders`` in order; returns the file each NLU name came from."""
        name_files: dict[str, Path] = {}
        for folder in folders:
            if not folder.is_dir():
                raise RegistryError(folder, None, "registry folder does not exist")
            for file in yaml_files(folder):
                entries, notes, names, stand_ins = parse_file_all(file)
                self.no_equivalent.update(notes)
                for name in [*names, *stand_ins]:
                    name_files[name] = file
                self.nlu_names.update(names)
                self.stand_ins.update(stand_ins)
                for entry in entries:
                    self._add(entry)
        return name_files

    def _check_nlu_names(self, name_files: Mapping[str, Path]) -> None:
        """Each NLU name loads a catalogue spelling, and does not name another entry already."""
        named = {**self.nlu_names, **{name: s.spelling for name, s in self.stand_ins.items()}}
        for name, spelling in named.items():
            target = self._index.get(spelling.lower())
            if target is None:
                raise RegistryError(name_files[name], f"nlu_names.{name}", f"{spelling!r} is not a catalogue spelling")
            if self._index.get(name, target) is not target:
                raise RegistryError(
                    name_files[name], f"nlu_names.{name}", f"already names {self._index[name].spelling!r}"
                )

    def _refuse_shared_columns(self) -> None:
        """Two entries must not write one output column (their spellings differ only in dots and
        underscores, or in case)."""
        columns: dict[str, Entry] = {}
        for entry in self.entries.values():
            other = columns.setdefault(entry.column.lower(), entry)
            if other is not entry:
                raise RegistryError(
                    entry.file,
                    entry.spelling,
                    f"its output column {entry.column!r} is also that of {other.spelling!r} ({other.file}): "
                    "a spelling's dots become underscores, so the two would overwrite each other; name it otherwise",
                )

    def _refuse_two_readings(self) -> None:
        """The language may be left out (``embed.x`` is ``en.embed.x``): a user's name and its
        ``en.`` form must not name two models.  (NLU's own names do in a few places, 'bert' and
        'en.bert' for one; the built-in registry keeps them as NLU has them.)"""
        builtin = builtin_dir().resolve()
        for name in [*self._index, *self.nlu_names]:
            longer = "en." + name
            if name.startswith("en.") or longer not in self._index:
                continue
            short = self.find(name)
            full = self._index[longer]
            users = [e for e in (short, full) if e is not None and Path(e.file).resolve().parent != builtin]
            if short is not None and short is not full and users:
                raise RegistryError(
                    users[0].file,
                    users[0].spelling,
                    f"{name!r} loads {short.spelling!r} while {longer!r} loads {full.spelling!r}, but a spelling "
                    f"may leave its language out, so the two must name one model; rename {users[0].spelling!r}",
                )

    def _add(self, entry: Entry) -> None:
        names = [entry.spelling, *entry.aliases]
        for name in names:
            key = name.lower()
            if key in self._index:
                raise RegistryError(
                    entry.file,
                    entry.spelling,
                    f"{name!r} is already defined in {self._defined_in[key]} "
                    f"(for {self._index[key].spelling!r}); spellings and aliases must be unique",
                )
            self._index[key] = entry
            self._defined_in[key] = entry.file
        self.entries[entry.spelling] = entry

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def names(self) -> list[str]:
        """Every spelling and alias, lower-cased."""
        return sorted(self._index)

    def find(self, spelling: str) -> Entry | None:
        key = spelling.strip().lower()
        for candidate in (key, "en." + key):  # the language may be left out, as in NLU
            if candidate in self._index:
                return self._index[candidate]
            if candidate in self.nlu_names:
                return self._index[self.nlu_names[candidate].lower()]
            if candidate in self.stand_ins:
                stand_in = self.stand_ins[candidate]
                return replace(self._index[stand_in.spelling.lower()], stand_in=stand_in)
        return None

    def get(self, spelling: str) -> Entry:
        """Resolve a spelling or alias to its entry, or raise UnknownSpellingError with suggestions."""
        if not isinstance(spelling, str):
            raise UnknownSpellingError(repr(spelling), hint="A model spelling is a string such as 'en.embed.bert'.")
        entry = self.find(spelling)
        if entry is not None and entry.stand_in is not None and stand_ins_refused():
            from nlu_lite.errors import NoEquivalentError

            raise NoEquivalentError(
                spelling,
                f"{entry.stand_in.describe()} unless {STAND_INS_ENV_VAR}=refuse, as it is set here; load "
                f"{entry.spelling!r} by that name to use it",
            )
        if entry is not None:
            return entry
        key = spelling.strip().lower()
        for candidate in (key, "en." + key):
            if candidate in self.no_equivalent:
                from nlu_lite.errors import NoEquivalentError

                raise NoEquivalentError(spelling, self.no_equivalent[candidate])
        uncovered = not_covered(key)
        if uncovered is not None:
            raise UncoveredTaskError(spelling, uncovered)
        hint = None
        if "/" in key or "\\" in key or key.startswith(("hf:", ".", "~")):
            hint = (
                "It looks like a repository or a path: load a local folder with "
                "nlu_lite.load(path='DIR'), or any hub model with nlu_lite.load('hf:org/name@revision')."
            )
        raise UnknownSpellingError(spelling, self.suggest(key), hint=hint)

    def suggest(self, key: str, n: int = 5) -> list[str]:
        names = self.names()
        found = difflib.get_close_matches(key, names, n=n, cutoff=0.6)
        if not key.startswith("en."):
            for name in difflib.get_close_matches("en." + key, names, n=n, cutoff=0.6):
                if name not in found:
                    found.append(name)
        # shown with the registry's own capitalisation
        pretty = []
        for name in found:
            entry = self._index[name]
            shown = next((s for s in (entry.spelling, *entry.aliases) if s.lower() == name), name)
            if shown not in pretty:
                pretty.append(shown)
        return pretty[:n]

    def match(self, pattern: str = "*") -> list[Entry]:
        """Entries whose spelling or an alias matches a shell-style wildcard (case-insensitive)."""
        pat = pattern.lower()
        if not any(ch in pat for ch in "*?["):
            pat = f"*{pat}*"
        return [
            e
            for e in self.entries.values()
            if any(fnmatch.fnmatchcase(n.lower(), pat) for n in (e.spelling, *e.aliases))
        ]


_lock = threading.Lock()
_extra_folders: list[Path] = []


def _env_folders() -> list[Path]:
    raw = os.environ.get(ENV_VAR, "")
    return [Path(p).expanduser().resolve() for p in raw.split(os.pathsep) if p.strip()]


@functools.lru_cache(maxsize=8)
def _build(folders: tuple[Path, ...], stamp: tuple[tuple[str, int, int], ...]) -> Registry:
    return Registry(folders)


def _stamp(folders: tuple[Path, ...]) -> tuple[tuple[str, int, int], ...]:
    """Each YAML file of ``folders`` with its modification time and size: a file edited, added or
    removed makes a new registry (a notebook's edit-and-rerun), an unchanged one is reused."""
    out = []
    for folder in folders:
        for file in yaml_files(folder):
            with contextlib.suppress(OSError):
                st = file.stat()
                out.append((str(file), st.st_mtime_ns, st.st_size))
    return tuple(out)


def get_registry() -> Registry:
    """The registry in force: the built-in folder, NLU_LITE_REGISTRY, then add_registry() folders
    (each folder once, however often it is named)."""
    with _lock:
        folders = (builtin_dir().resolve(), *_env_folders(), *_extra_folders)
    unique = tuple(dict.fromkeys(folders))
    return _build(unique, _stamp(unique))


def add_registry(path: str | os.PathLike[str]) -> Registry:
    """Add a folder of YAML files to the registry (validated at once) and return the new registry."""
    folder = Path(path).expanduser().resolve()
    Registry([folder])  # validate it on its own first, so a bad folder is refused whole
    with _lock:
        if folder not in _extra_folders:
            _extra_folders.append(folder)
    try:
        return get_registry()
    except Exception:
        with _lock:
            _extra_folders.remove(folder)
        raise


def resolve(spelling: str) -> Entry:
    """The entry for a spelling or alias."""
    return get_registry().get(spelling)
