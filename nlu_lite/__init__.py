"""nlu_lite: John Snow Labs NLU's one-liner on transformers + torch + pandas.

    >>> import nlu_lite as nlu
    >>> nlu.load('en.embed.bert.small_L2_256').predict('I love NLP', output_level='token')

``import nlu_lite`` is light: torch and transformers are imported when a model is loaded.
"""

from __future__ import annotations

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
from nlu_lite.registry import add_registry, resolve

if TYPE_CHECKING:
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
    "load",
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


def load(spelling: str = DEFAULT_SPELLING, *, device: str = "cpu") -> Pipeline:
    """Build a Pipeline for one spelling, or several separated by spaces (as NLU allows).

    Files come from the entry's sources in order: local folder, installed package, the Hugging
    Face cache at the pinned revision, then a download (unless HF_HUB_OFFLINE is set).
    """
    if not isinstance(spelling, str) or not spelling.strip():
        raise UnknownSpellingError(repr(spelling), hint="Give a spelling such as 'en.embed.bert.small_L2_256'.")
    entries = [resolve(s) for s in spelling.split()]
    dev = _pick_device(device)
    from nlu_lite.components import load_components
    from nlu_lite.pipeline import Pipeline

    return Pipeline([load_components(e, device=dev) for e in entries], device=dev)


def __getattr__(name: str) -> Any:
    if name == "Pipeline":
        from nlu_lite.pipeline import Pipeline

        return Pipeline
    raise AttributeError(f"module 'nlu_lite' has no attribute {name!r}")
