"""nlu_lite: John Snow Labs NLU's one-liner on transformers + torch + pandas.

    >>> import nlu_lite as nlu
    >>> nlu.load('en.embed.bert.small_L2_256').predict('I love NLP', output_level='token')

``import nlu_lite`` is light: torch and transformers are imported when a model is loaded.  This
module only re-exports; see docs/architecture.md for where each idea lives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nlu_lite._version import __version__, version
from nlu_lite.errors import (
    InvalidInputError,
    InvalidOptionError,
    LockFileError,
    ModelLoadError,
    ModelUnavailableError,
    NluLiteError,
    NoEquivalentError,
    NotInNluLiteError,
    RegistryError,
    UncoveredTaskError,
    UnknownSpellingError,
)
from nlu_lite.factory import DEFAULT_SPELLING, download, load, viz
from nlu_lite.hub.listing import (
    get_components,
    info,
    models,
    print_all_languages,
    print_all_model_kinds_for_action,
    print_components,
)
from nlu_lite.hub.lockfile import lock
from nlu_lite.hub.registry import add_registry, resolve

if TYPE_CHECKING:
    from nlu_lite.pipeline import Pipeline

__all__ = [
    "DEFAULT_SPELLING",
    "InvalidInputError",
    "InvalidOptionError",
    "LockFileError",
    "ModelLoadError",
    "ModelUnavailableError",
    "NluLiteError",
    "NoEquivalentError",
    "NotInNluLiteError",
    "Pipeline",
    "RegistryError",
    "UncoveredTaskError",
    "UnknownSpellingError",
    "__version__",
    "add_registry",
    "download",
    "get_components",
    "info",
    "load",
    "lock",
    "models",
    "print_all_languages",
    "print_all_model_kinds_for_action",
    "print_components",
    "resolve",
    "version",
    "viz",
]


def __getattr__(name: str) -> Any:
    if name == "Pipeline":  # imported on first use: it brings torch
        from nlu_lite.pipeline import Pipeline

        return Pipeline
    from nlu_lite.nlu.layout import NLU_ONLY_FUNCTIONS

    if name in NLU_ONLY_FUNCTIONS:  # NLU user code: say what to use instead
        raise NotInNluLiteError(f"nlu.{name}", NLU_ONLY_FUNCTIONS[name])
    raise AttributeError(f"module 'nlu_lite' has no attribute {name!r}")
