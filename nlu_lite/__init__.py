"""nlu_lite: John Snow Labs NLU's one-liner on transformers + torch + pandas.

    >>> import nlu_lite as nlu
    >>> nlu.load('en.embed.bert.small_L2_256').predict('I love NLP', output_level='token')

``import nlu_lite`` is light: torch and transformers are imported when a model is loaded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nlu_lite.errors import (
    InvalidInputError,
    InvalidOptionError,
    ModelLoadError,
    ModelUnavailableError,
    NluLiteError,
    NoEquivalentError,
    RegistryError,
    UnknownSpellingError,
)
from nlu_lite.registry import Entry, add_registry, resolve

if TYPE_CHECKING:
    import pandas as pd

    from nlu_lite.catalogue import ModelInfo
    from nlu_lite.pipeline import Pipeline

__version__ = "0.1.0"

DEFAULT_SPELLING = "en.embed.all_minilm_l6_v2"

__all__ = [
    "DEFAULT_SPELLING",
    "InvalidInputError",
    "InvalidOptionError",
    "ModelLoadError",
    "ModelUnavailableError",
    "NluLiteError",
    "NoEquivalentError",
    "Pipeline",
    "RegistryError",
    "UnknownSpellingError",
    "__version__",
    "add_registry",
    "download",
    "info",
    "load",
    "models",
    "resolve",
]


def _pick_device(device: str) -> str:
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    try:
        torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidOptionError("device", device, "'cpu', 'cuda', 'cuda:N', 'mps' or 'auto'") from None
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidOptionError("device", device, "'cpu' or 'auto': torch sees no CUDA GPU here")
    return device


def _entries(spelling: str | None, path: str | os.PathLike[str] | None) -> list[Entry]:
    from nlu_lite.components import hf_entry, path_entry

    if path is not None:
        if spelling is not None:
            raise InvalidOptionError("path", path, "either a spelling or path=..., not both")
        return [path_entry(path)]
    if spelling is None:
        spelling = DEFAULT_SPELLING
    if not isinstance(spelling, str) or not spelling.strip():
        raise UnknownSpellingError(repr(spelling), hint="Give a spelling such as 'en.embed.bert.small_L2_256'.")
    return [hf_entry(s) if s.lower().startswith("hf:") else resolve(s) for s in spelling.split()]


DTYPES = ("float32", "bfloat16", "float16")


def _pick_dtype(dtype: str, device: str) -> str:
    import warnings

    import torch

    if dtype not in DTYPES:
        raise InvalidOptionError("dtype", dtype, DTYPES)
    kind = torch.device(device).type
    if dtype == "float16" and kind == "cpu":
        raise InvalidOptionError("dtype", dtype, "'float32' or 'bfloat16' on a CPU ('float16' is for GPUs)")
    if dtype == "bfloat16" and kind == "cpu":
        native = getattr(torch.backends, "mkldnn", None) is not None and torch.backends.mkldnn.is_available()
        check = getattr(torch.cpu, "_is_avx512_bf16_supported", None) or getattr(
            torch.cpu, "_is_amx_tile_supported", None
        )
        if not native or (check is not None and not check()):
            warnings.warn(
                "This CPU has no native bfloat16 support: dtype='bfloat16' will be emulated and may be slower "
                "than float32.",
                UserWarning,
                stacklevel=3,
            )
    return dtype


def load(
    spelling: str | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
    device: str = "cpu",
    dtype: str = "float32",
) -> Pipeline:
    """Build a Pipeline for a spelling, several separated by spaces (as NLU allows), a local folder
    (``path=DIR``), or any hub model (``'hf:org/name@revision'``).

    Without arguments: the offline default, the packaged all-MiniLM-L6-v2.  Files come from the
    entry's sources in order: local folder, installed package, the Hugging Face cache at the
    pinned revision, then a download (never when HF_HUB_OFFLINE is set).

    ``device``: 'cpu' (default), 'cuda', 'cuda:N', 'mps', or 'auto' (cuda > mps > cpu).
    ``dtype``: 'float32' (default), 'bfloat16' (CPUs with native support, GPUs) or 'float16'
    (GPUs): matrix products run in that precision under autocast, vectors come back as float32.
    """
    entries = _entries(spelling, path)
    dev = _pick_device(device)
    precision = _pick_dtype(dtype, dev)
    from nlu_lite.components import load_components
    from nlu_lite.pipeline import Pipeline

    return Pipeline([load_components(e, device=dev) for e in entries], device=dev, dtype=precision)


def download(spelling: str, *, progress: bool = True, force: bool = False) -> list[Path]:
    """Fetch the files of one or more spellings (space-separated; 'hf:org/name@rev' too) into the
    Hugging Face cache (``HF_HOME``), so that later loads work offline.  Returns their folders.
    With HF_HUB_OFFLINE set, only reports what is already there."""
    from nlu_lite.components import download as _download
    from nlu_lite.components import hf_entry, snapshot_dir

    folders = []
    for name in spelling.split():
        if name.lower().startswith("hf:"):
            entry = hf_entry(name)  # fetches what is missing
            folders.append(snapshot_dir(entry.source.hf or "", entry.source.revision or "main"))
        else:
            folders.append(_download(resolve(name), progress=progress, force=force))
    return folders


def models(pattern: str = "*") -> pd.DataFrame:
    """The catalogue as a DataFrame (shell-style wildcards; see nlu_lite.catalogue.models)."""
    from nlu_lite.catalogue import models as _models

    return _models(pattern)


def info(spelling: str) -> ModelInfo:
    """Everything the registry knows about one spelling or alias."""
    from nlu_lite.catalogue import info as _info

    return _info(spelling)


def __getattr__(name: str) -> Any:
    if name == "Pipeline":
        from nlu_lite.pipeline import Pipeline

        return Pipeline
    raise AttributeError(f"module 'nlu_lite' has no attribute {name!r}")
