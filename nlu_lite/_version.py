"""The version of nlu_lite, in one place."""

__version__ = "0.1.0"


def version() -> str:
    """The nlu_lite version (NLU's ``nlu.version()``)."""
    return __version__
