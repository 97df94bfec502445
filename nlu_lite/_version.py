"""The version of nlu_lite, in one place."""

__version__ = "0.1.0"
