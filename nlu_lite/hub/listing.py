"""Browsing the registry: ``models()`` as a DataFrame, ``info()`` for one entry.

Both read the YAML registry and the disk (is a model cached here?), never torch or
transformers, so they answer in milliseconds.
"""

from __future__ import annotations

import html
import warnings
from typing import TYPE_CHECKING, Any

from nlu_lite.errors import LockFileError
from nlu_lite.hub.loading import settings_sources
from nlu_lite.hub.lockfile import with_lock
from nlu_lite.hub.registry import Entry, get_registry
from nlu_lite.hub.sources import ON_DISK, locate, snapshot_dir

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = [
    "spelling",
    "task",
    "family",
    "language",
    "repo",
    "revision",
    "verified",
    "dimension",
    "layers",
    "size_mb",
    "licence",
    "cached",
    "aliases",
]


def models(pattern: str = "*") -> pd.DataFrame:
    """The catalogue as a DataFrame, one row per spelling.

    ``pattern`` is a shell-style wildcard matched (case-insensitively) against spellings and
    aliases; without wildcards it matches as a substring: ``models('minilm')``, ``models('*L2_*')``.
    ``cached`` says whether the model's files are already on this machine (installed package,
    local folder, or the Hugging Face cache at the pinned revision).
    """
    import pandas as pd

    rows = []
    for e in sorted(get_registry().match(pattern), key=lambda e: e.spelling):
        rows.append(
            {
                "spelling": e.spelling,
                "task": e.task,
                "family": e.family,
                "language": e.language,
                "repo": e.source.hf or e.source.package or e.source.path,
                "revision": e.source.revision,
                "verified": e.source.verified,
                "dimension": e.dimension,
                "layers": e.layers,
                "size_mb": e.size_mb,
                "licence": e.licence,
                "cached": _cached(e),
                "aliases": ", ".join(e.aliases),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def _cached(entry: Entry) -> bool:
    """Whether the entry's files are on this machine (a folder holding a model, an installed
    package, or a complete snapshot in the hub cache), at the lock file's commit where it lists
    the entry; a broken lock file does not stop a listing (loads still refuse it, with its error)."""
    try:
        pinned = with_lock(entry)
    except LockFileError as exc:
        warnings.warn(f"{exc} (the listing ignores it)", UserWarning, stacklevel=4)
        pinned = entry
    return locate(pinned, allow_download=False, rules=ON_DISK).folder is not None


class ModelInfo(dict[str, Any]):
    """One registry entry as a dict, shown as a table in notebooks and as aligned text elsewhere."""

    def _lines(self) -> list[tuple[str, str]]:
        out = []
        for key, value in self.items():
            if isinstance(value, dict):
                value = ", ".join(f"{k}={v}" for k, v in value.items() if v not in (None, ""))
            elif isinstance(value, list):
                value = ", ".join(map(str, value))
            out.append((key, "" if value is None else str(value)))
        return out

    def __str__(self) -> str:
        lines = self._lines()
        width = max(len(k) for k, _ in lines)
        return "\n".join(f"{k.ljust(width)}  {v}" for k, v in lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in self._lines()
        )
        return f"<table>{rows}</table>"


def info(spelling: str) -> ModelInfo:
    """Everything the registry knows about a spelling (or alias), plus where its files are."""
    entry: Entry = get_registry().get(spelling)
    data = ModelInfo(entry.to_dict())
    data["column"] = entry.column
    data["cached"] = _cached(entry)
    data["settings_from"] = settings_sources(entry)
    data.pop("stated", None)
    if entry.source.hf and entry.source.revision:
        data["cache_folder"] = str(snapshot_dir(entry.source.hf, entry.source.revision))
    return data


# --- NLU's discovery helpers, with NLU's names -------------------------------------------------


def _lines(lang: str = "", action: str = "") -> list[str]:
    out = []
    for entry in sorted(get_registry(), key=lambda e: e.spelling):
        if (lang and entry.language != lang) or (action and entry.task != action):
            continue
        source = entry.source.hf or entry.source.package or entry.source.path
        names = [entry.spelling, *(a for a in entry.aliases if "." in a and a.split(".")[0] == entry.language)]
        for name in names:
            size = f"{entry.dimension}-d" if entry.dimension else "size from its config"
            out.append(f"nlu_lite.load('{name}') returns {entry.spelling} ({source}, {size})")
    return out


def print_components(lang: str = "", action: str = "") -> None:
    """Every spelling (and language-prefixed alias), optionally of one language (``'en'``) and
    action (``'embed'``, ``'embed_sentence'``), with the model it loads."""
    print("\n".join(_lines(lang, action)))


def print_all_languages() -> None:
    """The languages the catalogue has models for (``xx``: multilingual)."""
    print(", ".join(sorted({e.language for e in get_registry()})))


def print_all_model_kinds_for_action(action: str) -> None:
    """For each language, every model of one action (``'embed'`` or ``'embed_sentence'``)."""
    for lang in sorted({e.language for e in get_registry() if e.task == action}):
        print(f"For language <{lang}> nlu_lite provides the following models:")
        print("\n".join(_lines(lang, action)))


def get_components(
    m_type: str = "", include_pipes: bool = False, lang: str = "", licensed: bool = False, get_all: bool = False
) -> list[str]:
    """Spellings whose name contains ``m_type`` (all with ``get_all``), optionally of one language.
    ``include_pipes`` and ``licensed`` are NLU's switches for pretrained pipelines and licensed
    models, which nlu_lite does not have: accepted, no effect."""
    found = []
    for entry in sorted(get_registry(), key=lambda e: e.spelling):
        if lang and entry.language != lang:
            continue
        if get_all or not m_type or m_type in entry.spelling or any(m_type in a for a in entry.aliases):
            found.append(entry.spelling)
    return found
